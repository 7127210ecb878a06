// The app shell: who is signed in, the header, and the page the hash route asks for.
import { useCallback, useEffect, useMemo, useState } from "react";

import { ApiClient } from "./api/client";
import { ApiContext } from "./api/instance";
import type { Me } from "./api/types";
import { ErrorNotice } from "./components/ErrorNotice";
import { AuthPage } from "./pages/AuthPage";
import { LobbyPage } from "./pages/LobbyPage";
import { RoomPage } from "./pages/RoomPage";
import { VoicePage } from "./pages/VoicePage";
import { useRoute } from "./router";

export function App({ api: given }: { api?: ApiClient }) {
  const [signedOutReason, setSignedOutReason] = useState<string | null>(null);
  const api = useMemo(() => given ?? new ApiClient({ onSignedOut: setSignedOutReason }), [given]);
  const route = useRoute();
  const [tokens, setTokens] = useState(api.tokens.get());
  // /api/me's answer or error, for the user it was asked for: another user starts with neither.
  const [account, setAccount] = useState<{ userId: string; me: Me | null; error: unknown } | null>(null);
  const userId = tokens?.userId ?? null;
  const current = account !== null && account.userId === userId ? account : null;
  const me = current?.me ?? null;
  const meError = current?.error ?? null;

  useEffect(
    () =>
      api.tokens.subscribe((next) => {
        setTokens(next);
        if (next) setSignedOutReason(null);
      }),
    [api],
  );

  const loadMe = useCallback(() => {
    if (!userId) return;
    api.me().then(
      (answer) => setAccount({ userId, me: answer, error: null }),
      (error) => setAccount((last) => ({ userId, me: last?.userId === userId ? last.me : null, error })),
    );
  }, [api, userId]);

  useEffect(loadMe, [loadMe]);

  let page;
  if (!userId) page = <AuthPage notice={signedOutReason} />;
  else if (!me) {
    page = (
      <main className="narrow">
        {meError ? <ErrorNotice error={meError} onRetry={loadMe} /> : <p role="status">Loading your account…</p>}
      </main>
    );
  } else if (route.page === "room") {
    page = <RoomPage key={route.roomId} roomId={route.roomId} listenOnly={route.listenOnly} me={me} />;
  } else if (route.page === "voice") page = <VoicePage me={me} onMeChanged={loadMe} />;
  else page = <LobbyPage me={me} onMeChanged={loadMe} />;

  return (
    <ApiContext.Provider value={api}>
      {/* Not an href="#…" target: the hash is the route. */}
      <button type="button" className="skip-link" onClick={() => document.getElementById("main-content")?.focus()}>
        Skip to content
      </button>
      {userId && (
        <header className="app-header">
          <a className="brand" href="#/" data-testid="home-link">
            Babelroom
          </a>
          {me && (
            <span className="who" data-testid="current-user">
              {me.user.display_name} <span className="badge" data-testid="current-tier">{me.effective.tier}</span>
            </span>
          )}
          <button type="button" className="secondary" data-testid="sign-out" onClick={() => void api.logout()}>
            Sign out
          </button>
        </header>
      )}
      <div id="main-content" tabIndex={-1}>{page}</div>
    </ApiContext.Provider>
  );
}
