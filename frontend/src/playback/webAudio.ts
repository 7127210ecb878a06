// The player's real output: WebAudio in this page. Each sentence's Ogg Opus file is decoded by
// decodeAudioData (Chromium and Firefox decode Ogg Opus; Safari from 18.4) and played by an
// AudioBufferSourceNode started at its scheduled time into one gain node, `output`, which goes to the
// speakers. `output` is also what a test taps (window.__babelroomPlayback: the browser test records it).

import type { SpeechOutput } from "./player";

export interface WebAudioOutput extends SpeechOutput<AudioBuffer> {
  context: AudioContext;
  /** Every translated sentence passes through this node on its way to the speakers. */
  output: GainNode;
  close(): void;
}

export function webAudioOutput(context: AudioContext = new AudioContext()): WebAudioOutput {
  const output = context.createGain();
  output.connect(context.destination);
  return {
    context,
    output,
    now: () => context.currentTime,
    // decodeAudioData detaches the buffer it is given: decode a copy.
    decode: (audio) => context.decodeAudioData(audio.slice(0)),
    play: (buffer, when, onEnded) => {
      const source = context.createBufferSource();
      source.buffer = buffer;
      source.connect(output);
      source.onended = () => {
        source.disconnect();
        onEnded();
      };
      source.start(when);
    },
    close: () => {
      output.disconnect();
      void context.close();
    },
  };
}
