// The answer of POST /api/rooms (which also joins the creator), kept for the room page so that it
// does not join a second time. Used once.
import type { Room } from "../api/types";

const joined = new Map<string, Room>();

export function rememberJoin(room: Room): void {
  joined.set(room.id, room);
}

export function takeJoin(roomId: string): Room | undefined {
  const room = joined.get(roomId);
  joined.delete(roomId);
  return room;
}
