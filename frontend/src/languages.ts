// The languages the web app offers: only what the server publishes at GET /api/languages (the
// catalogue: each spoken language with the caption languages some installed MT route reaches from it).
//
// - spoken-language picker: "Auto-detect" (`auto`: the server identifies the language on the first
//   segments) and the catalogue's source languages;
// - caption-language picker: every language some route reaches from any spoken language (a room's
//   speakers may speak any of them); when no route is installed at all, the spoken languages (captions
//   then show each speaker's own words).
// The names below only label codes; they offer nothing.

import type { SourceLanguage } from "./api/types";

export interface Language {
  code: string;
  name: string;
}

/** `spoken_language` of the join request when the server is to identify the speaker's language. */
export const AUTO = "auto";

const NAMES: Record<string, string> = {
  [AUTO]: "Auto-detect",
  en: "English",
  es: "Español",
  fr: "Français",
  de: "Deutsch",
  it: "Italiano",
  pt: "Português",
  nl: "Nederlands",
  ca: "Català",
  pl: "Polski",
  ro: "Română",
  ru: "Русский",
  uk: "Українська",
  ar: "العربية",
  hi: "हिन्दी",
  zh: "中文",
  ja: "日本語",
  ko: "한국어",
  vi: "Tiếng Việt",
};

export function languageName(code: string): string {
  return NAMES[code] ?? code;
}

function language(code: string): Language {
  return { code, name: languageName(code) };
}

/** The spoken-language choices: Auto-detect, then the catalogue's source languages in its order. */
export function spokenLanguages(catalogue: SourceLanguage[]): Language[] {
  return [language(AUTO), ...catalogue.map((s) => language(s.language))];
}

/** The caption-language choices: every target some route reaches (first-seen order), or the spoken
 * languages when the server has no route at all. */
export function captionLanguages(catalogue: SourceLanguage[]): Language[] {
  const codes: string[] = [];
  for (const source of catalogue) {
    for (const target of source.targets) if (!codes.includes(target.language)) codes.push(target.language);
  }
  if (codes.length === 0) codes.push(...catalogue.map((s) => s.language));
  return codes.map(language);
}

/** How captions reach `target`: "from English via apertium (GPL-2.0)", one per spoken language. */
export function routesTo(catalogue: SourceLanguage[], target: string): string[] {
  const out: string[] = [];
  for (const source of catalogue) {
    const route = source.targets.find((t) => t.language === target);
    if (route) out.push(`from ${languageName(source.language)} via ${route.backend} (${route.licence})`);
  }
  return out;
}

/** The browser's preferred languages as two-letter codes, best first. */
export function browserLanguages(): string[] {
  if (typeof navigator === "undefined") return [];
  const tags = navigator.languages?.length ? navigator.languages : [navigator.language];
  return tags.filter(Boolean).map((tag) => tag.slice(0, 2).toLowerCase());
}

/**
 * The choice to start with among `options`: the remembered one if still offered, else the first
 * browser language offered, else English if offered, else the first option (null: nothing offered).
 */
export function initialChoice(options: Language[], remembered: string | null | undefined,
                              preferred: string[] = browserLanguages()): string | null {
  const offered = (code: string | null | undefined) => !!code && options.some((l) => l.code === code);
  if (offered(remembered)) return remembered as string;
  const browser = preferred.find(offered);
  if (browser) return browser;
  if (offered("en")) return "en";
  return options[0]?.code ?? null;
}
