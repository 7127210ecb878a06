// A room's documents panel, without React: the list the API gives, the files being uploaded (each
// with its own refusal), the upload loop (one file after another; a refused file does not stop the
// next) and how often a list with pending documents is asked again.
//
// API: GET/POST/DELETE /api/rooms/{id}/documents (docs/documents.md): the room's owner only, on a tier
// with document_context; a document is `pending` until the indexing job has embedded it, then
// `indexed` or `failed` (its terms reach the captions from the upload on, whatever the status).

import type { ApiClient } from "../api/client";
import type { RoomDocument } from "../api/types";

/** What the file picker offers (the server still judges each file by its content). */
export const ACCEPT = ".txt,.md,.markdown,.pdf,.docx,text/plain,text/markdown,application/pdf,"
  + "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

/** A file on its way up, or refused (then ``error`` is the ApiError to show). */
export interface Upload {
  key: string;
  name: string;
  size: number;
  status: "waiting" | "uploading" | "refused";
  error: unknown;
}

export interface DocumentsState {
  /** null until the first list arrives. */
  docs: RoomDocument[] | null;
  loadError: unknown;
  uploads: Upload[];
  /** The last thing that happened, for the panel's aria-live status line. */
  announcement: string;
}

export type DocumentsAction =
  | { type: "loaded"; docs: RoomDocument[] }
  | { type: "load_failed"; error: unknown }
  | { type: "queued"; uploads: { key: string; name: string; size: number }[] }
  | { type: "uploading"; key: string }
  | { type: "uploaded"; key: string; doc: RoomDocument }
  | { type: "refused"; key: string; error: unknown }
  | { type: "dismiss"; key: string }
  | { type: "deleted"; id: string; name: string };

export const initialDocumentsState: DocumentsState = { docs: null, loadError: null, uploads: [], announcement: "" };

function indexWord(status: RoomDocument["index_status"]): string {
  return status === "indexed" ? "indexed" : status === "failed" ? "indexing failed" : "indexing";
}

export function documentsReducer(state: DocumentsState, action: DocumentsAction): DocumentsState {
  switch (action.type) {
    case "loaded": {
      const before = new Map((state.docs ?? []).map((d) => [d.id, d.index_status]));
      const changed = action.docs.filter((d) => before.get(d.id) === "pending" && d.index_status !== "pending");
      const announcement = changed.length
        ? changed.map((d) => `${d.name}: ${indexWord(d.index_status)}`).join("; ")
        : state.announcement;
      return { ...state, docs: action.docs, loadError: null, announcement };
    }
    case "load_failed":
      return { ...state, loadError: action.error };
    case "queued":
      return {
        ...state,
        uploads: [...state.uploads, ...action.uploads.map((u) => ({ ...u, status: "waiting" as const, error: null }))],
      };
    case "uploading":
      return {
        ...state,
        uploads: state.uploads.map((u) => (u.key === action.key ? { ...u, status: "uploading" } : u)),
        announcement: `Uploading ${state.uploads.find((u) => u.key === action.key)?.name ?? "a document"}…`,
      };
    case "uploaded": {
      const docs = (state.docs ?? []).filter((d) => d.id !== action.doc.id);
      const terms = action.doc.terms.length;
      return {
        ...state,
        docs: [...docs, action.doc],
        uploads: state.uploads.filter((u) => u.key !== action.key),
        announcement: `${action.doc.name} added: ${terms} ${terms === 1 ? "term" : "terms"}, ${indexWord(action.doc.index_status)}`,
      };
    }
    case "refused": {
      const name = state.uploads.find((u) => u.key === action.key)?.name ?? "A document";
      return {
        ...state,
        uploads: state.uploads.map((u) => (u.key === action.key ? { ...u, status: "refused", error: action.error } : u)),
        announcement: `${name} was not added`,
      };
    }
    case "dismiss":
      return { ...state, uploads: state.uploads.filter((u) => u.key !== action.key) };
    case "deleted":
      return {
        ...state,
        docs: (state.docs ?? []).filter((d) => d.id !== action.id),
        announcement: `${action.name} deleted`,
      };
  }
}

let nextKey = 0;

/**
 * Upload ``files`` one after another (the server takes one upload per room at a time), each reported
 * through ``dispatch``: queued, uploading, then uploaded or refused. A refusal (413, 415, 422, 409, a
 * network failure) is that file's; the next file is uploaded all the same.
 */
export async function uploadFiles(
  api: ApiClient,
  roomId: string,
  files: readonly File[],
  dispatch: (action: DocumentsAction) => void,
): Promise<void> {
  const queued = files.map((file) => ({ key: `upload-${++nextKey}`, name: file.name, size: file.size, file }));
  dispatch({ type: "queued", uploads: queued.map(({ key, name, size }) => ({ key, name, size })) });
  for (const { key, name, file } of queued) {
    dispatch({ type: "uploading", key });
    try {
      dispatch({ type: "uploaded", key, doc: await api.uploadDocument(roomId, file, name) });
    } catch (error) {
      dispatch({ type: "refused", key, error });
    }
  }
}

export function hasPending(docs: RoomDocument[] | null): boolean {
  return !!docs?.some((d) => d.index_status === "pending");
}

/** "820 B", "14 KB", "2.4 MB". */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}
