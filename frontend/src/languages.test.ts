import { describe, expect, it } from "vitest";

import type { SourceLanguage } from "./api/types";
import { AUTO, captionLanguages, initialChoice, routesTo, spokenLanguages } from "./languages";
import { loadLanguagePrefs, PREFS_PREFIX, saveLanguagePrefs } from "./preferences";

function route(language: string, backend = "apertium", licence = "GPL-2.0") {
  return { language, route: [language], backend, licence, chrf: 50, measured: true };
}

// What GET /api/languages answers on a host with Apertium en↔es and Bergamot en→pt installed.
const catalogue: SourceLanguage[] = [
  { language: "en", stt_model: "whisper-base", targets: [route("es"), route("pt", "bergamot", "MPL-2.0")] },
  { language: "es", stt_model: "whisper-base", targets: [route("en"), route("pt", "apertium>en>bergamot")] },
  { language: "pt", stt_model: "whisper-base", targets: [] },
  { language: "de", stt_model: "whisper-base", targets: [] },
];

class MemoryStorage {
  data = new Map<string, string>();
  getItem(key: string) {
    return this.data.get(key) ?? null;
  }
  setItem(key: string, value: string) {
    this.data.set(key, value);
  }
  removeItem(key: string) {
    this.data.delete(key);
  }
}

describe("language pickers offer only what the server publishes", () => {
  it("spoken: Auto-detect, then exactly the catalogue's source languages", () => {
    const options = spokenLanguages(catalogue);
    expect(options.map((l) => l.code)).toEqual([AUTO, "en", "es", "pt", "de"]);
    expect(options[0].name).toBe("Auto-detect");
    expect(options.map((l) => l.code)).not.toContain("fr"); // the old hard-coded list had 24
  });

  it("captions: every language some route reaches from any spoken language, once each", () => {
    expect(captionLanguages(catalogue).map((l) => l.code)).toEqual(["es", "pt", "en"]);
  });

  it("captions without any route installed: the spoken languages (their own words)", () => {
    const bare = catalogue.map((s) => ({ ...s, targets: [] }));
    expect(captionLanguages(bare).map((l) => l.code)).toEqual(["en", "es", "pt", "de"]);
    expect(captionLanguages([])).toEqual([]);
  });

  it("says how captions reach a language", () => {
    expect(routesTo(catalogue, "pt")).toEqual([
      "from English via bergamot (MPL-2.0)",
      "from Español via apertium>en>bergamot (GPL-2.0)",
    ]);
  });
});

describe("initial choice", () => {
  const captions = captionLanguages(catalogue);

  it("keeps the remembered choice while the server still offers it", () => {
    expect(initialChoice(captions, "pt", ["es"])).toBe("pt");
    expect(initialChoice(spokenLanguages(catalogue), AUTO, ["es"])).toBe(AUTO);
  });

  it("drops a remembered choice the server no longer offers for the browser's language, then English", () => {
    expect(initialChoice(captions, "vi", ["fr", "es"])).toBe("es");
    expect(initialChoice(captions, null, ["ja"])).toBe("en");
    expect(initialChoice([{ code: "pt", name: "Português" }], null, ["ja"])).toBe("pt");
    expect(initialChoice([], "en", ["en"])).toBeNull();
  });
});

describe("remembered per user", () => {
  it("keeps each user's spoken and caption languages apart", () => {
    const storage = new MemoryStorage();
    saveLanguagePrefs("u-ana", { spoken: "es" }, storage);
    saveLanguagePrefs("u-ana", { captions: "en" }, storage);
    saveLanguagePrefs("u-bo", { captions: "pt" }, storage);
    expect(loadLanguagePrefs("u-ana", storage)).toEqual({ spoken: "es", captions: "en" });
    expect(loadLanguagePrefs("u-bo", storage)).toEqual({ captions: "pt" });
    expect(loadLanguagePrefs("u-new", storage)).toEqual({});
    expect(JSON.parse(storage.getItem(`${PREFS_PREFIX}u-ana`) ?? "")).toEqual({ spoken: "es", captions: "en" });
  });

  it("ignores what it cannot read", () => {
    const storage = new MemoryStorage();
    storage.setItem(`${PREFS_PREFIX}u1`, "not json");
    expect(loadLanguagePrefs("u1", storage)).toEqual({});
    storage.setItem(`${PREFS_PREFIX}u1`, JSON.stringify({ spoken: 3, captions: "fr" }));
    expect(loadLanguagePrefs("u1", storage)).toEqual({ captions: "fr" });
    expect(loadLanguagePrefs("u1", null)).toEqual({});
  });

  it("remembers Hear translation with the languages, off until chosen", () => {
    const storage = new MemoryStorage();
    saveLanguagePrefs("u-ana", { captions: "es" }, storage);
    expect(loadLanguagePrefs("u-ana", storage).hearTranslation).toBeUndefined();
    saveLanguagePrefs("u-ana", { hearTranslation: true }, storage);
    expect(loadLanguagePrefs("u-ana", storage)).toEqual({ captions: "es", hearTranslation: true });
    saveLanguagePrefs("u-ana", { hearTranslation: false }, storage);
    expect(loadLanguagePrefs("u-ana", storage)).toEqual({ captions: "es", hearTranslation: false });
    storage.setItem(`${PREFS_PREFIX}u-bo`, JSON.stringify({ hearTranslation: "yes" }));
    expect(loadLanguagePrefs("u-bo", storage)).toEqual({});
  });
});
