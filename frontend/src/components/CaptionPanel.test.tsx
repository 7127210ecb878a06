// The markup the browser end-to-end test relies on (data-testid and data-* attributes).
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";

import type { Me, Room } from "../api/types";
import type { CaptionLine } from "../captions/reducer";
import { mergeTiles } from "../pages/RoomPage";
import { CaptionLineView, CaptionPanel } from "./CaptionPanel";
import { VideoGrid } from "./VideoGrid";

const line: CaptionLine = {
  segmentId: "seg1",
  type: "partial",
  speaker: "u-ana",
  speakerName: "Ana",
  lang: "es",
  text: "Hola a todos",
  original: "Hello everyone",
  originalLang: "en",
  languageDetected: false,
  backend: "apertium",
  roomSeq: 0,
  audioStartMs: 0,
  speakerLabel: null,
};

describe("caption markup", () => {
  it("marks a line with its type, languages, speaker and original text", () => {
    const html = renderToStaticMarkup(<CaptionLineView line={line} />);
    expect(html).toContain('data-testid="caption-line"');
    expect(html).toContain('data-type="partial"');
    expect(html).toContain('data-lang="es"');
    expect(html).toContain('data-speaker="Ana"');
    expect(html).toContain('data-original="Hello everyone"');
    expect(html).toContain('title="Original (English): Hello everyone"');
    expect(html).toContain('class="caption-line partial"');
    expect(html).not.toContain("caption-speaker-label");
  });

  it("says who spoke inside the participant's audio when diarization labelled the line", () => {
    const html = renderToStaticMarkup(<CaptionLineView line={{ ...line, type: "final", speakerLabel: "Speaker 2" }} />);
    expect(html).toContain('data-speaker-label="Speaker 2"');
    expect(html).toMatch(/<span class="speaker">Ana<\/span><span class="speaker-label" data-testid="caption-speaker-label">Speaker 2:<\/span>/);
  });

  it("renders the panel as a polite live region with the picker and the controls", () => {
    const html = renderToStaticMarkup(
      <CaptionPanel
        lines={[line, { ...line, segmentId: "seg2", type: "final", roomSeq: 3, text: "Gracias." }]}
        lang="es"
        langOptions={[
          { code: "en", name: "English" },
          { code: "es", name: "Español" },
        ]}
        onLangChange={() => undefined}
        socketState={{ status: "reconnecting", attempt: 2, retryAt: null, closeCode: 1006, closeReason: null }}
        onReconnect={() => undefined}
        fontSize={18}
        onFontSize={() => undefined}
        onDownload={() => undefined}
        downloading={false}
      />,
    );
    expect(html).toMatch(/data-testid="caption-panel"[^>]*aria-live="polite"/);
    expect(html).toContain('data-testid="language-picker"');
    expect(html).toContain('<option value="es" selected="">');
    expect(html.match(/<option value="(en|es)"/g)).toHaveLength(2);
    expect(html).toContain('data-testid="reconnect-banner"');
    expect(html).toContain('data-type="final"');
    expect(html).toContain('data-room-seq="3"');
    for (const id of ["font-smaller", "font-larger", "download-transcript", "transcript-format"]) {
      expect(html).toContain(`data-testid="${id}"`);
    }
  });
});

