// A Janus VideoRoom call through janus.js (npm janus-gateway, with webrtc-adapter): one publisher
// handle sending this browser's camera and microphone, and one subscriber handle per remote
// publisher. Requests (Janus VideoRoom plugin API, 1.x):
//   publisher:  join {ptype: publisher, room, display, id?, token?} → joined {id, private_id,
//               publishers}; configure {audio, video} + offer; events announce publishers,
//               unpublished and leaving feeds.
//   subscriber: join {ptype: subscriber, room, streams: [{feed}], private_id, token?} → attached +
//               offer; answer with start.
// The room's `allowed` ACL checks `token` on both joins.

import Janus, { type JanusJS } from "janus-gateway";
import adapter from "webrtc-adapter";

import type { JanusJoinInfo } from "../api/types";
import { rtcIceServers } from "./iceServers";
import type { MediaCallbacks, MediaSession, MediaTile } from "./session";

const PLUGIN = "janus.plugin.videoroom";

let ready: Promise<void> | null = null;

function initJanus(): Promise<void> {
  ready ??= new Promise<void>((resolve) => {
    Janus.init({
      debug: import.meta.env.DEV ? ["warn", "error"] : false,
      dependencies: Janus.useDefaultDependencies({ adapter }),
      callback: () => resolve(),
    } as JanusJS.InitOptions);
  });
  return ready;
}

interface Publisher {
  id: string | number;
  display?: string;
}

interface RemoteFeed {
  id: string;
  display: string;
  handle: JanusJS.PluginHandle | null;
  tracks: Map<string, MediaStreamTrack>;
  stream: MediaStream | null;
}

interface VideoRoomMessage extends JanusJS.Message {
  videoroom?: string;
  id?: string | number;
  private_id?: number;
  publishers?: Publisher[];
  unpublished?: string | number;
  leaving?: string | number;
  error_code?: number;
}

export class VideoRoomSession implements MediaSession {
  private janus: Janus | null = null;
  private publisher: JanusJS.PluginHandle | null = null;
  private myId: string | null = null;
  private privateId: number | undefined;
  private localStream: MediaStream | null = null;
  private readonly feeds = new Map<string, RemoteFeed>();
  private readonly opaqueId = `babelroom-${Janus.randomString ? Janus.randomString(12) : Math.random().toString(36).slice(2)}`;
  private stopped = false;

  constructor(
    private readonly info: JanusJoinInfo,
    private readonly me: { id: string; display: string },
    private readonly publish: boolean,
    private readonly callbacks: MediaCallbacks,
  ) {}

  async start(): Promise<void> {
    this.callbacks.onStatus({ state: "connecting", detail: "Connecting to the video relay…" });
    await initJanus();
    if (!Janus.isWebrtcSupported()) {
      this.callbacks.onStatus({ state: "error", detail: "This browser does not support WebRTC." });
      return;
    }
    this.janus = new Janus({
      server: this.info.server,
      iceServers: rtcIceServers(this.info.ice_servers),
      success: () => this.attachPublisher(),
      error: (error: unknown) => this.fail(`Video relay: ${String(error)}`),
      destroyed: () => undefined,
    });
  }

  private fail(detail: string): void {
    if (!this.stopped) this.callbacks.onStatus({ state: "error", detail });
  }

  /** A VideoRoom join of ``ptype`` with the room, its token, and ``fields``. */
  private joinRequest(ptype: "publisher" | "subscriber", fields: Record<string, unknown>): JanusJS.PluginMessage["message"] {
    const join: Record<string, unknown> = { request: "join", ptype, room: this.info.room, ...fields };
    if (this.info.token) join.token = this.info.token;
    return join as JanusJS.PluginMessage["message"];
  }

  private emit(): void {
    const tiles: MediaTile[] = [];
    if (this.publish) {
      tiles.push({ id: this.myId ?? "local", display: this.info.display ?? this.me.display, stream: this.localStream, local: true });
    }
    for (const feed of this.feeds.values()) {
      tiles.push({ id: feed.id, display: feed.display, stream: feed.stream, local: false });
    }
    this.callbacks.onTiles(tiles);
  }

  private attachPublisher(): void {
    this.janus?.attach({
      plugin: PLUGIN,
      opaqueId: this.opaqueId,
      success: (handle) => {
        this.publisher = handle;
        const id = this.info.id ?? this.me.id;
        const display = this.info.display ?? this.me.display;
        handle.send({ message: this.joinRequest("publisher", id ? { display, id } : { display }) });
      },
      error: (error) => this.fail(`Video relay: ${error}`),
      onmessage: (message, jsep) => this.onPublisherMessage(message as VideoRoomMessage, jsep),
      onlocaltrack: (track, on) => {
        const tracks = (this.localStream?.getTracks() ?? []).filter((t) => t.id !== track.id);
        if (on) tracks.push(track);
        this.localStream = tracks.length ? new MediaStream(tracks) : null;
        this.emit();
      },
      onremotetrack: () => undefined, // the publisher handle receives nothing
      webrtcState: (up) => {
        if (up) this.callbacks.onStatus({ state: "connected", detail: "Connected to the video relay." });
      },
      oncleanup: () => {
        this.localStream = null;
        this.emit();
      },
    });
  }

