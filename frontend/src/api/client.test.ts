import { describe, expect, it, vi } from "vitest";

import { ApiClient } from "./client";
import { ApiError } from "./errors";
import { STORAGE_KEY, TokenStore, type StorageLike } from "./tokens";

class MemoryStorage implements StorageLike {
  data = new Map<string, string>();
  getItem(key: string) {
    return this.data.get(key) ?? null;
  }
  setItem(key: string, value: string) {
    this.data.set(key, value);
  }
  removeItem(key: string) {
    this.data.delete(key);
  }
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });

const pair = (n: number) => ({
  access_token: `access-${n}`,
  refresh_token: `refresh-${n}`,
  token_type: "bearer",
  expires_in: 900,
  user_id: "u1",
});

interface Call {
  url: string;
  method: string;
  auth: string | null;
  body: unknown;
}

/** A fake gateway: `handler` answers each request; every request is recorded. */
function client(handler: (call: Call) => Response | Promise<Response>, storage = new MemoryStorage()) {
  const calls: Call[] = [];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const headers = (init?.headers ?? {}) as Record<string, string>;
    const call = {
      url: String(input),
      method: init?.method ?? "GET",
      auth: headers.Authorization ?? null,
      body: init?.body ? JSON.parse(String(init.body)) : undefined,
    };
    calls.push(call);
    return handler(call);
  });
  const onSignedOut = vi.fn();
  const tokens = new TokenStore(storage);
  const api = new ApiClient({ fetch: fetchMock as unknown as typeof fetch, tokens, onSignedOut });
  return { api, calls, onSignedOut, storage, tokens };
}