describe("untranslated and detected captions", () => {
  it("shows a no_route caption's original text with a note that no translation is installed", () => {
    const noRoute = { ...line, lang: "vi", text: "Hello everyone", backend: "no_route" };
    const html = renderToStaticMarkup(<CaptionLineView line={noRoute} />);
    expect(html).toContain('data-backend="no_route"');
    expect(html).toContain('<span class="text" lang="en">Hello everyone</span>');
    expect(html).toContain('data-testid="caption-untranslated"');
    expect(html).toContain("No translation is installed for English → Tiếng Việt");
    expect(html).toContain('data-testid="caption-source-lang"');
    expect(html).not.toContain("Original: Hello everyone"); // it is the original
  });

  it("says when every translator failed (unavailable)", () => {
    const html = renderToStaticMarkup(<CaptionLineView line={{ ...line, backend: "unavailable", text: line.original }} />);
    expect(html).toContain("Translation unavailable right now (English → Español)");
  });

  it("marks the speaker's language as detected when the server identified it", () => {
    const detected = { ...line, originalLang: "es", lang: "en", languageDetected: true, original: "Hola", text: "Hi" };
    const html = renderToStaticMarkup(<CaptionLineView line={detected} />);
    expect(html).toContain('data-language-detected="true"');
    expect(html).toMatch(/data-testid="caption-source-lang">Español \(detected\)</);
    expect(html).not.toContain("caption-untranslated");
  });

  it("labels a translated line with the speaker's language, and a same-language line with nothing", () => {
    expect(renderToStaticMarkup(<CaptionLineView line={line} />)).toMatch(/caption-source-lang">English</);
    const same = { ...line, lang: "en", text: line.original, backend: "source" };
    expect(renderToStaticMarkup(<CaptionLineView line={same} />)).not.toContain("caption-source-lang");
  });
});

describe("caption panel banners", () => {
  const panel = (extra: Partial<Parameters<typeof CaptionPanel>[0]>) =>
    renderToStaticMarkup(
      <CaptionPanel
        lines={[]}
        lang="en"
        langOptions={[{ code: "en", name: "English" }]}
        onLangChange={() => undefined}
        socketState={{ status: "open", attempt: 0, retryAt: null, closeCode: null, closeReason: null }}
        onReconnect={() => undefined}
        fontSize={18}
        onFontSize={() => undefined}
        onDownload={() => undefined}
        downloading={false}
        {...extra}
      />,
    );

  it("shows a history_lost notice as a visible message", () => {
    const html = panel({
      historyLost: {
        v: 1,
        type: "notice",
        room: "r1",
        code: "history_lost",
        message: "captions after room_seq 7 were lost: the caption store restarted; room_seq numbering restarts",
        reason: "store_reset",
        user: null,
        closes_at_ms: null,
        speakers: null,
        at_ms: 0,
      },
    });
    expect(html).toContain('data-testid="history-lost"');
    expect(html).toContain('data-reason="store_reset"');
    expect(html).toContain("Some captions could not be delivered (captions after room_seq 7 were lost");
    expect(panel({})).not.toContain("history-lost");
  });

  it.each([
    [1013, "reconnecting", "The server is busy or one of its services is down"],
    [4429, "reconnecting", "Too many caption connections are open"],
    [4409, "closed", "A newer connection (another tab or device) took over"],
    [4403, "closed", "You are no longer in this room"],
  ] as const)("explains close code %i", (code, status, text) => {
    const html = panel({ socketState: { status, attempt: 1, retryAt: null, closeCode: code, closeReason: null } });
    expect(html).toContain(`data-close-code="${code}"`);
    expect(html).toContain(text);
  });

  it("keeps the picker disabled while the catalogue loads", () => {
    const html = panel({ lang: null, langOptions: [] });
    expect(html).toMatch(/data-testid="language-picker"[^>]*disabled=""/);
    expect(html).toContain("Loading languages…");
  });
});

describe("video tiles", () => {
  const me = { user: { id: "u-me", display_name: "Me" } } as Me;
  const room = {
    participants: [
      { user_id: "u-me", display_name: "Me", speaker: true, joined_at: "" },
      { user_id: "u-ana", display_name: "Ana", speaker: true, joined_at: "" },
      { user_id: "u-bo", display_name: "Bo", speaker: false, joined_at: "" },
    ],
  } as Room;

  it("adds a tile without video for every participant the relay has no feed for", () => {
    const tiles = mergeTiles(
      [
        { id: "local", display: "Me", stream: null, local: true },
        { id: "u-ana", display: "Ana", stream: null, local: false },
      ],
      room,
      me,
      false,
      true,
    );
    expect(tiles.map((t) => [t.display, t.local])).toEqual([
      ["Me", true],
      ["Ana", false],
      ["Bo", false],
    ]);
    expect(tiles[0].micOff).toBe(true);
    const html = renderToStaticMarkup(<VideoGrid tiles={tiles} />);
    expect(html.match(/data-testid="video-tile"/g)).toHaveLength(3);
    expect(html).toContain('data-display="Ana"');
    expect(html).toContain('data-has-video="false"');
  });
});
