// The client's voice-sample calls: the upload sends the file itself (not JSON) with name and language in
// the query; a refusal becomes an ApiError carrying the server's sentence.
import { describe, expect, it, vi } from "vitest";

import { ApiClient } from "./client";
import { ApiError } from "./errors";
import { TokenStore, type StorageLike } from "./tokens";

const storage: StorageLike = { getItem: () => null, setItem: () => undefined, removeItem: () => undefined };

function client(answer: Response) {
  const fetchMock = vi.fn<(input: RequestInfo | URL, init?: RequestInit) => Promise<Response>>(async () => answer);
  const tokens = new TokenStore(storage);
  tokens.set({ accessToken: "a1", refreshToken: "r1", userId: "u1" });
  return { api: new ApiClient({ fetch: fetchMock as unknown as typeof fetch, tokens }), fetchMock };
}

describe("voice samples", () => {
  it("uploads the recording as the body, typed as recorded", async () => {
    const { api, fetchMock } = client(new Response(JSON.stringify({ id: "s1", speaker_check: "pending" }), { status: 201 }));
    const file = new Blob(["webm bytes"], { type: "audio/webm;codecs=opus" });
    const sample = await api.uploadVoiceSample(file, "My voice, calm", "en");
    expect(sample.speaker_check).toBe("pending");
    const [url, init] = fetchMock.mock.calls[0];
    expect(url).toBe("/api/voice-samples?name=My+voice%2C+calm&language=en");
    expect(init?.method).toBe("POST");
    expect(init?.body).toBe(file);
    expect(init?.headers).toMatchObject({ "Content-Type": "audio/webm;codecs=opus", Authorization: "Bearer a1" });
  });

  it("sends an untyped file as application/octet-stream", async () => {
    const { api, fetchMock } = client(new Response("{}", { status: 201 }));
    await api.uploadVoiceSample(new Blob(["x"]), "n", "es");
    expect(fetchMock.mock.calls[0][1]?.headers).toMatchObject({ "Content-Type": "application/octet-stream" });
  });

  it("turns a refusal into an ApiError with the server's reason", async () => {
    const body = { error: "voice_sample_refused", reason: "too_quiet", detail: "the speech is too quiet (-47 dBFS)", errors: [] };
    const { api } = client(new Response(JSON.stringify(body), { status: 422 }));
    const error = await api.uploadVoiceSample(new Blob(["x"]), "n", "en").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 422, code: "voice_sample_refused", detail: "the speech is too quiet (-47 dBFS)" });
  });

  it("lists and deletes", async () => {
    const { api, fetchMock } = client(new Response(null, { status: 204 }));
    await api.deleteVoiceSample("s 1");
    expect(fetchMock.mock.calls[0][0]).toBe("/api/voice-samples/s%201");
    expect(fetchMock.mock.calls[0][1]?.method).toBe("DELETE");
  });
});
