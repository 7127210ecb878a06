// The caption socket's JSON text frames (/ws/rooms/{room}/captions): aliases of the types
// openapi-typescript generates from the Python models babelroom.bus.schemas.Caption, Notice and SpeechAudio
// (../api/socket-messages.d.ts from frontend/socket-messages.json; `make api-types` regenerates both).
// OpenAPI does not describe sockets, so these come from their own schema document.

import type { components } from "../api/socket-messages";

type Schemas = components["schemas"];

/**
 * A caption in the listener's language: ``partial`` (replaced in place), ``final`` or ``retract``.
 * ``language_detected``: the server identified ``language`` itself (the speaker joined with
 * ``spoken_language: "auto"``).
 */
export type CaptionMessage = Schemas["Caption"];

/** ``translation.backend`` of a caption whose pair has no translation installed (the text is the original). */
export const NO_ROUTE = "no_route";
/** ``translation.backend`` when every translator failed (the text is the original). */
export const UNAVAILABLE = "unavailable";
export type CaptionType = CaptionMessage["type"];

/** A room event: ``room_expiring`` (at ``closes_at_ms``), ``room_closed``, ``participant_left``;
 * ``history_lost`` (caption sockets): captions the client missed are gone (``reason``: ``store_reset``,
 * ``stream_gone``, ``trimmed``); after ``store_reset`` the room_seq numbering restarts. */
export type NoticeMessage = Schemas["Notice"];
export type NoticeCode = NoticeMessage["code"];

/**
 * The header of one translated sentence spoken (``type`` ``speech``), sent on a caption socket opened with
 * ``audio=1``; the very next binary frame is its audio: one Ogg Opus file of ``audio_bytes`` bytes
 * (48 kHz mono). ``speaker`` is the speaker's user id (their Janus publisher id); ``seq`` orders their
 * sentences.
 */
export type SpeechMessage = Schemas["SpeechAudio"];
