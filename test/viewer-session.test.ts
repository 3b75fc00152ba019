import { describe, expect, it } from 'vitest';
import {
  createSession,
  SessionEnded,
  STORAGE_KEYS,
  type TokenStore,
} from '../client/viewer/session.ts';

// The map viewer's token handling (server/viewer/session.ts), without a browser.

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const jwt = (iat: number, ttlS: number, tag = '') =>
  `${b64({ alg: 'HS256' })}.${b64({ iat, exp: iat + ttlS, tag })}.sig`;

function memoryStore(): TokenStore & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return {
    data,
    getItem: (k) => data.get(k) ?? null,
    setItem: (k, v) => void data.set(k, v),
    removeItem: (k) => void data.delete(k),
  };
}

function setup(reply: () => Promise<Response>) {
  let clock = 1_000_000_000_000;
  const storage = memoryStore();
  const calls: string[] = [];
  const session = createSession({
    storage,
    now: () => clock,
    fetch: async (_url, init) => {
      calls.push(String(init.body));
      return reply();
    },
  });
  return {
    storage,
    calls,
    session,
    advance: (ms: number) => {
      clock += ms;
    },
    nowS: () => Math.floor(clock / 1000),
  };
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('viewer session', () => {
  it('renews ahead of expiry, measured from when the token arrived', () => {
    const t = setup(() => Promise.reject(new Error('unused')));
    t.session.save({ accessToken: jwt(t.nowS(), 900), refreshToken: 'r1' });
    // 15 minutes, less the second lost to rounding, less a minute of margin.
    expect(t.session.renewIn()).toBe(900_000 - 1_000 - 60_000);
    t.session.save({ accessToken: jwt(t.nowS(), 3), refreshToken: 'r2' });
    expect(t.session.renewIn()).toBe(2_000 - 900);
    t.advance(5_000);
    expect(t.session.renewIn()).toBe(0);
  });

  it('refreshes once for concurrent callers, and keeps the new pair', async () => {
    const t = setup(async () => json(200, { accessToken: jwt(0, 3, 'new'), refreshToken: 'r2' }));
    t.session.save({ accessToken: jwt(t.nowS(), 3), refreshToken: 'r1' });
    t.advance(3_000);
    const [a, b] = await Promise.all([t.session.validToken(), t.session.validToken()]);
    expect(a).toBe(b);
    expect(t.calls).toEqual([JSON.stringify({ refreshToken: 'r1' })]);
    expect(t.storage.getItem(STORAGE_KEYS.refresh)).toBe('r2');
    // Fresh now: no further refresh.
    expect(await t.session.validToken()).toBe(a);
    expect(t.calls).toHaveLength(1);
  });

  it('refreshes a token the server refused even if it looks good here', async () => {
    const t = setup(async () => json(200, { accessToken: jwt(0, 900, 'new'), refreshToken: 'r2' }));
    const old = jwt(t.nowS(), 900);
    t.session.save({ accessToken: old, refreshToken: 'r1' });
    expect(await t.session.validToken()).toBe(old);
    t.session.invalidate();
    expect(await t.session.validToken()).not.toBe(old);
    expect(t.calls).toHaveLength(1);
  });

  it('ends the session when the refresh is refused, and forgets the tokens', async () => {
    const t = setup(async () =>
      json(401, { error: { code: 'unauthorized', message: 'invalid refresh token' } }),
    );
    t.session.save({ accessToken: jwt(t.nowS(), 3), refreshToken: 'r1' });
    t.advance(3_000);
    await expect(t.session.validToken()).rejects.toBeInstanceOf(SessionEnded);
    expect(t.storage.data.size).toBe(0);
    expect(t.session.hasSession()).toBe(false);
  });

  it('keeps the session through a failure that may pass (network down, 503)', async () => {
    let down = true;
    const t = setup(async () => {
      if (down) throw new TypeError('Failed to fetch');
      return json(503, { error: { code: 'unavailable', message: 'try later' } });
    });
    t.session.save({ accessToken: jwt(t.nowS(), 3), refreshToken: 'r1' });
    t.advance(3_000);
    const first = await t.session.validToken().catch((e: unknown) => e);
    expect(first).toBeInstanceOf(TypeError);
    down = false;
    const second = await t.session.validToken().catch((e: unknown) => e);
    expect(second).toBeInstanceOf(Error);
    expect(second).not.toBeInstanceOf(SessionEnded);
    expect(t.storage.getItem(STORAGE_KEYS.refresh)).toBe('r1');
  });

  it('a tab with only an old access token (no refresh token) ends its session when it runs out', async () => {
    const t = setup(() => Promise.reject(new Error('unused')));
    t.storage.setItem(STORAGE_KEYS.access, jwt(t.nowS() - 10, 3));
    expect(t.session.hasSession()).toBe(true);
    await expect(t.session.validToken()).rejects.toBeInstanceOf(SessionEnded);
  });
});
