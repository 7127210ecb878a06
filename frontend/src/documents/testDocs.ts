// A room document as the API answers it, for the documents tests.
import type { RoomDocument } from "../api/types";

export function doc(name: string, extra: Partial<RoomDocument> = {}): RoomDocument {
  return {
    id: `id-${name}`,
    room_id: "r1",
    name,
    content_type: "text/markdown",
    size_bytes: 1200,
    terms: ["Gutenberg", "Mainz"],
    chunk_count: 0,
    index_status: "pending",
    created_at: "2026-12-06T10:00:00Z",
    ...extra,
  };
}
