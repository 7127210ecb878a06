// The lobby's speaker-label (diarization) choice: offered to Pro owners, shown disabled otherwise.
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";

import { DiarizationChoice } from "./LobbyPage";

describe("DiarizationChoice", () => {
  it("lets a Pro owner turn speaker labels on", () => {
    const html = renderToStaticMarkup(<DiarizationChoice allowed checked onChange={() => undefined} />);
    expect(html).toContain('data-testid="create-room-diarization"');
    expect(html).toMatch(/<input type="checkbox" data-testid="create-room-diarization" checked=""\/>/);
    expect(html).not.toContain("Pro feature");
  });

  it("is disabled and unchecked outside Pro, saying why", () => {
    const html = renderToStaticMarkup(<DiarizationChoice allowed={false} checked onChange={() => undefined} />);
    expect(html).toMatch(/<input type="checkbox" data-testid="create-room-diarization" disabled=""\/>/);
    expect(html).toContain('title="Speaker labels are a Pro feature"');
  });
});
