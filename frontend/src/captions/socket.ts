// The caption WebSocket (/ws/rooms/{room}/captions?lang=xx&since=N[&audio=1]) with automatic reconnection.
//
// Audio mode (`audio: true`, the listener's "Hear translation"): the URL carries audio=1 and the socket
// also gets, per translated sentence, a `speech` JSON header then exactly one binary frame of its
// `audio_bytes` (an Ogg Opus file). Each header is paired with the next binary frame; a binary frame
// without a pending header, or of another length, is dropped and logged (`dropped` counts them).
//
// The access token goes in the `bearer` subprotocol (Sec-WebSocket-Protocol: bearer, <token>), which
// keeps it out of URLs and access logs; the gateway also takes ?token=. Every (re)connection passes
// `since` = the last final's room_seq, so the gateway replays the finals missed while disconnected.
//
// Close codes (docs/asyncapi.yaml; the policy of each in closeCodes.ts): 4401 token refused → refresh
// it and reconnect; 4400 bad query, 4403 not admitted (left, lease lapsed), 4409 replaced, 4410 room
// closed → stop; 1013 try again later, 4429 too many sockets → reconnect later (from 2 s / 5 s,
// doubling); any other close (network, server restart, 1011) → reconnect after 0.5 s, 1 s, 2 s … up
// to 10 s.

import { CLOSE_CODES, closePolicy } from "./closeCodes";
import type { CaptionMessage, NoticeMessage, SpeechMessage } from "./messages";

export type SocketStatus = "connecting" | "open" | "reconnecting" | "closed";

export interface SocketState {
  status: SocketStatus;
  /** Failed connections in a row (0 when open). */
  attempt: number;
  /** When the next try starts (epoch ms), while reconnecting. */
  retryAt: number | null;
  closeCode: number | null;
  closeReason: string | null;
}

export interface WebSocketLike {
  onopen: ((ev: Event) => unknown) | null;
  onmessage: ((ev: MessageEvent) => unknown) | null;
  onclose: ((ev: CloseEvent) => unknown) | null;
  onerror: ((ev: Event) => unknown) | null;
  /** "arraybuffer" is set in audio mode (binary frames as ArrayBuffer, not Blob). */
  binaryType?: string;
  close(code?: number, reason?: string): void;
}

export type WebSocketFactory = (url: string, protocols: string[]) => WebSocketLike;

export interface CaptionSocketOptions {
  /** e.g. "ws://host:8000"; default: this page's origin. */
  wsBase?: string;
  room: string;
  lang: string;
  /** `since` of the first connection: 0 replays the room's recent finals, null starts live. */
  initialSince?: number | null;
  /** The last final's room_seq the caller has (the reducer's lastRoomSeq). */
  lastRoomSeq: () => number;
  token: () => string | null;
  /** Refresh the access token after a 4401; resolves false when the user is signed out. */
  refreshToken: () => Promise<boolean>;
  onCaption: (message: CaptionMessage) => void;
  onNotice?: (notice: NoticeMessage) => void;
  /** Ask for the translation spoken too (audio=1). */
  audio?: boolean;
  /** A speech header with its audio (one Ogg Opus file), in audio mode. */
  onSpeech?: (speech: SpeechMessage, audio: ArrayBuffer) => void;
  /** Where a dropped frame is reported (default console.warn). */
  warn?: (message: string, detail: Record<string, unknown>) => void;
  onState?: (state: SocketState) => void;
  createSocket?: WebSocketFactory;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  now?: () => number;
}