describe("ApiClient", () => {
  it("stores the tokens of a sign-in in memory and sessionStorage, and sends the access token", async () => {
    const { api, calls, storage } = client((call) =>
      call.url === "/api/auth/login" ? json(200, pair(1)) : json(200, { user: { id: "u1" } }),
    );
    await api.login("ana@example.org", "password-123");
    expect(calls[0]).toMatchObject({ method: "POST", auth: null, body: { email: "ana@example.org", password: "password-123" } });
    expect(JSON.parse(storage.getItem(STORAGE_KEY)!)).toEqual({ accessToken: "access-1", refreshToken: "refresh-1", userId: "u1" });
    await api.me();
    expect(calls[1]).toMatchObject({ url: "/api/me", auth: "Bearer access-1" });
    // a reload of the tab: a new store reads the session back
    expect(new TokenStore(storage).get()?.accessToken).toBe("access-1");
  });

  it("refreshes once on 401 and repeats the call with the new token", async () => {
    const { api, calls, tokens } = client((call) => {
      if (call.url === "/api/auth/refresh") return json(200, pair(2));
      return call.auth === "Bearer access-2" ? json(200, [{ id: "room" }]) : json(401, { error: "unauthorized", detail: "token expired" });
    });
    tokens.set({ accessToken: "access-1", refreshToken: "refresh-1", userId: "u1" });
    expect(await api.rooms()).toEqual([{ id: "room" }]);
    expect(calls.map((c) => c.url)).toEqual(["/api/rooms", "/api/auth/refresh", "/api/rooms"]);
    expect(calls[1].body).toEqual({ refresh_token: "refresh-1" });
    expect(tokens.get()).toMatchObject({ accessToken: "access-2", refreshToken: "refresh-2" });
  });

  it("makes one refresh request for concurrent 401s (a refresh token works once)", async () => {
    let refreshes = 0;
    const { api, tokens } = client(async (call) => {
      if (call.url === "/api/auth/refresh") {
        refreshes += 1;
        await new Promise((r) => setTimeout(r, 5));
        return json(200, pair(2));
      }
      return call.auth === "Bearer access-2" ? json(200, { ok: call.url }) : json(401, { error: "unauthorized", detail: "expired" });
    });
    tokens.set({ accessToken: "access-1", refreshToken: "refresh-1", userId: "u1" });
    const results = await Promise.all([api.me(), api.rooms(), api.room("r1")]);
    expect(refreshes).toBe(1);
    expect(results).toEqual([{ ok: "/api/me" }, { ok: "/api/rooms" }, { ok: "/api/rooms/r1" }]);
  });

  it("signs out when the refresh token is refused, and throws the 401", async () => {
    const { api, onSignedOut, tokens, storage } = client((call) =>
      call.url === "/api/auth/refresh"
        ? json(401, { error: "unauthorized", detail: "refresh token reused: every session of this account is revoked" })
        : json(401, { error: "unauthorized", detail: "token expired" }),
    );
    tokens.set({ accessToken: "access-1", refreshToken: "refresh-1", userId: "u1" });
    await expect(api.me()).rejects.toMatchObject({ status: 401, code: "unauthorized" });
    expect(tokens.get()).toBeNull();
    expect(storage.getItem(STORAGE_KEY)).toBeNull();
    expect(onSignedOut).toHaveBeenCalledWith(expect.stringContaining("refresh token reused"));
  });

  it("asks for the language catalogue once (again only after a failure)", async () => {
    let fail = true;
    const { api, calls } = client(() => {
      if (fail) {
        fail = false;
        return json(503, { error: "unavailable", detail: "busy" });
      }
      return json(200, [{ language: "en", stt_model: "tiny.en", targets: [] }]);
    });
    await expect(api.languages()).rejects.toMatchObject({ status: 503 });
    expect(await api.languages()).toHaveLength(1);
    await api.languages();
    expect(calls.map((c) => [c.url, c.auth])).toEqual([["/api/languages", null], ["/api/languages", null]]);
  });

  it("sends the spoken language when joining or creating a room", async () => {
    const { api, calls, tokens } = client(() => json(200, { id: "r1" }));
    tokens.set({ accessToken: "access-1", refreshToken: "refresh-1", userId: "u1" });
    await api.joinRoom("r1", false, "auto");
    await api.createRoom("Sync", false, "es");
    await api.joinRoom("r1", true, null);
    await api.createRoom("Pro sync", false, "en", true);
    expect(calls.map((c) => c.body)).toEqual([
      { listen_only: false, spoken_language: "auto" },
      { name: "Sync", listen_only: false, spoken_language: "es" },
      { listen_only: true },
      { name: "Pro sync", listen_only: false, spoken_language: "en", diarization: true },
    ]);
  });

  it("does not try to refresh a failed sign-in", async () => {
    const { api, calls } = client(() => json(401, { error: "unauthorized", detail: "wrong e-mail or password" }));
    await expect(api.login("a@b.co", "nope-nope")).rejects.toMatchObject({ status: 401, detail: "wrong e-mail or password" });
    expect(calls).toHaveLength(1);
  });

  it("keeps the session when the refresh itself is rate limited", async () => {
    const { api, tokens, onSignedOut } = client((call) =>
      call.url === "/api/auth/refresh"
        ? json(429, { error: "rate_limited", detail: "used up", limit: "ip_requests_per_hour", retry_after_s: 30 }, { "Retry-After": "30" })
        : json(401, { error: "unauthorized", detail: "token expired" }),
    );
    tokens.set({ accessToken: "access-1", refreshToken: "refresh-1", userId: "u1" });
    await expect(api.me()).rejects.toMatchObject({ status: 429, retryAfterS: 30 });
    expect(tokens.get()?.refreshToken).toBe("refresh-1");
    expect(onSignedOut).not.toHaveBeenCalled();
  });

  it("turns API error bodies into ApiError (403 tier limit on create, 503 on join)", async () => {
    const { api, tokens } = client((call) =>
      call.url === "/api/rooms"
        ? json(403, { error: "tier_limit", detail: "2 open rooms at a time", limit: "concurrent_rooms", allowed: 2, tier: "free", current: 2 })
        : json(503, { error: "no_capacity", detail: "no STT capacity left", pool: "stt", retry_after_s: 60 }, { "Retry-After": "60" }),
    );
    tokens.set({ accessToken: "a", refreshToken: "r", userId: "u1" });
    const created = await api.createRoom("Sync").catch((e) => e);
    expect(created).toBeInstanceOf(ApiError);
    expect(created).toMatchObject({ status: 403, limit: "concurrent_rooms", allowed: 2, current: 2 });
    await expect(api.joinRoom("r1", true)).rejects.toMatchObject({ status: 503, pool: "stt", retryAfterS: 60 });
  });

  it("reports a network failure as ApiError status 0", async () => {
    const { api } = client(() => {
      throw new TypeError("Failed to fetch");
    });
    await expect(api.tiers()).rejects.toMatchObject({ status: 0, code: "network" });
  });

  it("downloads a transcript export with its file name", async () => {
    const { api, calls, tokens } = client(
      () =>
        new Response("1\n00:00:00,000 --> 00:00:01,000\nHola.\n", {
          status: 200,
          headers: { "Content-Type": "application/x-subrip", "Content-Disposition": 'attachment; filename="transcript-r1.es.srt"' },
        }),
    );
    tokens.set({ accessToken: "a", refreshToken: "r", userId: "u1" });
    const file = await api.exportTranscript("r1", "srt", "es");
    expect(calls[0].url).toBe("/api/rooms/r1/transcript/export?format=srt&lang=es");
    expect(file.filename).toBe("transcript-r1.es.srt");
    expect(await file.blob.text()).toContain("Hola.");
    await api.exportTranscript("r1", "txt", null);
    expect(calls[1].url).toBe("/api/rooms/r1/transcript/export?format=txt");
  });
});
