// What the room page needs from the media plane, whichever way it is provided: tiles (one per
// participant with media) and the local controls. Two implementations: VideoRoomSession (Janus
// VideoRoom through janus.js) and LocalPreview (this browser's camera only, when the gateway gave
// no Janus details).

export interface MediaTile {
  /** The Janus publisher id (our user id when the gateway assigns it), or "local". */
  id: string;
  display: string;
  stream: MediaStream | null;
  local: boolean;
}

export type MediaStatus =
  | { state: "idle" }
  | { state: "connecting"; detail: string }
  | { state: "connected"; detail: string }
  | { state: "preview"; detail: string }
  | { state: "error"; detail: string };

export interface MediaCallbacks {
  onTiles: (tiles: MediaTile[]) => void;
  onStatus: (status: MediaStatus) => void;
}

export interface MediaSession {
  start(): Promise<void>;
  setMicEnabled(on: boolean): void;
  setCameraEnabled(on: boolean): void;
  stop(): void;
}

/** Camera and microphone, falling back to whichever of them is available. */
export async function captureLocalMedia(): Promise<MediaStream> {
  const md = navigator.mediaDevices;
  if (!md?.getUserMedia) throw new Error("this browser cannot capture media (a secure origin is needed: https or localhost)");
  try {
    return await md.getUserMedia({ audio: true, video: true });
  } catch (both) {
    for (const constraints of [{ audio: true }, { video: true }]) {
      try {
        return await md.getUserMedia(constraints);
      } catch {
        /* try the next */
      }
    }
    throw both;
  }
}

export function setTracksEnabled(stream: MediaStream | null, kind: "audio" | "video", on: boolean): void {
  stream?.getTracks().forEach((t) => {
    if (t.kind === kind) t.enabled = on;
  });
}

/** The local camera and microphone, with no relay: what the page shows until Janus is wired. */
export class LocalPreview implements MediaSession {
  private stream: MediaStream | null = null;
  private stopped = false;

  constructor(
    private readonly display: string,
    private readonly capture: boolean,
    private readonly callbacks: MediaCallbacks,
  ) {}

  async start(): Promise<void> {
    const reason = "Video relay not connected: the server sent no Janus room details.";
    if (!this.capture) {
      this.callbacks.onStatus({ state: "preview", detail: `${reason} Listening only.` });
      return;
    }
    try {
      const stream = await captureLocalMedia();
      if (this.stopped) {
        stream.getTracks().forEach((t) => t.stop());
        return;
      }
      this.stream = stream;
      this.callbacks.onTiles([{ id: "local", display: this.display, stream, local: true }]);
      this.callbacks.onStatus({ state: "preview", detail: `${reason} Only your own camera is shown.` });
    } catch (error) {
      this.callbacks.onStatus({ state: "error", detail: `Camera/microphone: ${error instanceof Error ? error.message : error}` });
    }
  }

  setMicEnabled(on: boolean): void {
    setTracksEnabled(this.stream, "audio", on);
  }

  setCameraEnabled(on: boolean): void {
    setTracksEnabled(this.stream, "video", on);
  }

  stop(): void {
    this.stopped = true;
    this.stream?.getTracks().forEach((t) => t.stop());
    this.stream = null;
  }
}
