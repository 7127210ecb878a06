// The translated speech player: each speaker's sentences play in order with no overlap (one queue per
// speaker), that speaker's own voice is lowered while their translation plays, and a listener who falls
// behind skips sentences rather than lagging more and more.
//
// - Order: per speaker, sentences are scheduled in arrival order (decoding runs in parallel, scheduling
//   waits for the one before); a sentence whose `seq` is not above the last one scheduled for that
//   speaker (a late one) is skipped ("out_of_order").
// - Chunks: the TTS worker speaks a long sentence in clause-sized chunks (SpeechAudio `chunk` 0 …
//   `chunks - 1`, one message each, same `seq`). Chunk 0 is scheduled as a sentence; a later chunk plays
//   right after the chunk before it (never stale: the sentence has begun), and only if its sentence's
//   start was scheduled and it comes after the last chunk scheduled (a repeat, or the rest of a skipped
//   sentence, is "out_of_order"). `played` counts sentences (their chunk 0).
// - No overlap within a speaker: a sentence starts at max(now, the end of that speaker's last one).
//   Different speakers may overlap: in a call people talk over each other, and each translation follows
//   its speaker; one queue for the whole room would make a listener of four speakers lag four times as
//   much and skip most of what they say.
// - Stale: a sentence whose start would be more than `staleAfterS` (default 4 s) after it arrived is
//   skipped ("stale"): a translation that late no longer matches what the speaker's video shows.
// - Ducking: `duck(speaker)` when a sentence of theirs is scheduled, `restore(speaker)` when their last
//   scheduled sentence has ended.
// - Cloned voice (`type` "cloned_audio_ready", premium speakers): the same sentence again in the speaker's
//   own voice, seconds after the quick voice. It plays in place of the quick voice when that was not
//   scheduled (never arrived, or skipped); once the quick voice of that sentence is scheduled, the clone
//   is dropped silently (it is not a skip: the listener heard the sentence).
//
// The clock and the audio are injected (SpeechOutput), so tests drive it without WebAudio; webAudio.ts
// gives the real one.

import type { SpeechMessage } from "../captions/messages";

export const STALE_AFTER_S = 4;

/** Decoded audio: what the player needs of an AudioBuffer. */
export interface DecodedSpeech {
  /** Seconds. */
  duration: number;
}

export interface SpeechOutput<B extends DecodedSpeech = DecodedSpeech> {
  /** The output clock (s), e.g. AudioContext.currentTime. */
  now(): number;
  /** Decode one Ogg Opus file. */
  decode(audio: ArrayBuffer): Promise<B>;
  /** Play `buffer` at output time `when` (s); call `onEnded` when it has played. */
  play(buffer: B, when: number, onEnded: () => void): void;
}

export interface Ducker {
  duck(speaker: string): void;
  restore(speaker: string): void;
}

export type SkipReason = "stale" | "out_of_order" | "undecodable";

export interface PlaybackStats {
  /** Sentences whose speech was scheduled (a sentence spoken in chunks counts once). */
  played: number;
  stale: number;
  outOfOrder: number;
  undecodable: number;
  /** Output time (s) when everything scheduled so far has played. */
  endsAt: number;
  /** The last sentence (or chunk) scheduled: its segment, text, and how long after arrival it starts (s). */
  last: { segmentId: string; text: string; delayS: number } | null;
}

interface SpeakerQueue {
  /** Output time when the speaker's last scheduled sentence ends. */
  busyUntil: number;
  lastSeq: number;
  /** The chunk of sentence `lastSeq` scheduled last. */
  lastChunk: number;
  /** Sentences scheduled and not yet ended. */
  playing: number;
  /** Resolves when the previous sentence of this speaker is scheduled or skipped. */
  tail: Promise<void>;
}

export interface SpeechPlayerOptions<B extends DecodedSpeech> {
  output: SpeechOutput<B>;
  ducker?: Ducker;
  staleAfterS?: number;
  onStats?: (stats: PlaybackStats) => void;
  /** A sentence was scheduled to start at output time `start` (s); it arrived at `arrival`. */
  onScheduled?: (speech: SpeechMessage, start: number, arrival: number) => void;
  /** Where a skip is reported (default console.info). */
  log?: (message: string, detail: Record<string, unknown>) => void;
}

