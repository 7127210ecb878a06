// The signed-in session: the JWT access and refresh tokens, in memory and in sessionStorage (so a
// reload of the tab stays signed in; a new tab or a closed browser does not).

export interface Tokens {
  accessToken: string;
  refreshToken: string;
  userId: string;
}

export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export const STORAGE_KEY = "babelroom.session";

function browserStorage(): StorageLike | null {
  try {
    return typeof sessionStorage === "undefined" ? null : sessionStorage;
  } catch {
    return null; // storage disabled: memory only
  }
}

export class TokenStore {
  private tokens: Tokens | null = null;
  private readonly listeners = new Set<(tokens: Tokens | null) => void>();

  constructor(private readonly storage: StorageLike | null = browserStorage()) {
    const raw = storage?.getItem(STORAGE_KEY);
    if (raw) {
      try {
        const parsed = JSON.parse(raw) as Tokens;
        if (parsed.accessToken && parsed.refreshToken) this.tokens = parsed;
      } catch {
        storage?.removeItem(STORAGE_KEY);
      }
    }
  }

  get(): Tokens | null {
    return this.tokens;
  }

  set(tokens: Tokens | null): void {
    this.tokens = tokens;
    if (tokens) this.storage?.setItem(STORAGE_KEY, JSON.stringify(tokens));
    else this.storage?.removeItem(STORAGE_KEY);
    for (const listener of this.listeners) listener(tokens);
  }

  clear(): void {
    this.set(null);
  }

  /** Called on every change (sign-in, refresh, sign-out); returns the unsubscribe function. */
  subscribe(listener: (tokens: Tokens | null) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
