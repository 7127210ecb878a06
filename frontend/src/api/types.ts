// The gateway's HTTP API bodies: aliases of the types openapi-typescript generates from its OpenAPI
// document (schema.d.ts from frontend/openapi.json; `make api-types` regenerates both). Write no API
// shape by hand here: a backend change then shows up as a type error in `make frontend`.
// The caption socket's messages are in ../captions/messages.ts.

import type { components } from "./schema";

type Schemas = components["schemas"];

export type TokenPair = Schemas["TokenPair"];
export type Limits = Schemas["LimitsOut"];
export type Features = Schemas["FeaturesOut"];
export type Tier = Schemas["TierOut"];
export type Me = Schemas["Me"];
export type Room = Schemas["RoomOut"];
export type ExportFormat = Schemas["ExportFormat"];
/** A voice sample of the cloned voice (``speaker_check``: pending until the background check ran). */
export type VoiceSample = Schemas["VoiceSampleOut"];

/** GET /api/languages: a spoken language, its STT model, and the caption languages its routes reach. */
export type SourceLanguage = Schemas["SourceLanguageOut"];
export type LanguageRoute = Schemas["TargetOut"];

/**
 * What a browser needs to enter the room's Janus VideoRoom (``janus`` in the create and join answers),
 * ``ice_servers`` included: STUN/TURN with time-limited credentials for participants behind NAT.
 */
export type JanusJoinInfo = Schemas["JanusJoinOut"];
export type IceServer = Schemas["IceServerOut"];

/**
 * Request bodies. openapi-typescript makes a field with a default required (right for answers, which
 * always carry it), so bodies that leave defaulted fields out are checked as ``Partial<…>``.
 */
export type Register = Schemas["Register"];
export type Login = Schemas["Login"];
export type RefreshRequest = Schemas["RefreshRequest"];
export type CreateRoom = Schemas["CreateRoom"];
export type JoinRoom = Schemas["JoinRoom"];

/** Error bodies: JSON ``{error, detail}``, to which tier limits and a full pool add fields. */
export type LimitErrorBody = Schemas["LimitErrorBody"];
export type CapacityErrorBody = Schemas["CapacityErrorBody"];
/** A refused document upload: ``reason`` says why (too_large, unsupported_type, corrupt, encrypted …). */
export type DocumentErrorBody = Schemas["DocumentErrorBody"];

/** A room's document (Pro: its terms bias the room's captions); ``index_status`` pending → indexed/failed. */
export type RoomDocument = Schemas["RoomDocumentOut"];
