// The caption panel's state: one line per segment, in the order segments first appeared.
//
// - partial: replaces the segment's line in place (its text grows and changes while the speaker talks);
//   a partial that arrives after the segment's final is stale and ignored;
// - final: replaces the partial in place, or is appended; a final seen again (the replay after a
//   reconnect, `since=`) replaces itself, so nothing is shown twice;
// - retract: the segment was not speech after all: its line goes.
// `lastRoomSeq` is the highest room_seq of any final: what a reconnecting socket passes as `since`.
// A `history_lost` notice (captions missed are gone; after a store reset room_seq restarts from 1)
// resets it to 0, so the next reconnection asks for what the server holds now; the lines stay.
// - speakers: a `speakers_updated` notice (diarization, rooms with it on) labels finals inside one
//   participant's audio ("Speaker 2") by segment id: lines already shown are relabelled (a later notice
//   may change a label), and a label that arrives before its line is kept for it (`labels`, the last
//   MAX_LABELS segments).

import type { CaptionMessage, NoticeMessage } from "./messages";

export interface CaptionLine {
  segmentId: string;
  type: "partial" | "final";
  speaker: string;
  speakerName: string;
  /** The language of `text` (the listener's). */
  lang: string;
  text: string;
  /** What the speaker said, in their language. */
  original: string;
  originalLang: string;
  /** The server found `originalLang` itself (the speaker chose auto-detect). */
  languageDetected: boolean;
  /** translation.backend: the route (`apertium`, `source` …), or `no_route` / `unavailable` when
   * `text` is the untranslated original. */
  backend: string;
  roomSeq: number;
  audioStartMs: number;
  /** Who spoke inside the participant's audio (diarization): "Speaker 2"; null: not labelled (yet). */
  speakerLabel: string | null;
}

export interface CaptionState {
  lines: CaptionLine[];
  lastRoomSeq: number;
  /** segment id → speaker label, from `speakers_updated` notices (insertion order: oldest first). */
  labels: Record<string, string>;
}

export type CaptionAction =
  | { type: "message"; message: CaptionMessage }
  | { type: "clear" }
  | { type: "history_lost" }
  | { type: "speakers"; notice: NoticeMessage };

/** Lines kept; older ones drop off the top (the full transcript is in the export). */
export const MAX_LINES = 500;

/** Speaker labels remembered for lines not shown yet (or no longer). */
export const MAX_LABELS = 2 * MAX_LINES;

export const initialCaptionState: CaptionState = { lines: [], lastRoomSeq: 0, labels: {} };

function lineOf(message: CaptionMessage, type: "partial" | "final", labels: Record<string, string>): CaptionLine {
  return {
    segmentId: message.segment_id,
    type,
    speaker: message.speaker,
    speakerName: message.speaker_name,
    lang: message.translation?.language ?? message.language,
    text: message.translation?.text ?? message.text,
    original: message.text,
    originalLang: message.language,
    languageDetected: message.language_detected === true,
    backend: message.translation?.backend ?? "source",
    roomSeq: message.room_seq,
    audioStartMs: message.audio_start_ms,
    speakerLabel: labels[message.segment_id] ?? null,
  };
}

/** Apply a `speakers_updated` notice: remember its labels and relabel the lines it names. */
function relabel(state: CaptionState, notice: NoticeMessage): CaptionState {
  const speakers = notice.speakers ?? [];
  if (notice.code !== "speakers_updated" || speakers.length === 0) return state;
  const labels = { ...state.labels };
  for (const s of speakers) {
    delete labels[s.segment_id]; // re-inserted last: the newest stay when trimming
    labels[s.segment_id] = s.label;
  }
  const ids = Object.keys(labels);
  for (const id of ids.slice(0, Math.max(0, ids.length - MAX_LABELS))) delete labels[id];
  const lines = state.lines.map((l) =>
    l.segmentId in labels && labels[l.segmentId] !== l.speakerLabel ? { ...l, speakerLabel: labels[l.segmentId] } : l,
  );
  return { ...state, lines, labels };
}

function upsert(lines: CaptionLine[], index: number, line: CaptionLine): CaptionLine[] {
  if (index >= 0) {
    const next = lines.slice();
    next[index] = line;
    return next;
  }
  const next = [...lines, line];
  return next.length > MAX_LINES ? next.slice(next.length - MAX_LINES) : next;
}

export function captionReducer(state: CaptionState, action: CaptionAction): CaptionState {
  if (action.type === "clear") return { ...state, lines: [] };
  if (action.type === "history_lost") return { ...state, lastRoomSeq: 0 };
  if (action.type === "speakers") return relabel(state, action.notice);
  const message = action.message;
  if (!message || !message.segment_id) return state;
  const index = state.lines.findIndex((l) => l.segmentId === message.segment_id);
  switch (message.type) {
    case "partial": {
      if (index >= 0 && state.lines[index].type === "final") return state; // stale
      return { ...state, lines: upsert(state.lines, index, lineOf(message, "partial", state.labels)) };
    }
    case "final": {
      const lastRoomSeq = Math.max(state.lastRoomSeq, message.room_seq || 0);
      return { ...state, lines: upsert(state.lines, index, lineOf(message, "final", state.labels)), lastRoomSeq };
    }
    case "retract": {
      if (index < 0) return state;
      return { ...state, lines: state.lines.filter((_, i) => i !== index) };
    }
    default:
      return state;
  }
}
