// The HTTP API client: JSON in and out, Authorization: Bearer, and one refresh on 401.
//
// When a call gets 401 and a refresh token is held, the client trades it at /api/auth/refresh (one
// request however many calls failed at once: the refresh token works only once) and repeats the
// call with the new access token. A refused refresh signs the user out (onSignedOut).

import { ApiError, parseApiError } from "./errors";
import { TokenStore, type Tokens } from "./tokens";
import type {
  CreateRoom,
  ExportFormat,
  JoinRoom,
  Login,
  Me,
  RefreshRequest,
  Register,
  Room,
  RoomDocument,
  SourceLanguage,
  Tier,
  TokenPair,
  VoiceSample,
} from "./types";

export interface ApiClientOptions {
  baseUrl?: string;
  fetch?: typeof fetch;
  tokens?: TokenStore;
  onSignedOut?: (reason: string) => void;
}

interface RequestOptions {
  body?: unknown;
  /** A file sent as is (not JSON), with its own type or application/octet-stream. */
  file?: Blob;
  auth?: boolean;
  query?: Record<string, string | number | undefined | null>;
}

export interface Download {
  blob: Blob;
  filename: string;
}

function spoken(language?: string | null): { spoken_language?: string } {
  return language ? { spoken_language: language } : {};
}

function toTokens(pair: TokenPair): Tokens {
  return { accessToken: pair.access_token, refreshToken: pair.refresh_token, userId: pair.user_id };
}

export class ApiClient {
  readonly tokens: TokenStore;
  private readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;
  private readonly onSignedOut: (reason: string) => void;
  private refreshing: Promise<boolean> | null = null;
  private catalogue: Promise<SourceLanguage[]> | null = null;

  constructor(options: ApiClientOptions = {}) {
    this.baseUrl = options.baseUrl ?? "";
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.tokens = options.tokens ?? new TokenStore();
    this.onSignedOut = options.onSignedOut ?? (() => undefined);
  }

