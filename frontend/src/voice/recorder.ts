// Recording a voice sample in the browser: the microphone (getUserMedia), MediaRecorder, the input level
// (a Web Audio AnalyserNode) and the elapsed time. Chromium and Firefox record WebM or Ogg Opus, which the
// server decodes; a browser that records only something else (Safari: audio/mp4) gets its recording
// converted to WAV (wav.ts) before it is offered for upload.
import { toWav } from "./wav";

/** Preferred recording types, best first (all decoded by the server). */
export const RECORDING_TYPES = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm", "audio/ogg"];

/** The microphone as a voice sample wants it: one channel, no echo cancellation or noise suppression
 * (their artefacts would be cloned with the voice). */
export const CONSTRAINTS: MediaStreamConstraints = {
  audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: true },
};

/** The first of RECORDING_TYPES the browser records, or undefined (its default then). */
export function pickMimeType(isTypeSupported: (type: string) => boolean): string | undefined {
  return RECORDING_TYPES.find((t) => isTypeSupported(t));
}

/** Whether the server decodes a blob of this MIME type as it is (else it is converted to WAV). */
export function acceptedByServer(type: string): boolean {
  return /^audio\/(webm|ogg|wav|x-wav|wave|flac|mpeg)\b/.test(type) || /^video\/webm\b/.test(type);
}

/** Input level in [0, 1]: the RMS in dBFS mapped from -60..0 dB. */
export function levelOf(samples: Float32Array): number {
  let sum = 0;
  for (const x of samples) sum += x * x;
  const dbfs = 10 * Math.log10(sum / Math.max(1, samples.length) + 1e-12);
  return Math.max(0, Math.min(1, (dbfs + 60) / 60));
}

export interface LevelProbe {
  read(): number;
  close(): void;
}

/** What the recorder needs from the browser (tests give fakes). */
export interface RecorderEnv {
  getUserMedia(constraints: MediaStreamConstraints): Promise<MediaStream>;
  createRecorder(stream: MediaStream, mimeType: string | undefined): MediaRecorder;
  isTypeSupported(type: string): boolean;
  levelProbe(stream: MediaStream): LevelProbe | null;
  convert(blob: Blob): Promise<Blob>;
  now(): number;
}

function analyserProbe(stream: MediaStream): LevelProbe | null {
  if (typeof AudioContext === "undefined") return null;
  const context = new AudioContext();
  const analyser = context.createAnalyser();
  analyser.fftSize = 2048;
  context.createMediaStreamSource(stream).connect(analyser);
  const buffer = new Float32Array(analyser.fftSize);
  return {
    read: () => {
      analyser.getFloatTimeDomainData(buffer);
      return levelOf(buffer);
    },
    close: () => void context.close(),
  };
}

export function browserEnv(): RecorderEnv {
  return {
    getUserMedia: (c) => navigator.mediaDevices.getUserMedia(c),
    createRecorder: (stream, mimeType) => new MediaRecorder(stream, mimeType ? { mimeType } : undefined),
    isTypeSupported: (t) => typeof MediaRecorder !== "undefined" && MediaRecorder.isTypeSupported(t),
    levelProbe: analyserProbe,
    convert: toWav,
    now: () => performance.now(),
  };
}

export interface Recording {
  blob: Blob;
  durationS: number;
}

/** One recording from start to stop. Errors: start rejects as getUserMedia does (NotAllowedError: the
 * user or the browser refused the microphone; NotFoundError: none), or when MediaRecorder is missing. */
export class VoiceRecorder {
  private readonly chunks: Blob[] = [];
  private readonly startedAt: number;
  private stoppedAt: number | null = null;

  private constructor(
    private readonly env: RecorderEnv,
    private readonly stream: MediaStream,
    private readonly recorder: MediaRecorder,
    private readonly probe: LevelProbe | null,
  ) {
    recorder.ondataavailable = (event) => {
      if (event.data.size > 0) this.chunks.push(event.data);
    };
    recorder.start(1000);
    this.startedAt = env.now();
  }

  static async start(env: RecorderEnv = browserEnv()): Promise<VoiceRecorder> {
    const stream = await env.getUserMedia(CONSTRAINTS);
    try {
      const recorder = env.createRecorder(stream, pickMimeType((t) => env.isTypeSupported(t)));
      return new VoiceRecorder(env, stream, recorder, env.levelProbe(stream));
    } catch (error) {
      stream.getTracks().forEach((t) => t.stop());
      throw error;
    }
  }

  /** Seconds since start (frozen at stop). */
  elapsedS(): number {
    return ((this.stoppedAt ?? this.env.now()) - this.startedAt) / 1000;
  }

  /** The input level now, in [0, 1] (0 without Web Audio). */
  level(): number {
    return this.probe?.read() ?? 0;
  }

  /** Stop and release the microphone; the recording (converted to WAV when the server cannot read its type). */
  stop(): Promise<Recording> {
    return new Promise<Recording>((resolve, reject) => {
      this.recorder.onstop = () => {
        this.release();
        const type = this.recorder.mimeType || this.chunks[0]?.type || "";
        const blob = new Blob(this.chunks, { type });
        const durationS = this.elapsedS();
        (acceptedByServer(type) ? Promise.resolve(blob) : this.env.convert(blob)).then(
          (out) => resolve({ blob: out, durationS }),
          reject,
        );
      };
      this.stoppedAt = this.env.now();
      if (this.recorder.state !== "inactive") this.recorder.stop();
      else this.recorder.onstop(new Event("stop"));
    });
  }

  /** Stop and throw the recording away (leaving the page). */
  cancel(): void {
    this.recorder.onstop = null;
    if (this.recorder.state !== "inactive") this.recorder.stop();
    this.release();
  }

  private release(): void {
    this.stream.getTracks().forEach((t) => t.stop());
    this.probe?.close();
  }
}
