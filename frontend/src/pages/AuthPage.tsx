// Sign in and sign up (POST /api/auth/login, /api/auth/register); on success the tokens are stored
// and the app shows the page the URL asked for (the lobby, or a room from an invite link).
import { useState, type FormEvent } from "react";

import { useApi } from "../api/instance";
import { ErrorNotice } from "../components/ErrorNotice";

type Mode = "signin" | "signup";
const MODES: [Mode, string][] = [
  ["signin", "Sign in"],
  ["signup", "Create account"],
];

export function AuthPage({ notice }: { notice?: string | null }) {
  const api = useApi();
  const [mode, setMode] = useState<Mode>("signin");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (mode === "signup") await api.register(email.trim(), password, displayName.trim());
      else await api.login(email.trim(), password);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  const prefix = mode === "signin" ? "signin" : "signup";
  return (
    <main className="auth-page">
      <div className="auth-card">
        <h1 className="brand">Babelroom</h1>
        <p className="tagline">Video calls where everyone speaks their own language.</p>
        {notice && (
          <p className="info" role="status" data-testid="auth-notice">
            {notice}
          </p>
        )}
        <div className="tabs" role="group" aria-label="Sign in or create an account">
          {MODES.map(([m, label]) => (
            <button
              key={m}
              type="button"
              aria-pressed={mode === m}
              data-testid={`auth-mode-${m}`}
              onClick={() => {
                setMode(m);
                setError(null);
              }}
            >
              {label}
            </button>
          ))}
        </div>
        <form onSubmit={submit} data-testid={`${prefix}-form`} aria-label={mode === "signin" ? "Sign in" : "Create account"}>
          {mode === "signup" && (
            <label>
              Display name
              <input
                data-testid="signup-display-name"
                name="display_name"
                autoComplete="nickname"
                required
                maxLength={128}
                value={displayName}
                onChange={(e) => setDisplayName(e.target.value)}
              />
            </label>
          )}
          <label>
            E-mail
            <input
              data-testid={`${prefix}-email`}
              name="email"
              type="email"
              autoComplete="email"
              required
              value={email}
              onChange={(e) => setEmail(e.target.value)}
            />
          </label>
          <label>
            Password
            <input
              data-testid={`${prefix}-password`}
              name="password"
              type="password"
              autoComplete={mode === "signup" ? "new-password" : "current-password"}
              required
              minLength={mode === "signup" ? 8 : undefined}
              maxLength={128}
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
            {mode === "signup" && <span className="hint">At least 8 characters.</span>}
          </label>
          <button type="submit" className="primary" data-testid={`${prefix}-submit`} disabled={busy}>
            {busy ? "Please wait…" : mode === "signin" ? "Sign in" : "Create account"}
          </button>
        </form>
        <ErrorNotice error={error} />
      </div>
    </main>
  );
}