  private url(path: string, query?: RequestOptions["query"]): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
    }
    const qs = params.toString();
    return `${this.baseUrl}${path}${qs ? `?${qs}` : ""}`;
  }

  private async send(method: string, path: string, options: RequestOptions, token: string | null): Promise<Response> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    if (options.file) headers["Content-Type"] = options.file.type || "application/octet-stream";
    if (token) headers.Authorization = `Bearer ${token}`;
    try {
      return await this.fetchImpl(this.url(path, options.query), {
        method,
        headers,
        body: options.file ?? (options.body !== undefined ? JSON.stringify(options.body) : undefined),
      });
    } catch (error) {
      throw new ApiError(0, "network", `Cannot reach the server (${error instanceof Error ? error.message : error})`);
    }
  }

  /** The Response of a call (2xx), refreshing the access token once on 401. */
  async fetchOk(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const auth = options.auth ?? true;
    const token = auth ? this.tokens.get()?.accessToken ?? null : null;
    let response = await this.send(method, path, options, token);
    if (response.status === 401 && auth && token && (await this.refresh(token))) {
      response = await this.send(method, path, options, this.tokens.get()?.accessToken ?? null);
    }
    if (!response.ok) throw await parseApiError(response);
    return response;
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.fetchOk(method, path, options);
    if (response.status === 204) return undefined as T;
    return (await response.json()) as T;
  }

  /**
   * Trade the refresh token for a new pair. Resolves true when a fresh access token is held (also
   * when another call refreshed since ``staleAccessToken`` was used), false when the session is
   * gone (the user is signed out); rejects with an ApiError on a transient failure (429, 5xx, network).
   */
  refresh(staleAccessToken?: string): Promise<boolean> {
    const current = this.tokens.get();
    if (!current) return Promise.resolve(false);
    if (staleAccessToken && current.accessToken !== staleAccessToken) return Promise.resolve(true);
    if (!this.refreshing) {
      this.refreshing = this.doRefresh(current.refreshToken).finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  private async doRefresh(refreshToken: string): Promise<boolean> {
    const body = { refresh_token: refreshToken } satisfies RefreshRequest;
    const response = await this.send("POST", "/api/auth/refresh", { body }, null);
    if (response.ok) {
      this.tokens.set(toTokens((await response.json()) as TokenPair));
      return true;
    }
    const error = await parseApiError(response);
    if (response.status === 401 || response.status === 400 || response.status === 422) {
      this.tokens.clear();
      this.onSignedOut(`Your session ended: ${error.detail}`);
      return false;
    }
    throw error;
  }

  // --- accounts ---

  async register(email: string, password: string, displayName: string): Promise<Tokens> {
    const pair = await this.request<TokenPair>("POST", "/api/auth/register", {
      auth: false,
      body: { email, password, display_name: displayName } satisfies Register,
    });
    this.tokens.set(toTokens(pair));
    return toTokens(pair);
  }

  async login(email: string, password: string): Promise<Tokens> {
    const pair = await this.request<TokenPair>("POST", "/api/auth/login", {
      auth: false,
      body: { email, password } satisfies Login,
    });
    this.tokens.set(toTokens(pair));
    return toTokens(pair);
  }

  /** Revoke the refresh token (best effort) and forget both tokens. */
  async logout(): Promise<void> {
    const current = this.tokens.get();
    this.tokens.clear();
    if (current) {
      const body = { refresh_token: current.refreshToken } satisfies RefreshRequest;
      await this.send("POST", "/api/auth/logout", { body }, null).catch(() => undefined);
    }
  }

  me(): Promise<Me> {
    return this.request<Me>("GET", "/api/me");
  }

  tiers(): Promise<Tier[]> {
    return this.request<Tier[]>("GET", "/api/tiers", { auth: false });
  }

  /** The language catalogue (public; asked once per client, again only after a failure). */
  languages(): Promise<SourceLanguage[]> {
    if (!this.catalogue) {
      this.catalogue = this.request<SourceLanguage[]>("GET", "/api/languages", { auth: false });
      this.catalogue.catch(() => {
        this.catalogue = null;
      });
    }
    return this.catalogue;
  }

  // --- rooms ---

  rooms(): Promise<Room[]> {
    return this.request<Room[]>("GET", "/api/rooms");
  }

  room(id: string): Promise<Room> {
    return this.request<Room>("GET", `/api/rooms/${encodeURIComponent(id)}`);
  }

  /** Open a room and join it; ``spokenLanguage``: what the user speaks (``auto``: identified by the
   * server; left out: the server's default); ``diarization``: label speakers sharing a microphone
   * (Pro: 403 tier limit otherwise; sent only when on). */
  createRoom(name: string, listenOnly = false, spokenLanguage?: string | null, diarization = false): Promise<Room> {
    return this.request<Room>("POST", "/api/rooms", {
      body: {
        name,
        listen_only: listenOnly,
        ...spoken(spokenLanguage),
        ...(diarization ? { diarization: true } : {}),
      } satisfies Partial<CreateRoom>,
    });
  }

  /** Join (idempotent; joining again with another ``spokenLanguage`` changes it, with a new Janus token). */
  joinRoom(id: string, listenOnly = false, spokenLanguage?: string | null): Promise<Room> {
    return this.request<Room>("POST", `/api/rooms/${encodeURIComponent(id)}/join`, {
      body: { listen_only: listenOnly, ...spoken(spokenLanguage) } satisfies Partial<JoinRoom>,
    });
  }

  leaveRoom(id: string): Promise<void> {
    return this.request<void>("POST", `/api/rooms/${encodeURIComponent(id)}/leave`);
  }

  heartbeat(id: string): Promise<void> {
    return this.request<void>("POST", `/api/rooms/${encodeURIComponent(id)}/heartbeat`);
  }

  closeRoom(id: string): Promise<Room> {
    return this.request<Room>("POST", `/api/rooms/${encodeURIComponent(id)}/close`);
  }

  // --- room documents (Pro: the room's owner only) ---

  /** The room's documents, oldest first (403: not the owner, or a tier without document_context). */
  documents(roomId: string): Promise<RoomDocument[]> {
    return this.request<RoomDocument[]>("GET", `/api/rooms/${encodeURIComponent(roomId)}/documents`);
  }

  /** Upload ``file`` (its bytes as the body; the server judges the type by the content) as ``name``.
   * Refusals: ApiError 413/415/422 (``reason``: too_large, unsupported_type, corrupt, encrypted, empty …), 409. */
  uploadDocument(roomId: string, file: Blob, name: string): Promise<RoomDocument> {
    return this.request<RoomDocument>("POST", `/api/rooms/${encodeURIComponent(roomId)}/documents`, {
      file,
      query: { name },
    });
  }

  deleteDocument(roomId: string, documentId: string): Promise<void> {
    return this.request<void>(
      "DELETE",
      `/api/rooms/${encodeURIComponent(roomId)}/documents/${encodeURIComponent(documentId)}`,
    );
  }

  // --- transcripts ---

  /** The room's transcript file (no ``lang``: each segment's original text). */
  async exportTranscript(id: string, format: ExportFormat, lang?: string | null): Promise<Download> {
    const response = await this.fetchOk("GET", `/api/rooms/${encodeURIComponent(id)}/transcript/export`, {
      query: { format, lang },
    });
    const disposition = response.headers.get("Content-Disposition") ?? "";
    const match = /filename="?([^";]+)"?/.exec(disposition);
    const filename = match?.[1] ?? `transcript-${id}.${lang || "original"}.${format}`;
    return { blob: await response.blob(), filename };
  }

  // --- voice samples (the reference recordings of the cloned voice) ---

  /** The user's voice samples, oldest first. */
  voiceSamples(): Promise<VoiceSample[]> {
    return this.request<VoiceSample[]>("GET", "/api/voice-samples");
  }

  /** Upload a recording (the body is the file itself; the server judges it by content). Refusals:
   * 403 tier limit, 413 too_large, 415 not_audio, 422 too_short/too_long/clipped/too_quiet/too_little_speech. */
  uploadVoiceSample(file: Blob, name: string, language: string): Promise<VoiceSample> {
    return this.request<VoiceSample>("POST", "/api/voice-samples", { file, query: { name, language } });
  }

  deleteVoiceSample(id: string): Promise<void> {
    return this.request<void>("DELETE", `/api/voice-samples/${encodeURIComponent(id)}`);
  }
}
