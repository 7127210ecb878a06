import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";

import type { SourceLanguage } from "../api/types";
import { captionLanguages, initialChoice, spokenLanguages } from "../languages";
import { LanguagePicker } from "./LanguagePicker";

const catalogue: SourceLanguage[] = [
  { language: "en", stt_model: "tiny.en", targets: [{ language: "es", route: ["en", "es"], backend: "apertium", licence: "GPL-2.0", chrf: 47, measured: true }] },
  { language: "es", stt_model: "whisper-base", targets: [{ language: "en", route: ["es", "en"], backend: "apertium", licence: "GPL-2.0", chrf: 50, measured: true }] },
];

const options = (html: string) => [...html.matchAll(/<option value="([^"]*)"/g)].map((m) => m[1]);

describe("LanguagePicker", () => {
  it("renders the spoken languages the server publishes, Auto-detect first, the remembered one selected", () => {
    const spoken = spokenLanguages(catalogue);
    const html = renderToStaticMarkup(
      <LanguagePicker label="I speak" testId="spoken-language-picker" value={initialChoice(spoken, "es")}
                      options={spoken} onChange={() => undefined} />,
    );
    expect(options(html)).toEqual(["auto", "en", "es"]);
    expect(html).toContain('<option value="auto">Auto-detect</option>');
    expect(html).toContain('<option value="es" selected="">Español (es)</option>');
  });

  it("renders only the caption languages some route reaches", () => {
    const html = renderToStaticMarkup(
      <LanguagePicker label="Captions in" testId="language-picker" value="en" options={captionLanguages(catalogue)}
                      onChange={() => undefined} hint="from Español via apertium (GPL-2.0)" />,
    );
    expect(options(html)).toEqual(["es", "en"]);
    expect(html).toContain('title="from Español via apertium (GPL-2.0)"');
  });
});
