// The map viewer's session: the token pair from sign-in, kept in sessionStorage (this tab
// only, gone with it), and renewed through POST /api/v1/auth/refresh before the access
// token runs out. Free of DOM types so the server's tsconfig checks it as well.

/** The part of the Storage API the session uses (sessionStorage in the browser). */
export interface TokenStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export const STORAGE_KEYS = {
  /** The access token (the key the viewer always used). */
  access: 'unimal.token',
  refresh: 'unimal.refresh',
  /** When the access token runs out, in this browser's clock (ms since the epoch). */
  expiresAt: 'unimal.tokenExpiresAt',
} as const;

/** The session is over (refresh token revoked, spent, expired or missing): sign in again. */
export class SessionEnded extends Error {
  override name = 'SessionEnded';
}

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
}

export interface ViewerSession {
  /** Keeps a fresh pair (from sign-in or a refresh). */
  save(pair: TokenPair): void;
  /** Whether there is anything to resume (a refresh or an access token). */
  hasSession(): boolean;
  accessToken(): string | null;
  /** Milliseconds until the renewal is due (0 when it is due already). */
  renewIn(): number;
  /**
   * An access token with time left, refreshed first when it is (nearly) out or was refused.
   * Rejects with SessionEnded when the session is over, with another error when the refresh
   * failed for a reason that may pass (network down, server unavailable).
   */
  validToken(): Promise<string>;
  /** Renews now. One refresh at a time: a refresh token must never be presented twice. */
  refresh(): Promise<string>;
  /** The server refused the current access token: the next validToken() refreshes. */
  invalidate(): void;
  clear(): void;
}

interface Claims {
  exp?: number;
  iat?: number;
}

function decodeClaims(token: string): Claims {
  try {
    const part = token.split('.')[1] ?? '';
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    const claims = JSON.parse(json) as Claims;
    return typeof claims === 'object' && claims !== null ? claims : {};
  } catch {
    return {};
  }
}

/** Lifetime of a token as issued (exp − iat), in ms; 0 when the token does not say. */
const lifetimeMs = (c: Claims) =>
  typeof c.exp === 'number' && typeof c.iat === 'number' ? Math.max(0, c.exp - c.iat) * 1000 : 0;

export function createSession(options: {
  storage: TokenStore;
  fetch: (url: string, init: RequestInit) => Promise<Response>;
  now?: () => number;
}): ViewerSession {
  const { storage } = options;
  const now = options.now ?? Date.now;
  let stale = false;
  let inflight: Promise<string> | undefined;

  const accessToken = () => storage.getItem(STORAGE_KEYS.access);

  /** When the current access token runs out, by this browser's clock. */
  const expiresAt = (): number => {
    const stored = Number(storage.getItem(STORAGE_KEYS.expiresAt));
    if (Number.isFinite(stored) && stored > 0) return stored;
    const exp = decodeClaims(accessToken() ?? '').exp;
    return typeof exp === 'number' ? exp * 1000 : 0;
  };
  /** Renew this long before expiry: a minute, or less for tokens shorter than a few minutes. */
  const margin = () => Math.min(60_000, 0.3 * lifetimeMs(decodeClaims(accessToken() ?? '')));

  const save = (pair: TokenPair) => {
    // Measured from the moment it arrived, so a browser clock that is off does not matter:
    // exp and iat are whole seconds, so up to a second of it may be gone already.
    const life = lifetimeMs(decodeClaims(pair.accessToken));
    const left = life > 0 ? Math.max(life / 2, life - 1000) : 0;
    storage.setItem(STORAGE_KEYS.access, pair.accessToken);
    storage.setItem(STORAGE_KEYS.refresh, pair.refreshToken);
    if (left > 0) storage.setItem(STORAGE_KEYS.expiresAt, String(now() + left));
    else storage.removeItem(STORAGE_KEYS.expiresAt);
    stale = false;
  };

  const clear = () => {
    for (const key of Object.values(STORAGE_KEYS)) storage.removeItem(key);
    stale = false;
  };

  const doRefresh = async (): Promise<string> => {
    const refreshToken = storage.getItem(STORAGE_KEYS.refresh);
    if (!refreshToken) {
      clear();
      throw new SessionEnded('signed out');
    }
    const res = await options.fetch('/api/v1/auth/refresh', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken }),
    });
    const body = (await res.json().catch(() => ({}))) as Partial<TokenPair> & {
      error?: { message?: string };
    };
    // 401: revoked, spent or expired; 400: not a refresh token at all. Neither will pass.
    if (res.status === 401 || res.status === 400) {
      clear();
      throw new SessionEnded(body.error?.message ?? 'session ended');
    }
    if (!res.ok || !body.accessToken || !body.refreshToken) {
      throw new Error(body.error?.message ?? `token refresh failed (${res.status})`);
    }
    save({ accessToken: body.accessToken, refreshToken: body.refreshToken });
    return body.accessToken;
  };

  const refresh = () => {
    inflight ??= doRefresh().finally(() => {
      inflight = undefined;
    });
    return inflight;
  };

  return {
    save,
    clear,
    accessToken,
    hasSession: () => Boolean(storage.getItem(STORAGE_KEYS.refresh) ?? accessToken()),
    renewIn: () => Math.max(0, expiresAt() - margin() - now()),
    async validToken() {
      const token = accessToken();
      if (inflight) return inflight;
      if (token && !stale && expiresAt() - margin() > now()) return token;
      return refresh();
    },
    refresh,
    invalidate() {
      stale = true;
    },
  };
}
