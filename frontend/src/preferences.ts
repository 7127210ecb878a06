// A user's language choices (and whether they hear the translation spoken), remembered in this browser's localStorage under a key of their own
// (`babelroom.languages.<user id>`: two accounts on one browser keep theirs). The account API keeps
// no preferred language, so the browser is where they live.

import type { StorageLike } from "./api/tokens";

export interface LanguagePrefs {
  /** What the user speaks in calls (`auto` or a source language of the catalogue). */
  spoken?: string;
  /** The language the user reads captions in. */
  captions?: string;
  /** "Hear translation": the caption language spoken too (the caption socket's audio mode). */
  hearTranslation?: boolean;
}

export const PREFS_PREFIX = "babelroom.languages.";

function browserStorage(): StorageLike | null {
  try {
    return typeof localStorage === "undefined" ? null : localStorage;
  } catch {
    return null; // storage disabled: not remembered
  }
}

export function loadLanguagePrefs(userId: string, storage: StorageLike | null = browserStorage()): LanguagePrefs {
  try {
    const parsed: unknown = JSON.parse(storage?.getItem(PREFS_PREFIX + userId) ?? "{}");
    if (!parsed || typeof parsed !== "object") return {};
    const { spoken, captions, hearTranslation } = parsed as Record<string, unknown>;
    return {
      ...(typeof spoken === "string" ? { spoken } : {}),
      ...(typeof captions === "string" ? { captions } : {}),
      ...(typeof hearTranslation === "boolean" ? { hearTranslation } : {}),
    };
  } catch {
    return {};
  }
}

export function saveLanguagePrefs(userId: string, change: LanguagePrefs,
                                  storage: StorageLike | null = browserStorage()): LanguagePrefs {
  const next = { ...loadLanguagePrefs(userId, storage), ...change };
  try {
    storage?.setItem(PREFS_PREFIX + userId, JSON.stringify(next));
  } catch {
    /* full or private mode: not remembered */
  }
  return next;
}