export function defaultWsBase(): string {
  if (typeof location === "undefined") return "ws://127.0.0.1:8000";
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}`;
}

export function captionsUrl(wsBase: string, room: string, lang: string, since: number | null, audio = false): string {
  const params = new URLSearchParams({ lang });
  if (since !== null) params.set("since", String(since));
  if (audio) params.set("audio", "1");
  return `${wsBase}/ws/rooms/${encodeURIComponent(room)}/captions?${params}`;
}

export class CaptionSocket {
  private socket: WebSocketLike | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = true;
  private connectedOnce = false;
  private authFailures = 0;
  private lang: string;
  private audio: boolean;
  /** The speech header waiting for its binary frame. */
  private pendingSpeech: SpeechMessage | null = null;
  /** Speech frames dropped (a binary frame without a header, a length mismatch, a header never followed). */
  dropped = 0;
  private state: SocketState = { status: "closed", attempt: 0, retryAt: null, closeCode: null, closeReason: null };
  private readonly createSocket: WebSocketFactory;
  private readonly now: () => number;

  constructor(private readonly options: CaptionSocketOptions) {
    this.lang = options.lang;
    this.audio = options.audio ?? false;
    this.createSocket = options.createSocket ?? ((url, protocols) => new WebSocket(url, protocols));
    this.now = options.now ?? Date.now;
  }

  get language(): string {
    return this.lang;
  }

  get current(): SocketState {
    return this.state;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  /** Listen in another language: reconnect now, asking for the finals after the last one seen. */
  setLanguage(lang: string): void {
    if (lang === this.lang) return;
    this.lang = lang;
    if (!this.stopped) this.restart();
  }

  get audioMode(): boolean {
    return this.audio;
  }

  /** Hear the translation spoken (or stop): reconnect now with or without audio=1. */
  setAudio(on: boolean): void {
    if (on === this.audio) return;
    this.audio = on;
    if (!this.stopped) this.restart();
  }

  /** Skip the wait (the banner's "Reconnect now"); also revives a stopped socket. */
  reconnectNow(): void {
    this.stopped = false;
    this.restart();
  }

  stop(): void {
    this.stopped = true;
    this.clearTimer();
    this.detach()?.close(1000, "bye");
    this.update({ status: "closed", retryAt: null });
  }

  private restart(): void {
    this.clearTimer();
    this.detach()?.close(1000, "reconnecting");
    this.connect();
  }

  private update(patch: Partial<SocketState>): void {
    this.state = { ...this.state, ...patch };
    this.options.onState?.(this.state);
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private detach(): WebSocketLike | null {
    const socket = this.socket;
    if (socket) socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
    this.socket = null;
    this.pendingSpeech = null; // its binary frame, if any, went with the old socket
    return socket;
  }

  private since(): number | null {
    if (!this.connectedOnce) return this.options.initialSince === undefined ? 0 : this.options.initialSince;
    return this.options.lastRoomSeq();
  }

  private connect(): void {
    const token = this.options.token();
    if (!token) {
      this.update({ status: "closed", closeCode: 4401, closeReason: "Signed out" });
      return;
    }
    const url = captionsUrl(this.options.wsBase ?? defaultWsBase(), this.options.room, this.lang, this.since(), this.audio);
    this.update({ status: this.state.attempt > 0 ? "reconnecting" : "connecting", retryAt: null });
    let socket: WebSocketLike;
    try {
      socket = this.createSocket(url, ["bearer", token]);
    } catch {
      this.scheduleRetry(1006, "could not open the socket");
      return;
    }
    this.socket = socket;
    if (this.audio) socket.binaryType = "arraybuffer";
    socket.onopen = () => {
      this.connectedOnce = true; // from now on, `since` is the last final seen
      this.update({ status: "open", attempt: 0, closeCode: null, closeReason: null });
    };
    socket.onmessage = (event: MessageEvent) => this.receive(event.data);
    socket.onerror = () => undefined; // a close event follows
    socket.onclose = (event: CloseEvent) => {
      this.detach();
      this.closed(event.code, event.reason);
    };
  }

  private drop(reason: string, detail: Record<string, unknown>): void {
    this.dropped += 1;
    (this.options.warn ?? ((m, d) => console.warn(m, d)))(`speech frame dropped: ${reason}`, { ...detail, dropped: this.dropped });
  }

  private receiveBinary(data: ArrayBuffer): void {
    const header = this.pendingSpeech;
    this.pendingSpeech = null;
    if (!header) this.drop("no speech header before it", { bytes: data.byteLength });
    else if (data.byteLength !== header.audio_bytes) {
      this.drop("length differs from audio_bytes", { segment: header.segment_id, bytes: data.byteLength, audio_bytes: header.audio_bytes });
    } else this.options.onSpeech?.(header, data);
  }

  private receive(data: unknown): void {
    if (data instanceof ArrayBuffer) {
      this.receiveBinary(data);
      return;
    }
    if (typeof data !== "string") {
      this.drop("not an ArrayBuffer", { kind: Object.prototype.toString.call(data) });
      return;
    }
    let message: { type?: string };
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (message.type === "speech" || message.type === "cloned_audio_ready") {
      if (this.pendingSpeech) this.drop("header without its audio", { segment: this.pendingSpeech.segment_id });
      this.pendingSpeech = message as SpeechMessage;
    } else if (message.type === "notice") this.options.onNotice?.(message as NoticeMessage);
    else if (message.type === "partial" || message.type === "final" || message.type === "retract") {
      this.authFailures = 0;
      this.options.onCaption(message as CaptionMessage);
    }
  }

  private closed(code: number, reason: string): void {
    if (this.stopped) return;
    const policy = closePolicy(code);
    if (policy === "stop") {
      this.stopped = true;
      this.update({ status: "closed", retryAt: null, closeCode: code, closeReason: reason || null });
      return;
    }
    if (policy === "refresh") {
      this.authFailures += 1;
      if (this.authFailures > 2) {
        this.stopped = true;
        this.update({ status: "closed", closeCode: code, closeReason: reason || "Sign in again" });
        return;
      }
      this.update({ status: "reconnecting", attempt: this.state.attempt + 1, closeCode: code, closeReason: reason });
      this.options.refreshToken().then(
        (ok) => {
          if (this.stopped) return;
          if (ok) this.connect();
          else {
            this.stopped = true;
            this.update({ status: "closed", closeCode: code, closeReason: "Signed out" });
          }
        },
        () => this.scheduleRetry(code, reason),
      );
      return;
    }
    this.scheduleRetry(code, reason);
  }

  private scheduleRetry(code: number, reason: string): void {
    const attempt = this.state.attempt + 1;
    const later = closePolicy(code) === "later" ? CLOSE_CODES[code] : undefined;
    const initial = later?.firstDelayMs ?? this.options.initialBackoffMs ?? 500;
    const max = later?.maxDelayMs ?? this.options.maxBackoffMs ?? 10_000;
    const delay = Math.min(max, initial * 2 ** (attempt - 1));
    this.clearTimer();
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.stopped) this.connect();
    }, delay);
    this.update({ status: "reconnecting", attempt, retryAt: this.now() + delay, closeCode: code, closeReason: reason || null });
  }
}
