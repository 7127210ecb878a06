import { describe, expect, it } from "vitest";

import type { CaptionMessage, CaptionType, NoticeMessage } from "./messages";
import { captionReducer, initialCaptionState, MAX_LABELS, MAX_LINES, type CaptionState } from "./reducer";

let roomSeq = 0;

function caption(type: CaptionType, segment: string, text: string, extra: Partial<CaptionMessage> = {}): CaptionMessage {
  return {
    v: 1,
    type,
    room: "r1",
    speaker: "u-ana",
    speaker_name: "Ana",
    language: "en",
    language_detected: false,
    segment_id: segment,
    seq: 1,
    room_seq: type === "final" ? ++roomSeq : 0,
    audio_start_ms: 0,
    audio_end_ms: 1000,
    text,
    translation: { language: "es", text: `es:${text}`, backend: "apertium" },
    avg_logprob: null,
    timings: {},
    stages_ms: {},
    ...extra,
  };
}

function run(...messages: CaptionMessage[]): CaptionState {
  return messages.reduce((s, message) => captionReducer(s, { type: "message", message }), initialCaptionState);
}

function speakersUpdated(labels: [string, string][], user = "u-ana"): NoticeMessage {
  return {
    v: 1,
    type: "notice",
    room: "r1",
    code: "speakers_updated",
    user,
    message: `${new Set(labels.map(([, l]) => l)).size} speaker(s)`,
    speakers: labels.map(([segment_id, label], i) => ({ seq: i + 1, segment_id, label })),
  } as NoticeMessage;
}

