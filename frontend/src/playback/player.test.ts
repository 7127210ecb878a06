import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import type { SpeechMessage } from "../captions/messages";
import { MediaDucker } from "./ducking";
import { SpeechPlayer, type DecodedSpeech, type SpeechOutput } from "./player";

/** An output on the fake timers' clock: `duration` per sentence comes from the audio's first byte (s). */
class FakeOutput implements SpeechOutput {
  played: { segment: string; start: number; end: number }[] = [];
  decodeDelayMs = 0;

  now(): number {
    return Date.now() / 1000;
  }

  decode(audio: ArrayBuffer): Promise<DecodedSpeech & { segment: string }> {
    const bytes = new Uint8Array(audio);
    if (bytes[0] === 0) return Promise.reject(new Error("not Ogg Opus"));
    const buffer = { duration: bytes[0], segment: String.fromCharCode(...bytes.slice(1)) };
    if (!this.decodeDelayMs) return Promise.resolve(buffer);
    return new Promise((resolve) => setTimeout(() => resolve(buffer), this.decodeDelayMs));
  }

  play(buffer: DecodedSpeech, when: number, onEnded: () => void): void {
    const { segment } = buffer as DecodedSpeech & { segment: string };
    this.played.push({ segment, start: when, end: when + buffer.duration });
    setTimeout(onEnded, (when + buffer.duration - this.now()) * 1000);
  }
}

function audio(durationS: number, segment: string): ArrayBuffer {
  return new Uint8Array([durationS, ...[...segment].map((c) => c.charCodeAt(0))]).buffer;
}

function speech(speaker: string, seq: number, chunk = 0, chunks = 1): SpeechMessage {
  return {
    type: "speech", room: "r", segment_id: `${speaker}-${seq}`, speaker, speaker_name: speaker, seq, room_seq: seq,
    language: "en", language_detected: false, audio_start_ms: 0, audio_end_ms: 1000,
    translation: { language: "es", text: `frase ${seq}`, backend: "apertium" }, codec: "opus", sample_rate: 48000,
    duration_ms: 1000, tts_backend: "espeak", voice: "es", cached: false, chunk, chunks,
    chunk_text: chunks > 1 ? `trozo ${chunk}` : null,
    timings: {}, audio_bytes: 0, v: 1,
  };
}

function setup(staleAfterS?: number) {
  const output = new FakeOutput();
  const ducking: string[] = [];
  const ducker = { duck: (s: string) => ducking.push(`duck ${s}`), restore: (s: string) => ducking.push(`restore ${s}`) };
  const logs: string[] = [];
  const scheduled: [string, number, number][] = [];
  const player = new SpeechPlayer({
    output, ducker, staleAfterS, log: (m) => logs.push(m),
    onScheduled: (speech, start, arrival) => scheduled.push([speech.segment_id, start, arrival]),
  });
  const send = (speaker: string, seq: number, durationS: number) =>
    player.enqueue(speech(speaker, seq), audio(durationS, `${speaker}-${seq}`));
  return { output, ducking, logs, player, send, scheduled };
}

