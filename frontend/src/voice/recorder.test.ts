// The recorder with a fake microphone and MediaRecorder: type choice, elapsed time, the recording's blob,
// conversion of a type the server does not read, releasing the microphone; and the WAV it converts to.
import { describe, expect, it, vi } from "vitest";

import { acceptedByServer, levelOf, pickMimeType, VoiceRecorder, type RecorderEnv } from "./recorder";
import { downmix, encodeWav } from "./wav";

class FakeRecorder {
  state: "inactive" | "recording" = "inactive";
  ondataavailable: ((e: { data: Blob }) => void) | null = null;
  onstop: ((e: Event) => void) | null = null;
  timeslice: number | undefined;
  constructor(readonly mimeType: string) {}
  start(timeslice?: number) {
    this.state = "recording";
    this.timeslice = timeslice;
  }
  /** What a browser does: the last chunk, then stop. */
  stop() {
    this.state = "inactive";
    this.ondataavailable?.({ data: new Blob(["tail"], { type: this.mimeType }) });
    this.onstop?.(new Event("stop"));
  }
}

function fakeEnv(supported: string[], recordedType: string) {
  let now = 1000;
  const track = { stop: vi.fn() };
  const stream = { getTracks: () => [track] } as unknown as MediaStream;
  const probe = { read: vi.fn(() => 0.5), close: vi.fn() };
  const recorders: FakeRecorder[] = [];
  const env: RecorderEnv = {
    getUserMedia: vi.fn(async () => stream),
    createRecorder: vi.fn((_s: MediaStream, mimeType: string | undefined) => {
      const r = new FakeRecorder(mimeType ?? recordedType);
      recorders.push(r);
      return r as unknown as MediaRecorder;
    }),
    isTypeSupported: (t) => supported.includes(t),
    levelProbe: () => probe,
    convert: vi.fn(async () => new Blob(["RIFF"], { type: "audio/wav" })),
    now: () => now,
  };
  return { env, track, probe, recorders, advance: (ms: number) => (now += ms) };
}

describe("VoiceRecorder", () => {
  it("records WebM Opus when the browser can, timing it and releasing the microphone at stop", async () => {
    const fake = fakeEnv(["audio/webm;codecs=opus", "audio/webm"], "");
    const recorder = await VoiceRecorder.start(fake.env);
    expect(fake.env.getUserMedia).toHaveBeenCalledWith({
      audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: true },
    });
    expect(fake.recorders[0].mimeType).toBe("audio/webm;codecs=opus");
    expect(fake.recorders[0].timeslice).toBe(1000);
    fake.recorders[0].ondataavailable?.({ data: new Blob(["head"]) });
    fake.advance(12_500);
    expect(recorder.elapsedS()).toBe(12.5);
    expect(recorder.level()).toBe(0.5);
    const { blob, durationS } = await recorder.stop();
    expect(durationS).toBe(12.5);
    expect(blob.type).toBe("audio/webm;codecs=opus");
    expect(await blob.text()).toBe("headtail");
    expect(fake.env.convert).not.toHaveBeenCalled();
    expect(fake.track.stop).toHaveBeenCalled();
    expect(fake.probe.close).toHaveBeenCalled();
    fake.advance(5000);
    expect(recorder.elapsedS()).toBe(12.5); // frozen at stop
  });

  it("converts a recording the server cannot read (Safari's audio/mp4) to WAV", async () => {
    const fake = fakeEnv([], "audio/mp4");
    const recorder = await VoiceRecorder.start(fake.env);
    expect(fake.recorders[0].mimeType).toBe("audio/mp4"); // no preferred type: the browser's default
    const { blob } = await recorder.stop();
    expect(fake.env.convert).toHaveBeenCalledOnce();
    expect(blob.type).toBe("audio/wav");
  });

  it("fails as getUserMedia does (the microphone refused)", async () => {
    const fake = fakeEnv([], "audio/webm");
    fake.env.getUserMedia = () => Promise.reject(new DOMException("denied", "NotAllowedError"));
    await expect(VoiceRecorder.start(fake.env)).rejects.toMatchObject({ name: "NotAllowedError" });
  });

  it("releases the microphone when MediaRecorder cannot be made", async () => {
    const fake = fakeEnv([], "audio/webm");
    fake.env.createRecorder = () => {
      throw new Error("no MediaRecorder");
    };
    await expect(VoiceRecorder.start(fake.env)).rejects.toThrow("no MediaRecorder");
    expect(fake.track.stop).toHaveBeenCalled();
  });

  it("cancel drops the recording and releases the microphone", async () => {
    const fake = fakeEnv(["audio/ogg;codecs=opus"], "");
    const recorder = await VoiceRecorder.start(fake.env);
    expect(fake.recorders[0].mimeType).toBe("audio/ogg;codecs=opus");
    recorder.cancel();
    expect(fake.recorders[0].state).toBe("inactive");
    expect(fake.track.stop).toHaveBeenCalled();
  });
});

describe("recording helpers", () => {
  it("prefers WebM Opus, then Ogg Opus", () => {
    expect(pickMimeType(() => true)).toBe("audio/webm;codecs=opus");
    expect(pickMimeType((t) => t.startsWith("audio/ogg"))).toBe("audio/ogg;codecs=opus");
    expect(pickMimeType(() => false)).toBeUndefined();
  });

  it("knows which types the server decodes", () => {
    for (const t of ["audio/webm;codecs=opus", "audio/ogg", "audio/wav", "audio/flac", "audio/mpeg", "video/webm"])
      expect(acceptedByServer(t), t).toBe(true);
    for (const t of ["audio/mp4", "audio/aac", ""]) expect(acceptedByServer(t), t).toBe(false);
  });

  it("maps the input level from -60..0 dBFS to 0..1", () => {
    expect(levelOf(new Float32Array(100))).toBe(0);
    expect(levelOf(new Float32Array(100).fill(1))).toBeCloseTo(1);
    expect(levelOf(new Float32Array(100).fill(0.01))).toBeCloseTo(1 / 3, 2); // -40 dBFS
  });

  it("writes a 16-bit mono WAV, clipping and averaging channels", async () => {
    const wav = encodeWav(downmix([new Float32Array([1, 0.5]), new Float32Array([1, -0.5])]), 16000);
    const view = new DataView(await wav.arrayBuffer());
    expect(wav.type).toBe("audio/wav");
    expect(wav.size).toBe(48);
    expect(String.fromCharCode(...new Uint8Array(await wav.slice(0, 4).arrayBuffer()))).toBe("RIFF");
    expect(view.getUint32(24, true)).toBe(16000);
    expect(view.getUint16(22, true)).toBe(1);
    expect(view.getInt16(44, true)).toBe(32767);
    expect(view.getInt16(46, true)).toBe(0);
    expect(encodeWav(new Float32Array([2, -2]), 8000).size).toBe(48);
  });
});
