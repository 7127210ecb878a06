// What the gateway asks of a voice sample (services/babelroom/voice/samples.py and config.py:
// voice_sample_min_s / voice_sample_max_s / voice_sample_max_bytes; the API publishes no endpoint for
// them, so they are repeated here), and how the page words a sample's state.
import type { VoiceSample } from "../api/types";

/** Shortest and longest sample the server accepts (s), the largest file (bytes). */
export const MIN_S = 10;
export const MAX_S = 30;
export const MAX_BYTES = 20 * 1024 * 1024;
/** Containers the server decodes (by content, whatever the file's name or type says). */
export const ACCEPTED_FORMATS = "WAV, FLAC, Ogg, MP3 or WebM";
/** The file picker's filter (a hint: the server decides). */
export const ACCEPT = ".wav,.flac,.ogg,.oga,.opus,.mp3,.webm,audio/wav,audio/flac,audio/ogg,audio/mpeg,audio/webm";

/** A recording or a picked file, ready to upload. ``durationS``: null when the browser cannot tell. */
export interface Clip {
  blob: Blob;
  source: "recording" | "file";
  fileName: string | null;
  durationS: number | null;
  url: string;
}

export interface UploadForm {
  clip: Clip | null;
  name: string;
  language: string | null;
  consent: boolean;
}

/** Why the upload button is disabled (a sentence for people), or null when the form can be sent. The
 * server checks length, loudness and speech again; this only spares a refused upload. */
export function uploadBlocker({ clip, name, language, consent }: UploadForm): string | null {
  if (!clip) return "Record a sample or choose an audio file first.";
  if (clip.blob.size > MAX_BYTES) return `The file is larger than ${MAX_BYTES / 2 ** 20} MB.`;
  if (clip.durationS !== null && clip.durationS < MIN_S)
    return `The sample is ${formatSeconds(clip.durationS)} long: it needs at least ${MIN_S} s.`;
  if (clip.durationS !== null && clip.durationS > MAX_S + 0.5)
    return `The sample is ${formatSeconds(clip.durationS)} long: it may be at most ${MAX_S} s.`;
  if (!name.trim()) return "Give the sample a name.";
  if (!language) return "Choose the language you speak in the sample.";
  if (!consent) return "Tick the consent box to upload.";
  return null;
}

export function formatSeconds(s: number): string {
  return `${s.toFixed(1)} s`;
}

/** A sample's one-speaker check in words: what it means for the cloned voice. */
export function statusText(sample: VoiceSample): string {
  if (sample.speaker_check === "pending") return "Checking that one person speaks…";
  if (sample.speaker_check === "passed") return "Ready: your translations can be spoken in this voice.";
  const similarity = sample.speaker_similarity === null ? "" : ` (similarity ${sample.speaker_similarity.toFixed(2)})`;
  return `Rejected: the two halves do not sound like one speaker${similarity}. It is not used; delete it and record again alone.`;
}

export const STATUS_LABEL: Record<VoiceSample["speaker_check"], string> = {
  pending: "Pending check",
  passed: "OK",
  failed: "Rejected",
};

export function hasPending(samples: VoiceSample[] | null): boolean {
  return !!samples?.some((s) => s.speaker_check === "pending");
}
