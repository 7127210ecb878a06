// The user's spoken and caption languages: the server's catalogue (GET /api/languages) gives the
// choices, the user's remembered picks (preferences.ts) the current ones. A remembered pick the
// server no longer offers gives way to initialChoice's default (it stays remembered until changed).
// While the catalogue cannot be had (`error`), nothing is offered and the remembered picks stand
// (captions in English when none), so a call still works.
import { useCallback, useEffect, useMemo, useState } from "react";

import { useApi } from "./api/instance";
import type { SourceLanguage } from "./api/types";
import { captionLanguages, initialChoice, spokenLanguages, type Language } from "./languages";
import { loadLanguagePrefs, saveLanguagePrefs, type LanguagePrefs } from "./preferences";

export interface LanguageChoice {
  /** null while loading (or after a failure: see `error`). */
  catalogue: SourceLanguage[] | null;
  error: unknown;
  retry: () => void;
  spokenOptions: Language[];
  captionOptions: Language[];
  /** The current picks (null while the catalogue loads; spoken null: the server's default). */
  spoken: string | null;
  captions: string | null;
  setSpoken: (code: string) => void;
  setCaptions: (code: string) => void;
  /** "Hear translation" (remembered with the languages; off by default). */
  hearTranslation: boolean;
  setHearTranslation: (on: boolean) => void;
}

export function useLanguageChoice(userId: string): LanguageChoice {
  const api = useApi();
  const [catalogue, setCatalogue] = useState<SourceLanguage[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [prefs, setPrefs] = useState<LanguagePrefs>(() => loadLanguagePrefs(userId));

  const retry = useCallback(() => {
    api.languages().then(
      (answer) => {
        setCatalogue(answer);
        setError(null);
      },
      setError,
    );
  }, [api]);
  useEffect(retry, [retry]);

  const spokenOptions = useMemo(() => (catalogue ? spokenLanguages(catalogue) : []), [catalogue]);
  const captionOptions = useMemo(() => (catalogue ? captionLanguages(catalogue) : []), [catalogue]);
  const remember = useCallback((change: LanguagePrefs) => setPrefs(saveLanguagePrefs(userId, change)), [userId]);
  return {
    catalogue,
    error,
    retry,
    spokenOptions,
    captionOptions,
    spoken: catalogue ? initialChoice(spokenOptions, prefs.spoken) : (prefs.spoken ?? null),
    captions: catalogue ? initialChoice(captionOptions, prefs.captions) : error ? (prefs.captions ?? "en") : null,
    setSpoken: useCallback((code: string) => remember({ spoken: code }), [remember]),
    setCaptions: useCallback((code: string) => remember({ captions: code }), [remember]),
    hearTranslation: prefs.hearTranslation ?? false,
    setHearTranslation: useCallback((on: boolean) => remember({ hearTranslation: on }), [remember]),
  };
}