export class SpeechPlayer<B extends DecodedSpeech = DecodedSpeech> {
  private readonly queues = new Map<string, SpeakerQueue>();
  private readonly staleAfterS: number;
  private stats: PlaybackStats = { played: 0, stale: 0, outOfOrder: 0, undecodable: 0, endsAt: 0, last: null };
  private stopped = false;

  constructor(private readonly options: SpeechPlayerOptions<B>) {
    this.staleAfterS = options.staleAfterS ?? STALE_AFTER_S;
  }

  get current(): PlaybackStats {
    return this.stats;
  }

  /** Queue one sentence (its header and Ogg Opus bytes) as it arrives; resolves once it is scheduled or skipped. */
  enqueue(speech: SpeechMessage, audio: ArrayBuffer): Promise<void> {
    const arrival = this.options.output.now();
    const queue = this.queueOf(speech.speaker);
    const decoded = this.options.output.decode(audio).then(
      (buffer) => buffer,
      () => null,
    );
    queue.tail = queue.tail.then(async () => this.schedule(speech, queue, arrival, await decoded));
    return queue.tail;
  }

  /** Stop scheduling (what is already scheduled plays out) and give every speaker their voice back. */
  stop(): void {
    this.stopped = true;
    for (const [speaker, queue] of this.queues) {
      if (queue.playing > 0) this.options.ducker?.restore(speaker);
      queue.playing = 0;
    }
  }

  private queueOf(speaker: string): SpeakerQueue {
    let queue = this.queues.get(speaker);
    if (!queue) {
      queue = { busyUntil: 0, lastSeq: -Infinity, lastChunk: 0, playing: 0, tail: Promise.resolve() };
      this.queues.set(speaker, queue);
    }
    return queue;
  }

  private skip(reason: SkipReason, speech: SpeechMessage, detail: Record<string, unknown> = {}): void {
    if (reason === "stale") this.stats = { ...this.stats, stale: this.stats.stale + 1 };
    else if (reason === "out_of_order") this.stats = { ...this.stats, outOfOrder: this.stats.outOfOrder + 1 };
    else this.stats = { ...this.stats, undecodable: this.stats.undecodable + 1 };
    (this.options.log ?? ((m, d) => console.info(m, d)))(`translated speech skipped: ${reason}`, {
      segment: speech.segment_id, speaker: speech.speaker, seq: speech.seq, ...detail, stats: this.stats,
    });
    this.options.onStats?.(this.stats);
  }

  private schedule(speech: SpeechMessage, queue: SpeakerQueue, arrival: number, buffer: B | null): void {
    if (this.stopped) return;
    if (speech.type === "cloned_audio_ready" && speech.seq <= queue.lastSeq) return; // the quick voice spoke it
    if (buffer === null) return this.skip("undecodable", speech);
    const rest = speech.chunk > 0; // a later chunk of a sentence
    const inOrder = rest ? speech.seq === queue.lastSeq && speech.chunk > queue.lastChunk : speech.seq > queue.lastSeq;
    if (!inOrder) {
      return this.skip("out_of_order", speech, { last_seq: queue.lastSeq, chunk: speech.chunk, last_chunk: queue.lastChunk });
    }
    const now = this.options.output.now();
    const start = Math.max(now, queue.busyUntil);
    const delayS = start - arrival;
    if (!rest && delayS > this.staleAfterS) return this.skip("stale", speech, { delay_s: Number(delayS.toFixed(2)) });
    queue.lastSeq = speech.seq;
    queue.lastChunk = speech.chunk;
    queue.busyUntil = start + buffer.duration;
    queue.playing += 1;
    if (queue.playing === 1) this.options.ducker?.duck(speech.speaker);
    this.options.output.play(buffer, start, () => {
      if (queue.playing === 0) return; // stopped
      queue.playing -= 1;
      if (queue.playing === 0) this.options.ducker?.restore(speech.speaker);
    });
    this.stats = {
      ...this.stats,
      played: this.stats.played + (rest ? 0 : 1),
      endsAt: Math.max(this.stats.endsAt, queue.busyUntil),
      last: { segmentId: speech.segment_id, text: speech.chunk_text ?? speech.translation.text, delayS },
    };
    this.options.onScheduled?.(speech, start, arrival);
    this.options.onStats?.(this.stats);
  }
}
