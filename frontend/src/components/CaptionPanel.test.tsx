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
  roomSeq: 0,
  audioStartMs: 0,
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
  });

  it("renders the panel as a polite live region with the picker and the controls", () => {
    const html = renderToStaticMarkup(
      <CaptionPanel
        lines={[line, { ...line, segmentId: "seg2", type: "final", roomSeq: 3, text: "Gracias." }]}
        lang="es"
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
    expect(html).toContain('data-testid="reconnect-banner"');
    expect(html).toContain('data-type="final"');
    expect(html).toContain('data-room-seq="3"');
    for (const id of ["font-smaller", "font-larger", "download-transcript", "transcript-format"]) {
      expect(html).toContain(`data-testid="${id}"`);
    }
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
