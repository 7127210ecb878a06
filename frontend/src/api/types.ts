// Bodies of the gateway's HTTP API and caption socket (services/babelroom/api, bus/schemas.py).

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number;
  user_id: string;
}

export interface Limits {
  room_minutes: number | null;
  participants_per_room: number | null;
  concurrent_rooms: number | null;
  history_days: number | null;
  requests_per_hour: number | null;
  voice_samples: number | null;
  vocabulary_terms: number | null;
}

export interface Features {
  quick_audio: boolean;
  voice_clone: boolean;
  diarization: boolean;
  document_context: boolean;
}

export interface Tier {
  name: string;
  rank: number;
  custom: boolean;
  limits: Limits;
  features: Features;
}

export interface User {
  id: string;
  email: string;
  display_name: string;
  role: string;
  tier_name: string;
  organisation_id: string | null;
  disabled: boolean;
  created_at: string;
}

export interface Me {
  user: User;
  effective: { tier: string; limits: Limits; features: Features };
  usage: { open_rooms: number; voice_samples: number; vocabulary_terms: number };
}

export interface Participant {
  user_id: string;
  display_name: string;
  speaker: boolean;
  joined_at: string;
}

/**
 * What a browser needs to enter the room's Janus VideoRoom. The gateway does not send this yet
 * (see docs/ARCHITECTURE.md, "Web app"): the room page then shows only the local camera.
 */
export interface JanusJoinInfo {
  /** Janus API URL(s) as the browser reaches them, e.g. "wss://host/janus-ws" or "/janus". */
  server: string | string[];
  /** The VideoRoom room id (string ids: the stack runs VideoRoom with string_ids). */
  room: string;
  /** The join token the room's `allowed` list holds for this user. */
  token?: string | null;
  /** The publisher id to join with (the audio tap maps it to the speaker); default: the user id. */
  id?: string | null;
  /** The VideoRoom display name; default: the user's display name. */
  display?: string | null;
  pin?: string | null;
  ice_servers?: RTCIceServer[] | null;
}

export interface Room {
  id: string;
  name: string;
  owner_id: string;
  status: string;
  created_at: string;
  expires_at: string | null;
  closed_at: string | null;
  close_reason: string | null;
  participants: Participant[];
  audio_ws: string;
  captions_ws: string;
  janus?: JanusJoinInfo | null;
}

export type CaptionType = "partial" | "final" | "retract";

export interface CaptionMessage {
  v?: number;
  type: CaptionType;
  room: string;
  speaker: string;
  speaker_name: string;
  language: string;
  segment_id: string;
  seq: number;
  room_seq: number;
  audio_start_ms: number;
  audio_end_ms: number;
  text: string;
  translation: { language: string; text: string; backend: string };
  timings?: Record<string, number>;
  stages_ms?: Record<string, number>;
}

export type NoticeCode = "room_expiring" | "room_closed" | "participant_left";

export interface NoticeMessage {
  type: "notice";
  room: string;
  code: NoticeCode;
  message: string;
  reason?: string | null;
  user?: string | null;
  closes_at_ms?: number | null;
  at_ms: number;
}

export type ExportFormat = "srt" | "vtt" | "txt" | "json";