describe("SpeechPlayer", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(1_000_000);
  });
  afterEach(() => vi.useRealTimers());

  it("plays a cloned voice only for a sentence whose quick voice was not scheduled", async () => {
    const { output, player, send, logs } = setup();
    const clone = (seq: number) => ({ ...speech("ana", seq), type: "cloned_audio_ready" as const, tts_backend: "xtts" });
    await send("ana", 1, 1);
    await player.enqueue(clone(1), audio(1, "clone-1")); // the quick voice spoke sentence 1 already
    await player.enqueue(clone(2), audio(1, "clone-2")); // sentence 2's quick voice never came
    expect(output.played.map((p) => p.segment)).toEqual(["ana-1", "clone-2"]);
    expect(logs).toEqual([]);
    expect(player.current.outOfOrder).toBe(0);
  });

  it("plays one speaker's sentences in order, each after the one before", async () => {
    const { output, player, send, scheduled } = setup();
    output.decodeDelayMs = 50;
    const t0 = Date.now() / 1000;
    const done = [send("ana", 1, 2), send("ana", 2, 1), send("ana", 3, 1)];
    await vi.advanceTimersByTimeAsync(60);
    await Promise.all(done);
    expect(output.played.map((p) => p.segment)).toEqual(["ana-1", "ana-2", "ana-3"]);
    for (let i = 1; i < output.played.length; i++) expect(output.played[i].start).toBeGreaterThanOrEqual(output.played[i - 1].end);
    expect(output.played[0].start).toBeCloseTo(t0 + 0.05);
    expect(output.played[2].end).toBeCloseTo(t0 + 4.05);
    expect(player.current.endsAt).toBeCloseTo(t0 + 4.05);
    expect(scheduled.map(([segment, start, arrival]) => [segment, start - arrival])).toEqual([
      ["ana-1", expect.closeTo(0.05)], ["ana-2", expect.closeTo(2.05)], ["ana-3", expect.closeTo(3.05)],
    ]);
  });

  it("keeps arrival order even when a later sentence decodes first", async () => {
    const { output, player } = setup();
    let release: (b: DecodedSpeech & { segment: string }) => void = () => undefined;
    const slow = new Promise<DecodedSpeech & { segment: string }>((resolve) => (release = resolve));
    const decode = output.decode.bind(output);
    vi.spyOn(output, "decode").mockImplementationOnce(() => slow).mockImplementation(decode);
    const first = player.enqueue(speech("ana", 1), audio(1, "ana-1"));
    const second = player.enqueue(speech("ana", 2), audio(1, "ana-2"));
    await vi.advanceTimersByTimeAsync(10);
    expect(output.played).toEqual([]); // ana-2 is decoded but waits for ana-1
    release({ duration: 1, segment: "ana-1" });
    await Promise.all([first, second]);
    expect(output.played.map((p) => p.segment)).toEqual(["ana-1", "ana-2"]);
  });

  it("lets different speakers overlap", async () => {
    const { output, send } = setup();
    await Promise.all([send("ana", 1, 3), send("bo", 1, 3)]);
    expect(output.played[0].start).toBe(output.played[1].start);
  });

  it("lowers the speaker's voice while their translation plays and restores it after the last one", async () => {
    const { ducking, send } = setup();
    await Promise.all([send("ana", 1, 2), send("ana", 2, 1)]);
    await send("bo", 1, 1);
    expect(ducking).toEqual(["duck ana", "duck bo"]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(ducking).toEqual(["duck ana", "duck bo", "restore bo"]);
    await vi.advanceTimersByTimeAsync(1999); // ana-2 ends at 3 s
    expect(ducking).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(ducking).toEqual(["duck ana", "duck bo", "restore bo", "restore ana"]);
    await send("ana", 3, 1); // a new sentence ducks again
    expect(ducking.at(-1)).toBe("duck ana");
  });

  it("ducks the speaker's tile through MediaDucker and gives the volume back", async () => {
    const output = new FakeOutput();
    const ducker = new MediaDucker();
    const tile = { volume: 0.8 };
    ducker.register("ana", tile);
    const player = new SpeechPlayer({ output, ducker, log: () => undefined });
    await player.enqueue(speech("ana", 1), audio(1, "ana-1"));
    expect(tile.volume).toBe(0.2);
    await vi.advanceTimersByTimeAsync(1000);
    expect(tile.volume).toBe(0.8);
  });

  it("skips a sentence that would start more than 4 s after it arrived, and counts it", async () => {
    const { output, player, logs, send } = setup();
    await send("ana", 1, 5); // plays 0–5 s
    await send("ana", 2, 1); // would start 5 s after arrival: stale
    expect(output.played.map((p) => p.segment)).toEqual(["ana-1"]);
    expect(player.current.stale).toBe(1);
    expect(logs).toEqual(["translated speech skipped: stale"]);
    await vi.advanceTimersByTimeAsync(1500);
    await send("ana", 3, 1); // 3.5 s of wait: played, right after ana-1
    expect(output.played.at(-1)).toMatchObject({ segment: "ana-3", start: 1000 + 5 });
    expect(player.current).toMatchObject({ played: 2, stale: 1, last: { segmentId: "ana-3", delayS: 3.5 } });
  });

  it("catches up after falling behind instead of lagging more and more", async () => {
    const { output, player, send } = setup(2);
    // 3 s sentences arriving every 2 s: the backlog grows by 1 s each time until sentences are skipped.
    for (let seq = 1; seq <= 10; seq++) {
      await send("ana", seq, 3);
      await vi.advanceTimersByTimeAsync(2000);
    }
    const delays = output.played.map((p) => p.start - (1000 + 2 * (Number(p.segment.split("-")[1]) - 1)));
    expect(Math.max(...delays)).toBeLessThanOrEqual(2);
    expect(player.current.stale).toBeGreaterThan(0);
    expect(player.current.played + player.current.stale).toBe(10);
    expect(delays.length).toBe(player.current.played);
  });

  it("skips a late sentence of a speaker (seq not above the last played) and undecodable audio", async () => {
    const { output, player, send } = setup();
    await send("ana", 2, 1);
    await send("ana", 1, 1);
    await player.enqueue(speech("ana", 3), new Uint8Array([0]).buffer);
    expect(output.played.map((p) => p.segment)).toEqual(["ana-2"]);
    expect(player.current).toMatchObject({ played: 1, outOfOrder: 1, undecodable: 1 });
  });

  it("plays every chunk of a long sentence after the one before, and counts the sentence once", async () => {
    const { output, player, logs } = setup();
    const t0 = Date.now() / 1000;
    const chunk = (seq: number, index: number, chunks: number, durationS: number) =>
      player.enqueue(speech("ana", seq, index, chunks), audio(durationS, `ana-${seq}.${index}`));
    await chunk(1, 0, 3, 2);
    await vi.advanceTimersByTimeAsync(3000); // synthesis slower than playback: chunk 1 comes after chunk 0 ended
    await chunk(1, 1, 3, 5);
    await chunk(1, 2, 3, 1); // starts 5 s after its arrival, right after chunk 1: the sentence has begun, not stale
    await chunk(2, 0, 1, 1); // would start 6 s after its arrival: a new sentence is stale
    expect(output.played.map((p) => [p.segment, p.start - t0])).toEqual([["ana-1.0", 0], ["ana-1.1", 3], ["ana-1.2", 8]]);
    expect(player.current).toMatchObject({ played: 1, stale: 1, outOfOrder: 0 });
    expect(logs).toEqual(["translated speech skipped: stale"]);
  });

  it("skips a repeated chunk and the rest of a sentence whose start was skipped", async () => {
    const { output, player } = setup();
    const chunk = (seq: number, index: number, durationS: number) =>
      player.enqueue(speech("ana", seq, index, 2), audio(durationS, `ana-${seq}.${index}`));
    await chunk(1, 0, 5);
    await chunk(1, 0, 5); // a redelivered final repeats its chunks
    await chunk(1, 1, 1);
    await chunk(1, 1, 1);
    await chunk(2, 0, 1); // would start 6 s after arrival: stale
    await chunk(2, 1, 1); // the rest of ana-2: skipped too
    expect(output.played.map((p) => p.segment)).toEqual(["ana-1.0", "ana-1.1"]);
    expect(player.current).toMatchObject({ played: 1, stale: 1, outOfOrder: 3 });
  });

  it("restores every ducked speaker when stopped and schedules nothing more", async () => {
    const { output, ducking, player, send } = setup();
    await send("ana", 1, 2);
    player.stop();
    expect(ducking).toEqual(["duck ana", "restore ana"]);
    await send("ana", 2, 1);
    await vi.advanceTimersByTimeAsync(3000);
    expect(output.played).toHaveLength(1);
    expect(ducking).toHaveLength(2);
  });
});

describe("MediaDucker", () => {
  it("ducks only that speaker's elements, including one registered while ducked, and forgets them", () => {
    const ducker = new MediaDucker();
    const ana = { volume: 1 };
    const bo = { volume: 1 };
    ducker.register("ana", ana);
    ducker.register("bo", bo);
    ducker.duck("ana");
    ducker.duck("ana");
    expect([ana.volume, bo.volume]).toEqual([0.2, 1]);
    const late = { volume: 0.5 };
    const forget = ducker.register("ana", late);
    expect(late.volume).toBe(0.2);
    forget();
    expect(late.volume).toBe(0.5);
    ducker.restore("ana");
    ducker.restore("ana");
    expect([ana.volume, bo.volume, late.volume]).toEqual([1, 1, 0.5]);
    expect(ducker.isDucked("ana")).toBe(false);
  });
});
