import { describe, expect, it } from "vitest";

import { ApiError, describeError, parseApiError, parseRetryAfter } from "./errors";

function response(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return new Response(text, { status, headers: { "Content-Type": "application/json", ...headers } });
}

describe("parseApiError", () => {
  it("reads a tier limit (403) with its limit, tier and reset time", async () => {
    const error = await parseApiError(
      response(403, {
        error: "tier_limit",
        detail: "the free tier allows 6 participants per room",
        limit: "participants_per_room",
        allowed: 6,
        tier: "free",
        current: 6,
        resets_at: "2030-01-01T12:00:00Z",
        reset_hint: "when a participant leaves",
        retry_after_s: null,
      }),
    );
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({
      status: 403,
      code: "tier_limit",
      limit: "participants_per_room",
      allowed: 6,
      tier: "free",
      current: 6,
      resetHint: "when a participant leaves",
      retryAfterS: null,
    });
    expect(error.resetsAt?.toISOString()).toBe("2030-01-01T12:00:00.000Z");
    const text = describeError(error);
    expect(text).toContain("participants_per_room");
    expect(text).toContain("free tier");
    expect(text).toContain("Resets at");
  });

  it("reads a feature that is off (allowed null)", async () => {
    const error = await parseApiError(
      response(403, { error: "tier_limit", detail: "voice cloning is not in the free tier", limit: "voice_clone", allowed: null, tier: "free" }),
    );
    expect(error.allowed).toBeNull();
    expect(describeError(error)).toContain("not included");
  });

  it("reads a rate limit (429): the body's retry_after_s wins, else the Retry-After header", async () => {
    const withBody = await parseApiError(
      response(
        429,
        { error: "rate_limited", detail: "100 requests per hour (user) used up", limit: "requests_per_hour", allowed: 100, tier: "free", retry_after_s: 42 },
        { "Retry-After": "50" },
      ),
    );
    expect(withBody).toMatchObject({ status: 429, code: "rate_limited", retryAfterS: 42 });
    expect(describeError(withBody)).toContain("Try again in 42 s");
    const headerOnly = await parseApiError(response(429, { error: "rate_limited", detail: "slow down" }, { "Retry-After": "120" }));
    expect(headerOnly.retryAfterS).toBe(120);
    expect(describeError(headerOnly)).toContain("2 min");
  });

  it("reads no capacity (503) with its pool and Retry-After", async () => {
    const error = await parseApiError(
      response(503, { error: "no_capacity", detail: "no STT capacity left", pool: "stt", retry_after_s: 60 }, { "Retry-After": "60" }),
    );
    expect(error).toMatchObject({ status: 503, code: "no_capacity", pool: "stt", retryAfterS: 60 });
    expect(describeError(error)).toMatch(/No capacity.*stt.*Try again in 60 s/);
  });

  it("reads FastAPI's 422 validation errors", async () => {
    const error = await parseApiError(
      response(422, { detail: [{ loc: ["body", "password"], msg: "String should have at least 8 characters", type: "string_too_short" }] }),
    );
    expect(error.code).toBe("validation_error");
    expect(error.detail).toBe("password: String should have at least 8 characters");
  });

  it("copes with a body that is not JSON (a proxy's error page)", async () => {
    const error = await parseApiError(
      new Response("<html><body>Bad gateway</body></html>", { status: 502, statusText: "Bad Gateway" }),
    );
    expect(error).toMatchObject({ status: 502, code: "http_502", detail: "Bad Gateway" });
  });

  it("parses Retry-After as seconds or an HTTP date", () => {
    expect(parseRetryAfter("30")).toBe(30);
    const now = Date.parse("2030-01-01T00:00:00Z");
    expect(parseRetryAfter("Tue, 01 Jan 2030 00:01:00 GMT", now)).toBe(60);
    expect(parseRetryAfter(null)).toBeNull();
    expect(parseRetryAfter("soon")).toBeNull();
  });
});