  private onPublisherMessage(message: VideoRoomMessage, jsep?: JanusJS.JSEP): void {
    const event = message.videoroom;
    if (message.error) {
      this.fail(`Video relay refused: ${message.error}${message.error_code ? ` (${message.error_code})` : ""}`);
    } else if (event === "joined") {
      this.myId = message.id != null ? String(message.id) : null;
      this.privateId = message.private_id;
      this.callbacks.onStatus({ state: "connected", detail: "In the video room." });
      if (this.publish) this.publishOwnFeed();
      else this.emit();
      (message.publishers ?? []).forEach((p) => this.subscribe(p));
    } else if (event === "event") {
      (message.publishers ?? []).forEach((p) => this.subscribe(p));
      if (message.unpublished != null && message.unpublished !== "ok") this.removeFeed(String(message.unpublished));
      if (message.leaving != null && message.leaving !== "ok") this.removeFeed(String(message.leaving));
    } else if (event === "destroyed") {
      this.fail("The video room was closed.");
    }
    if (jsep && this.publisher) this.publisher.handleRemoteJsep({ jsep });
  }

  private publishOwnFeed(): void {
    const handle = this.publisher;
    if (!handle) return;
    handle.createOffer({
      tracks: [
        { type: "audio", capture: true, recv: false },
        { type: "video", capture: true, recv: false },
      ],
      success: (jsep) => {
        handle.send({ message: { request: "configure", audio: true, video: true }, jsep });
      },
      error: (error) => this.fail(`Camera/microphone: ${error instanceof Error ? error.message : String(error)}`),
    });
  }

  private subscribe(publisher: Publisher): void {
    const id = String(publisher.id);
    if (this.stopped || id === this.myId || this.feeds.has(id) || !this.janus) return;
    const feed: RemoteFeed = { id, display: publisher.display ?? id, handle: null, tracks: new Map(), stream: null };
    this.feeds.set(id, feed);
    this.emit();
    this.janus.attach({
      plugin: PLUGIN,
      opaqueId: this.opaqueId,
      success: (handle) => {
        feed.handle = handle;
        const fields: Record<string, unknown> = { streams: [{ feed: publisher.id }] };
        if (this.privateId !== undefined) fields.private_id = this.privateId;
        handle.send({ message: this.joinRequest("subscriber", fields) });
      },
      error: (error) => this.fail(`Subscribing to ${feed.display}: ${error}`),
      onmessage: (message, jsep) => {
        const m = message as VideoRoomMessage;
        if (m.error) {
          this.fail(`Subscribing to ${feed.display}: ${m.error}`);
          return;
        }
        if (jsep && feed.handle) {
          const handle = feed.handle;
          handle.createAnswer({
            jsep,
            tracks: [{ type: "data", capture: false }],
            success: (answer) => handle.send({ message: { request: "start", room: this.info.room }, jsep: answer }),
            error: (error) => this.fail(`Subscribing to ${feed.display}: ${error}`),
          });
        }
      },
      onremotetrack: (track, mid, on) => {
        if (on && track.readyState !== "ended") feed.tracks.set(mid, track);
        else feed.tracks.delete(mid);
        feed.stream = feed.tracks.size ? new MediaStream([...feed.tracks.values()]) : null;
        this.emit();
      },
      oncleanup: () => {
        feed.tracks.clear();
        feed.stream = null;
        this.emit();
      },
    });
  }

  private removeFeed(id: string): void {
    const feed = this.feeds.get(id);
    if (!feed) return;
    this.feeds.delete(id);
    feed.handle?.detach();
    this.emit();
  }

  setMicEnabled(on: boolean): void {
    if (!this.publisher) return;
    if (on) this.publisher.unmuteAudio();
    else this.publisher.muteAudio();
  }

  setCameraEnabled(on: boolean): void {
    if (!this.publisher) return;
    if (on) this.publisher.unmuteVideo();
    else this.publisher.muteVideo();
  }

  stop(): void {
    this.stopped = true;
    try {
      this.publisher?.send({ message: { request: "leave" } });
    } catch {
      /* the session may already be gone */
    }
    this.feeds.clear();
    this.janus?.destroy({ cleanupHandles: true });
    this.janus = null;
    this.publisher = null;
    this.localStream?.getTracks().forEach((t) => t.stop());
    this.localStream = null;
  }
}