describe("captionReducer", () => {
  it("replaces a partial in place, keeping its position", () => {
    const state = run(
      caption("partial", "a", "hello"),
      caption("partial", "b", "other speaker", { speaker: "u-bo", speaker_name: "Bo" }),
      caption("partial", "a", "hello every"),
    );
    expect(state.lines.map((l) => [l.segmentId, l.text])).toEqual([
      ["a", "es:hello every"],
      ["b", "es:other speaker"],
    ]);
    expect(state.lines[0]).toMatchObject({ type: "partial", original: "hello every", originalLang: "en", lang: "es" });
  });

  it("lets a final replace the partial in place and ignores a stale partial after it", () => {
    const final = caption("final", "a", "Hello everyone.");
    const state = run(
      caption("partial", "a", "hello"),
      caption("partial", "b", "next"),
      final,
      caption("partial", "a", "hello ev"), // late partial of a finished segment
    );
    expect(state.lines).toHaveLength(2);
    expect(state.lines[0]).toMatchObject({ segmentId: "a", type: "final", text: "es:Hello everyone.", speakerName: "Ana" });
    expect(state.lastRoomSeq).toBe(final.room_seq);
  });

  it("removes a retracted segment's line", () => {
    const state = run(caption("partial", "a", "uh"), caption("partial", "b", "yes"), caption("retract", "a", ""));
    expect(state.lines.map((l) => l.segmentId)).toEqual(["b"]);
    expect(captionReducer(state, { type: "message", message: caption("retract", "zzz", "") })).toBe(state);
  });

  it("shows a final replayed after a reconnect only once (dedupe by segment_id)", () => {
    const f1 = caption("final", "a", "One.");
    const f2 = caption("final", "b", "Two.");
    let state = run(f1, f2);
    // reconnect with since=f1.room_seq - 1 (or a language change): the server replays f1 and f2
    state = [f1, f2, caption("final", "c", "Three.")].reduce(
      (s, message) => captionReducer(s, { type: "message", message }),
      state,
    );
    expect(state.lines.map((l) => l.segmentId)).toEqual(["a", "b", "c"]);
    expect(state.lastRoomSeq).toBe(roomSeq);
  });

  it("keeps lastRoomSeq at the highest final even when finals arrive out of order", () => {
    const f1 = caption("final", "a", "One.");
    const f2 = caption("final", "b", "Two.");
    expect(run(f2, f1).lastRoomSeq).toBe(f2.room_seq);
  });

  it("a final in a new language replaces the old language's partial (language switch)", () => {
    const state = run(
      caption("partial", "a", "hello"),
      caption("final", "a", "Hello.", { translation: { language: "fr", text: "Bonjour.", backend: "nllb" } }),
    );
    expect(state.lines).toHaveLength(1);
    expect(state.lines[0]).toMatchObject({ lang: "fr", text: "Bonjour.", type: "final", original: "Hello." });
  });

  it(`keeps the newest ${MAX_LINES} lines`, () => {
    let state = initialCaptionState;
    for (let i = 0; i < MAX_LINES + 5; i++) {
      state = captionReducer(state, { type: "message", message: caption("final", `s${i}`, `line ${i}`) });
    }
    expect(state.lines).toHaveLength(MAX_LINES);
    expect(state.lines[0].segmentId).toBe("s5");
  });

  it("keeps the translation backend and whether the language was detected", () => {
    const state = run(
      caption("final", "a", "Xin chào.", {
        language: "vi",
        language_detected: true,
        translation: { language: "pt", text: "Xin chào.", backend: "no_route" },
      }),
      caption("final", "b", "Hello."),
    );
    expect(state.lines[0]).toMatchObject({ backend: "no_route", languageDetected: true, originalLang: "vi", lang: "pt" });
    expect(state.lines[1]).toMatchObject({ backend: "apertium", languageDetected: false });
  });

  it("history_lost keeps the lines and starts room_seq over (the next reconnection asks from 0)", () => {
    const state = run(caption("final", "a", "One."), caption("final", "b", "Two."));
    const lost = captionReducer(state, { type: "history_lost" });
    expect(lost.lines).toBe(state.lines);
    expect(lost.lastRoomSeq).toBe(0);
    // after a store reset the numbering restarts at 1 and the client follows it
    const next = captionReducer(lost, { type: "message", message: caption("final", "c", "Three.", { room_seq: 1 }) });
    expect(next.lastRoomSeq).toBe(1);
  });

  it("clear empties the lines but remembers where the room is", () => {
    const state = run(caption("final", "a", "One."));
    const cleared = captionReducer(state, { type: "clear" });
    expect(cleared.lines).toEqual([]);
    expect(cleared.lastRoomSeq).toBe(state.lastRoomSeq);
  });

  it("labels the finals a speakers_updated notice names, and a later notice relabels them", () => {
    const state = run(caption("final", "a", "One."), caption("final", "b", "Two."), caption("partial", "c", "thr"));
    const labelled = captionReducer(state, { type: "speakers", notice: speakersUpdated([["a", "Speaker 1"], ["b", "Speaker 2"]]) });
    expect(labelled.lines.map((l) => [l.segmentId, l.speakerLabel])).toEqual([
      ["a", "Speaker 1"],
      ["b", "Speaker 2"],
      ["c", null],
    ]);
    expect(labelled.lines[2]).toBe(state.lines[2]); // untouched lines keep their identity
    const relabelled = captionReducer(labelled, { type: "speakers", notice: speakersUpdated([["b", "Speaker 1"]]) });
    expect(relabelled.lines.map((l) => l.speakerLabel)).toEqual(["Speaker 1", "Speaker 1", null]);
    expect(relabelled.lastRoomSeq).toBe(state.lastRoomSeq);
  });

  it("keeps a label that arrives before its line, and the label survives the final replacing the partial", () => {
    let state = captionReducer(initialCaptionState, { type: "speakers", notice: speakersUpdated([["a", "Speaker 2"]]) });
    expect(state.lines).toEqual([]);
    state = [caption("partial", "a", "hel"), caption("final", "a", "Hello.")].reduce(
      (s, message) => captionReducer(s, { type: "message", message }),
      state,
    );
    expect(state.lines).toHaveLength(1);
    expect(state.lines[0]).toMatchObject({ type: "final", speakerLabel: "Speaker 2" });
  });

  it("ignores other notices and an empty speakers list", () => {
    const state = run(caption("final", "a", "One."));
    expect(captionReducer(state, { type: "speakers", notice: speakersUpdated([]) })).toBe(state);
    const other = { ...speakersUpdated([["a", "Speaker 1"]]), code: "room_expiring" } as NoticeMessage;
    expect(captionReducer(state, { type: "speakers", notice: other })).toBe(state);
  });

  it(`remembers the labels of the newest ${MAX_LABELS} segments`, () => {
    const many: [string, string][] = Array.from({ length: MAX_LABELS + 3 }, (_, i) => [`s${i}`, `Speaker ${(i % 2) + 1}`]);
    const state = captionReducer(initialCaptionState, { type: "speakers", notice: speakersUpdated(many) });
    const ids = Object.keys(state.labels);
    expect(ids).toHaveLength(MAX_LABELS);
    expect(ids[0]).toBe("s3");
  });
});
