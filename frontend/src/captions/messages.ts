// The caption socket's JSON text frames (/ws/rooms/{room}/captions): aliases of the types
// openapi-typescript generates from the Python models babelroom.bus.schemas.Caption and Notice
// (../api/socket-messages.d.ts from frontend/socket-messages.json; `make api-types` regenerates both).
// OpenAPI does not describe sockets, so these come from their own schema document.

import type { components } from "../api/socket-messages";

type Schemas = components["schemas"];

/** A caption in the listener's language: ``partial`` (replaced in place), ``final`` or ``retract``. */
export type CaptionMessage = Schemas["Caption"];
export type CaptionType = CaptionMessage["type"];

/** A room event: ``room_expiring`` (at ``closes_at_ms``), ``room_closed``, ``participant_left``. */
export type NoticeMessage = Schemas["Notice"];
export type NoticeCode = NoticeMessage["code"];
