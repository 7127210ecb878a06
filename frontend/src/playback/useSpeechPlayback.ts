// "Hear translation" in the room page: while `enabled`, one AudioContext and one SpeechPlayer (player.ts)
// play the speech the caption socket delivers; the ducker (stable for the page's life) lowers each
// speaker's video-tile audio while their translation plays. An AudioContext made before the page had a
// user gesture starts suspended (autoplay policy): `needsGesture` is then true until the next click
// resumes it. Exposes window.__babelroomPlayback = {context, output, stats(), sentences} for the browser
// test (`sentences`: the last SENTENCES_KEPT sentences, or chunks of one, scheduled, with their start on
// the wall clock).

import { useCallback, useEffect, useMemo, useRef, useState } from "react";

import type { SpeechMessage } from "../captions/messages";
import { MediaDucker } from "./ducking";
import { SpeechPlayer, type PlaybackStats } from "./player";
import { webAudioOutput, type WebAudioOutput } from "./webAudio";

const SENTENCES_KEPT = 50;

export interface ScheduledSentence {
  segmentId: string;
  /** Which chunk of the sentence's speech (0: its start, or the whole sentence), of how many. */
  chunk: number;
  chunks: number;
  /** The words spoken: the chunk's, or the whole translation. */
  text: string;
  /** When it starts playing (ms since the Unix epoch). */
  startMs: number;
  /** The server's stamps (ms since the Unix epoch): mt_end, tts_start, tts_end, sent … */
  timings: Record<string, number>;
}

export interface PlaybackHook {
  context: AudioContext;
  output: GainNode;
  stats: () => PlaybackStats;
  sentences: ScheduledSentence[];
}

declare global {
  interface Window {
    __babelroomPlayback?: PlaybackHook;
  }
}

export interface SpeechPlayback {
  ducker: MediaDucker;
  stats: PlaybackStats | null;
  needsGesture: boolean;
  /** Hand one sentence to the player (ignored while disabled). */
  enqueue: (speech: SpeechMessage, audio: ArrayBuffer) => void;
  /** Resume the AudioContext (call from a user gesture). */
  resume: () => void;
}

export function useSpeechPlayback(enabled: boolean): SpeechPlayback {
  const ducker = useMemo(() => new MediaDucker(), []);
  const [stats, setStats] = useState<PlaybackStats | null>(null);
  const [needsGesture, setNeedsGesture] = useState(false);
  const current = useRef<{ output: WebAudioOutput; player: SpeechPlayer<AudioBuffer> } | null>(null);

  useEffect(() => {
    if (!enabled || typeof AudioContext === "undefined") return;
    const output = webAudioOutput();
    const sentences: ScheduledSentence[] = [];
    const onScheduled = (speech: SpeechMessage, start: number) => {
      const startMs = Date.now() + (start - output.now()) * 1000;
      sentences.push({
        segmentId: speech.segment_id, chunk: speech.chunk, chunks: speech.chunks,
        text: speech.chunk_text ?? speech.translation.text, startMs,
        timings: speech.timings ?? {},
      });
      if (sentences.length > SENTENCES_KEPT) sentences.shift();
    };
    const player = new SpeechPlayer({ output, ducker, onStats: setStats, onScheduled });
    current.current = { output, player };
    window.__babelroomPlayback = { context: output.context, output: output.output, stats: () => player.current, sentences };
    const onState = () => setNeedsGesture(output.context.state === "suspended");
    output.context.addEventListener("statechange", onState);
    onState();
    const resumeOnGesture = () => void output.context.resume();
    document.addEventListener("pointerdown", resumeOnGesture);
    document.addEventListener("keydown", resumeOnGesture);
    return () => {
      document.removeEventListener("pointerdown", resumeOnGesture);
      document.removeEventListener("keydown", resumeOnGesture);
      output.context.removeEventListener("statechange", onState);
      player.stop();
      output.close();
      current.current = null;
      delete window.__babelroomPlayback;
      setStats(null);
      setNeedsGesture(false);
    };
  }, [enabled, ducker]);

  const enqueue = useCallback((speech: SpeechMessage, audio: ArrayBuffer) => {
    void current.current?.player.enqueue(speech, audio);
  }, []);
  const resume = useCallback(() => void current.current?.output.context.resume(), []);
  return { ducker, stats, needsGesture, enqueue, resume };
}
