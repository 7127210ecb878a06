// A WAV for the server when the browser records in a container it does not accept (Safari's
// MediaRecorder: audio/mp4): the recording is decoded with the Web Audio API and written as 16-bit mono PCM.

/** A 16-bit PCM mono WAV of ``samples`` (floats in [-1, 1], clipped) at ``rate`` Hz. */
export function encodeWav(samples: Float32Array, rate: number): Blob {
  const buffer = new ArrayBuffer(44 + samples.length * 2);
  const view = new DataView(buffer);
  const text = (at: number, s: string) => [...s].forEach((c, i) => view.setUint8(at + i, c.charCodeAt(0)));
  text(0, "RIFF");
  view.setUint32(4, 36 + samples.length * 2, true);
  text(8, "WAVE");
  text(12, "fmt ");
  view.setUint32(16, 16, true); // fmt chunk size
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, rate, true);
  view.setUint32(28, rate * 2, true); // bytes per second
  view.setUint16(32, 2, true); // block align
  view.setUint16(34, 16, true); // bits per sample
  text(36, "data");
  view.setUint32(40, samples.length * 2, true);
  samples.forEach((x, i) => view.setInt16(44 + i * 2, Math.round(Math.max(-1, Math.min(1, x)) * 32767), true));
  return new Blob([buffer], { type: "audio/wav" });
}

/** The channels of ``audio`` averaged into one. */
export function downmix(channels: Float32Array[]): Float32Array {
  if (channels.length === 1) return channels[0];
  const out = new Float32Array(channels[0].length);
  for (const channel of channels) channel.forEach((x, i) => (out[i] += x / channels.length));
  return out;
}

/** ``blob`` decoded by the browser and re-encoded as a mono WAV. Rejects when the browser cannot decode it. */
export async function toWav(blob: Blob): Promise<Blob> {
  const context = new AudioContext();
  try {
    const audio = await context.decodeAudioData(await blob.arrayBuffer());
    const channels = Array.from({ length: audio.numberOfChannels }, (_, i) => audio.getChannelData(i));
    return encodeWav(downmix(channels), audio.sampleRate);
  } finally {
    void context.close();
  }
}
