// The documents panel's state and upload loop against a fake gateway (the real ApiClient and errors).
import { describe, expect, it } from "vitest";

import { ApiClient } from "../api/client";
import { ApiError } from "../api/errors";
import { TokenStore, type StorageLike } from "../api/tokens";
import {
  documentsReducer,
  formatBytes,
  hasPending,
  initialDocumentsState,
  uploadFiles,
  type DocumentsAction,
  type DocumentsState,
} from "./state";
import { doc } from "./testDocs";

const memory = (): StorageLike => {
  const data = new Map<string, string>();
  return { getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v), removeItem: (k) => void data.delete(k) };
};

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

interface Sent {
  url: string;
  method: string;
  contentType: string | null;
  body: BodyInit | null | undefined;
}

function gateway(handler: (sent: Sent) => Response | Promise<Response>) {
  const sent: Sent[] = [];
  const fetchImpl = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const headers = (init?.headers ?? {}) as Record<string, string>;
    const call = { url: String(input), method: init?.method ?? "GET", contentType: headers["Content-Type"] ?? null, body: init?.body };
    sent.push(call);
    return handler(call);
  }) as typeof fetch;
  const tokens = new TokenStore(memory());
  tokens.set({ accessToken: "a", refreshToken: "r", userId: "u1" });
  return { api: new ApiClient({ fetch: fetchImpl, tokens }), sent };
}

function run(actions: DocumentsAction[], from: DocumentsState = initialDocumentsState): DocumentsState {
  return actions.reduce(documentsReducer, from);
}

describe("uploadFiles", () => {
  it("uploads every file, each as its own body; a refused one does not stop the next", async () => {
    const { api, sent } = gateway(async (call) => {
      const name = new URL(call.url, "http://x").searchParams.get("name")!;
      if (name === "photo.png") {
        return json(415, {
          error: "document_refused",
          reason: "unsupported_type",
          detail: "a PNG file: upload PDF, DOCX, plain text or Markdown (UTF-8)",
          errors: [{ loc: ["body"], msg: "a PNG file", type: "unsupported_type" }],
        });
      }
      return json(201, doc(name, { size_bytes: (call.body as Blob).size }));
    });
    const actions: DocumentsAction[] = [];
    const files = [
      new File(["# Agenda\n\nGutenberg in Mainz"], "agenda.md"),
      new File([new Uint8Array([0x89, 0x50, 0x4e, 0x47])], "photo.png"),
      new File(["Topflappen und Weidezaun"], "glossary.txt"),
    ];
    await uploadFiles(api, "r1", files, (a) => actions.push(a));

    expect(sent.map((s) => [s.method, s.url, s.contentType])).toEqual([
      ["POST", "/api/rooms/r1/documents?name=agenda.md", "application/octet-stream"],
      ["POST", "/api/rooms/r1/documents?name=photo.png", "application/octet-stream"],
      ["POST", "/api/rooms/r1/documents?name=glossary.txt", "application/octet-stream"],
    ]);
    expect(await (sent[0].body as Blob).text()).toBe("# Agenda\n\nGutenberg in Mainz");

    const state = run(actions, run([{ type: "loaded", docs: [] }]));
    expect(state.docs?.map((d) => [d.name, d.size_bytes])).toEqual([
      ["agenda.md", files[0].size],
      ["glossary.txt", files[2].size],
    ]);
    expect(state.uploads).toHaveLength(1);
    const refused = state.uploads[0];
    expect(refused).toMatchObject({ name: "photo.png", status: "refused" });
    expect(refused.error).toBeInstanceOf(ApiError);
    expect(refused.error).toMatchObject({ status: 415, reason: "unsupported_type", detail: expect.stringContaining("PNG") });
    expect(state.announcement).toBe("glossary.txt added: 2 terms, indexing");
  });

  it("reports the files still waiting while one uploads, and a network failure as that file's", async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    const { api } = gateway(async (call) => {
      if (call.url.includes("first")) {
        await held;
        throw new TypeError("Failed to fetch");
      }
      return json(201, doc("second.md"));
    });
    let state = run([{ type: "loaded", docs: [] }]);
    const done = uploadFiles(api, "r1", [new File(["a"], "first.md"), new File(["b"], "second.md")], (a) => {
      state = documentsReducer(state, a);
    });
    await Promise.resolve();
    expect(state.uploads.map((u) => [u.name, u.status])).toEqual([
      ["first.md", "uploading"],
      ["second.md", "waiting"],
    ]);
    expect(state.announcement).toBe("Uploading first.md…");
    release();
    await done;
    expect(state.uploads.map((u) => [u.name, u.status])).toEqual([["first.md", "refused"]]);
    expect(state.uploads[0].error).toMatchObject({ status: 0, code: "network" });
    expect(state.docs?.map((d) => d.name)).toEqual(["second.md"]);
  });
});

describe("documentsReducer", () => {
  it("announces a document that left pending, and forgets a deleted or dismissed one", () => {
    let state = run([{ type: "loaded", docs: [doc("a.md"), doc("b.md")] }]);
    expect(hasPending(state.docs)).toBe(true);
    state = documentsReducer(state, {
      type: "loaded",
      docs: [doc("a.md", { index_status: "indexed", chunk_count: 3 }), doc("b.md", { index_status: "failed" })],
    });
    expect(state.announcement).toBe("a.md: indexed; b.md: indexing failed");
    expect(hasPending(state.docs)).toBe(false);
    state = documentsReducer(state, { type: "deleted", id: "id-a.md", name: "a.md" });
    expect(state.docs?.map((d) => d.name)).toEqual(["b.md"]);
    expect(state.announcement).toBe("a.md deleted");
    state = run(
      [
        { type: "queued", uploads: [{ key: "k1", name: "x.zip", size: 10 }] },
        { type: "refused", key: "k1", error: new ApiError(415, "document_refused", "a ZIP archive") },
        { type: "dismiss", key: "k1" },
      ],
      state,
    );
    expect(state.uploads).toEqual([]);
  });

  it("keeps the list when a reload fails", () => {
    const state = run([
      { type: "loaded", docs: [doc("a.md")] },
      { type: "load_failed", error: new ApiError(429, "rate_limited", "used up") },
    ]);
    expect(state.docs).toHaveLength(1);
    expect(state.loadError).toMatchObject({ status: 429 });
  });
});

describe("helpers", () => {
  it("writes sizes for people", () => {
    expect([820, 14_000, 2_500_000].map(formatBytes)).toEqual(["820 B", "14 KB", "2.4 MB"]);
  });
});
