import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { signAccessToken } from '../../domain/auth/tokens.ts';
import { buildUser, signup } from '../../test/helpers/builders.ts';
import { type ApiResponse, useTestContext } from '../../test/helpers/context.ts';

const ctx = useTestContext({
  LOGIN_LIMIT_PER_ACCOUNT_IP: '3',
  LOGIN_LIMIT_PER_ACCOUNT: '6',
  LOGIN_LIMIT_PER_IP: '8',
  SIGNUP_LIMIT_PER_IP: '5',
  TRUST_PROXY: 'true',
});

// Every request of this file comes from its own made-up address unless a test says otherwise,
// so the per-IP limits only bite where a test means them to.
let ipCounter = 0;
const freshIp = () => {
  ipCounter += 1;
  return `10.1.${Math.floor(ipCounter / 250)}.${(ipCounter % 250) + 1}`;
};
const from = (ip = freshIp()) => ({ 'x-forwarded-for': ip });

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

describe('signup', () => {
  it('creates an account, returns tokens and a usable access token', async () => {
    const input = buildUser({ handle: 'Whiskers_Fan', email: 'Whiskers@Example.COM' });
    const res = await ctx.request('POST', '/api/v1/auth/signup', { body: input, headers: from() });
    expect(res.status).toBe(201);
    expect(res.body.user).toMatchObject({
      handle: 'whiskers_fan',
      email: 'whiskers@example.com',
      displayName: input.displayName,
      bio: '',
      followerCount: 0,
      followingCount: 0,
      postCount: 0,
    });
    expect(typeof res.body.user.id).toBe('string');
    expect(new Date(res.body.user.createdAt).toISOString()).toBe(res.body.user.createdAt);
    expect(res.body.expiresIn).toBe(900);
    const me = await ctx.request('GET', '/api/v1/me', { token: res.body.accessToken });
    expect(me.status).toBe(200);
    expect(me.body.id).toBe(res.body.user.id);
  });

  it('stores a memory-hard hash, never the password', async () => {
    const u = await signup(ctx);
    const [row] = await ctx.deps.sql`select password_hash from users where id = ${u.id}`;
    expect(row!.password_hash).toMatch(/^scrypt\$10\$8\$1\$/);
    expect(row!.password_hash).not.toContain(u.input.password);
  });

  it('treats email case-insensitively and refuses a taken email with 409', async () => {
    const u = await signup(ctx);
    const again = buildUser({ email: u.input.email.toUpperCase() });
    const res = await ctx.request('POST', '/api/v1/auth/signup', { body: again, headers: from() });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: 'conflict', details: { field: 'email' } });
  });

  it('refuses a taken handle whatever its case', async () => {
    const u = await signup(ctx);
    const res = await ctx.request('POST', '/api/v1/auth/signup', {
      body: buildUser({ handle: u.input.handle.toUpperCase() }),
      headers: from(),
    });
    expect(res.status).toBe(409);
    expect(res.body.error.details).toEqual({ field: 'handle' });
  });

  it('gives exactly one account when the same signup races', async () => {
    const input = buildUser();
    const results = await Promise.all(
      [1, 2, 3].map(() =>
        ctx.request('POST', '/api/v1/auth/signup', { body: input, headers: from() }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409]);
  });

  it.each([
    ['missing fields', {}, ['email', 'password', 'handle', 'displayName']],
    ['bad email', { email: 'not-an-email' }, ['email']],
    ['short password', { password: 'short' }, ['password']],
    ['handle with a dash', { handle: 'cat-lover' }, ['handle']],
    ['handle starting with a digit', { handle: '9lives' }, ['handle']],
    ['handle too short', { handle: 'ab' }, ['handle']],
    ['reserved handle', { handle: 'Admin' }, ['handle']],
    ['empty display name', { displayName: '   ' }, ['displayName']],
    ['display name with control chars', { displayName: 'a\u0000b' }, ['displayName']],
    ['wrong types', { email: 42, password: ['x'] }, ['email', 'password']],
  ])('rejects %s with 400 naming the fields', async (_name, patch, fields) => {
    const body = Object.keys(patch).length === 0 ? {} : { ...buildUser(), ...patch };
    const res = await ctx.request('POST', '/api/v1/auth/signup', { body, headers: from() });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    const named = res.body.error.details.fields.map((f: { field: string }) => f.field);
    for (const field of fields) expect(named).toContain(field);
  });

  it('limits signups per IP with 429 and Retry-After', async () => {
    const ip = freshIp();
    const statuses: number[] = [];
    let last: ApiResponse | undefined;
    for (let i = 0; i < 6; i++) {
      last = await ctx.request('POST', '/api/v1/auth/signup', {
        body: buildUser(),
        headers: from(ip),
      });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([201, 201, 201, 201, 201, 429]);
    expect(last!.body.error.code).toBe('rate_limited');
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('login', () => {
  it('signs in with the right password, any email case', async () => {
    const u = await signup(ctx);
    const res = await ctx.request('POST', '/api/v1/auth/login', {
      body: { email: u.input.email.toUpperCase(), password: u.input.password },
      headers: from(),
    });
    expect(res.status).toBe(200);
    expect(res.body.user.id).toBe(u.id);
    expect(res.body.refreshToken).not.toBe(u.refreshToken);
  });

  it('answers the same 401 for a wrong password and an unknown email', async () => {
    const u = await signup(ctx);
    const wrong = await ctx.request('POST', '/api/v1/auth/login', {
      body: { email: u.input.email, password: 'not-the-password' },
      headers: from(),
    });
    const unknown = await ctx.request('POST', '/api/v1/auth/login', {
      body: { email: 'nobody@example.com', password: 'whatever-1' },
      headers: from(),
    });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body).toEqual(unknown.body);
  });

  it('refuses the guessing (account, IP) pair after repeated failures; a success clears its count', async () => {
    const a = await signup(ctx);
    const ip = freshIp();
    const attempt = (password: string, email = a.input.email) =>
      ctx.request('POST', '/api/v1/auth/login', { body: { email, password }, headers: from(ip) });
    expect((await attempt('wrong-1')).status).toBe(401);
    expect((await attempt(a.input.password)).status).toBe(200); // clears the pair's failures
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await attempt('wrong-2')).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    // From this IP even the right password waits: the pair, not the password, is refused.
    const locked = await attempt(a.input.password);
    expect(locked.status).toBe(429);
    expect(locked.body.error.code).toBe('rate_limited');
    const retryAfter = Number(locked.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    // Another account from the same IP is not affected.
    const b = await signup(ctx);
    expect((await attempt(b.input.password, b.input.email)).status).toBe(200);
  });

  it("lets the owner in from their own IP after a stranger's wrong guesses elsewhere", async () => {
    const a = await signup(ctx);
    const stranger = freshIp();
    const statuses = [];
    for (let i = 0; i < 10; i++) {
      const res = await ctx.request('POST', '/api/v1/auth/login', {
        body: { email: a.input.email, password: `guess-${i}` },
        headers: from(stranger),
      });
      statuses.push(res.status);
    }
    const owner = await ctx.request('POST', '/api/v1/auth/login', {
      body: { email: a.input.email, password: a.input.password },
      headers: from(),
    });
    expect(owner.status).toBe(200);
    expect(owner.body.user.id).toBe(a.id);
    // The stranger was stopped after the per-(account, IP) limit.
    expect(statuses).toEqual([401, 401, 401, ...Array(7).fill(429)]);
  });

  it('stops a distributed attack at the account-wide ceiling, except from IPs the owner used', async () => {
    const a = await signup(ctx);
    const home = freshIp();
    const login = (password: string, ip: string) =>
      ctx.request('POST', '/api/v1/auth/login', {
        body: { email: a.input.email, password },
        headers: from(ip),
      });
    expect((await login(a.input.password, home)).status).toBe(200);
    // A botnet: one guess from each of many addresses, so no (account, IP) pair and no IP
    // reaches its own limit.
    const statuses = [];
    for (let i = 0; i < 7; i++) statuses.push((await login(`guess-${i}`, freshIp())).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 401, 429]);
    // From an address the account never signed in from, even the right password now waits.
    const blocked = await login(a.input.password, freshIp());
    expect(blocked.status).toBe(429);
    expect(blocked.body.error.code).toBe('rate_limited');
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    // The owner, from where they signed in before, still gets in; that does not lift the
    // ceiling for everyone else.
    expect((await login(a.input.password, home)).status).toBe(200);
    expect((await login(a.input.password, freshIp())).status).toBe(429);
    // Other accounts are not affected.
    const b = await signup(ctx);
    const other = await ctx.request('POST', '/api/v1/auth/login', {
      body: { email: b.input.email, password: b.input.password },
      headers: from(),
    });
    expect(other.status).toBe(200);
  });

  /**
   * Twenty wrong guesses fired at once, none finished before the others start: at most
   * `allowed` are judged (401), the rest refused (429 with Retry-After), nothing else.
   */
  async function expectBurstLimited(
    guess: (i: number) => Promise<{ status: number; headers: Headers }>,
    allowed: number,
  ): Promise<void> {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => guess(i)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(allowed);
    expect(statuses.filter((s) => s !== 401 && s !== 429)).toEqual([]);
    for (const refused of results.filter((r) => r.status === 429)) {
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    }
  }

  it('counts concurrent guesses up front: a burst from one IP gets no more than the pair limit', async () => {
    const a = await signup(ctx);
    const ip = freshIp();
    await expectBurstLimited(
      (i) =>
        ctx.request('POST', '/api/v1/auth/login', {
          body: { email: a.input.email, password: `burst-${i}` },
          headers: from(ip),
        }),
      3,
    );
    // The burst stayed within the pair's share of the account ceiling: the owner elsewhere gets in.
    const owner = await ctx.request('POST', '/api/v1/auth/login', {
      body: { email: a.input.email, password: a.input.password },
      headers: from(),
    });
    expect(owner.status).toBe(200);
  });

  it('counts concurrent guesses from many IPs against the account ceiling up front', async () => {
    const a = await signup(ctx);
    const home = freshIp();
    const login = (password: string, ip: string) =>
      ctx.request('POST', '/api/v1/auth/login', {
        body: { email: a.input.email, password },
        headers: from(ip),
      });
    expect((await login(a.input.password, home)).status).toBe(200);
    await expectBurstLimited((i) => login(`botnet-${i}`, freshIp()), 6);
    expect((await login(a.input.password, freshIp())).status).toBe(429);
    // The owner's known IP is still exempt from the ceiling.
    expect((await login(a.input.password, home)).status).toBe(200);
  });

  it('applies the same limits to wrong passwords given to DELETE /me', async () => {
    const a = await signup(ctx);
    const ip = freshIp();
    const remove = (password: string, at = ip) =>
      ctx.request('DELETE', '/api/v1/me', {
        token: a.accessToken,
        body: { password },
        headers: from(at),
      });
    const login = (at: string) =>
      ctx.request('POST', '/api/v1/auth/login', {
        body: { email: a.input.email, password: a.input.password },
        headers: from(at),
      });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await remove(`guess-${i}`)).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    // That pair is refused for logins too, even with the right password...
    const pair = await login(ip);
    expect(pair.status).toBe(429);
    expect(Number(pair.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await remove(a.input.password)).status).toBe(429);
    // ...but the owner elsewhere is not locked out.
    expect((await login(freshIp())).status).toBe(200);
    // And they count towards the account-wide ceiling: 3 more from another address reach it.
    const second = freshIp();
    const more = [];
    for (let i = 0; i < 3; i++) more.push((await remove(`again-${i}`, second)).status);
    expect(more).toEqual([401, 401, 401]);
    expect((await login(freshIp())).status).toBe(429);
    expect((await ctx.request('GET', '/api/v1/me', { token: a.accessToken })).status).toBe(200);
  });

  it('counts concurrent wrong passwords given to DELETE /me up front too', async () => {
    const a = await signup(ctx);
    const ip = freshIp();
    await expectBurstLimited(
      (i) =>
        ctx.request('DELETE', '/api/v1/me', {
          token: a.accessToken,
          body: { password: `burst-${i}` },
          headers: from(ip),
        }),
      3,
    );
    // Still the owner's account, and they still sign in from elsewhere.
    const login = await ctx.request('POST', '/api/v1/auth/login', {
      body: { email: a.input.email, password: a.input.password },
      headers: from(),
    });
    expect(login.status).toBe(200);
  });

  it('limits attempts per IP across accounts, which stops password spraying', async () => {
    const ip = freshIp();
    const statuses = [];
    for (let i = 0; i < 9; i++) {
      const res = await ctx.request('POST', '/api/v1/auth/login', {
        body: { email: `nobody${i}@example.com`, password: 'whatever-1' },
        headers: from(ip),
      });
      statuses.push(res.status);
    }
    expect(statuses.slice(0, 8)).toEqual(Array(8).fill(401));
    expect(statuses[8]).toBe(429);
    // Every attempt from that IP now waits, whichever account and password.
    const u = await signup(ctx);
    const res = await ctx.request('POST', '/api/v1/auth/login', {
      body: { email: u.input.email, password: u.input.password },
      headers: from(ip),
    });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('rejects a malformed body with 400', async () => {
    const res = await ctx.request('POST', '/api/v1/auth/login', {
      body: { email: 'a@b.c' },
      headers: from(),
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details.fields[0].field).toBe('password');
    const nul = await ctx.request('POST', '/api/v1/auth/login', {
      body: { email: '\u0000', password: 'whatever-1' },
      headers: from(),
    });
    expect(nul.status).toBe(400);
    expect(nul.body.error.details.fields[0].field).toBe('email');
  });
});

describe('refresh', () => {
  it('rotates: the new pair works and the old refresh token is spent', async () => {
    const u = await signup(ctx);
    const res = await ctx.request('POST', '/api/v1/auth/refresh', {
      body: { refreshToken: u.refreshToken },
    });
    expect(res.status).toBe(200);
    expect(res.body.refreshToken).not.toBe(u.refreshToken);
    expect((await ctx.request('GET', '/api/v1/me', { token: res.body.accessToken })).status).toBe(
      200,
    );
    const next = await ctx.request('POST', '/api/v1/auth/refresh', {
      body: { refreshToken: res.body.refreshToken },
    });
    expect(next.status).toBe(200);
  });

  it('presenting a spent token revokes the whole family', async () => {
    const u = await signup(ctx);
    const first = await ctx.request('POST', '/api/v1/auth/refresh', {
      body: { refreshToken: u.refreshToken },
    });
    expect(first.status).toBe(200);
    const replay = await ctx.request('POST', '/api/v1/auth/refresh', {
      body: { refreshToken: u.refreshToken },
    });
    expect(replay.status).toBe(401);
    expect(replay.body.error.code).toBe('unauthorized');
    // The legitimate successor and its access token are dead too.
    const successor = await ctx.request('POST', '/api/v1/auth/refresh', {
      body: { refreshToken: first.body.refreshToken },
    });
    expect(successor.status).toBe(401);
    expect((await ctx.request('GET', '/api/v1/me', { token: first.body.accessToken })).status).toBe(
      401,
    );
    // Another session of the same user (another device) is untouched.
    const other = await ctx.request('POST', '/api/v1/auth/login', {
      body: { email: u.input.email, password: u.input.password },
      headers: from(),
    });
    expect((await ctx.request('GET', '/api/v1/me', { token: other.body.accessToken })).status).toBe(
      200,
    );
  });

  it('lets exactly one of several concurrent refreshes of one token win', async () => {
    const u = await signup(ctx);
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        ctx.request('POST', '/api/v1/auth/refresh', { body: { refreshToken: u.refreshToken } }),
      ),
    );
    const ok = results.filter((r) => r.status === 200);
    expect(ok).toHaveLength(1);
    expect(results.filter((r) => r.status === 401)).toHaveLength(4);
    // The losers were replays of a spent token: the family is revoked, the winner's tokens too.
    const winner = ok[0]!.body;
    expect(
      (
        await ctx.request('POST', '/api/v1/auth/refresh', {
          body: { refreshToken: winner.refreshToken },
        })
      ).status,
    ).toBe(401);
    const [row] = await ctx.deps.sql`
      select count(*)::int as n from sessions where user_id = ${u.id} and revoked_reason = 'reuse'`;
    expect(row!.n).toBe(1);
  });

  it('refuses unknown, empty and expired refresh tokens', async () => {
    expect(
      (await ctx.request('POST', '/api/v1/auth/refresh', { body: { refreshToken: 'nope' } }))
        .status,
    ).toBe(401);
    expect(
      (await ctx.request('POST', '/api/v1/auth/refresh', { body: { refreshToken: '' } })).status,
    ).toBe(400);
    const u = await signup(ctx);
    await ctx.deps.sql`
      update refresh_tokens set expires_at = now() - interval '1 second'
      where session_id in (select id from sessions where user_id = ${u.id})`;
    const res = await ctx.request('POST', '/api/v1/auth/refresh', {
      body: { refreshToken: u.refreshToken },
    });
    expect(res.status).toBe(401);
    expect(res.body.error.message).toMatch(/expired/);
  });
});

describe('logout', () => {
  it('ends the session: refresh and access tokens stop working at once', async () => {
    const u = await signup(ctx);
    const res = await ctx.request('POST', '/api/v1/auth/logout', {
      body: { refreshToken: u.refreshToken },
    });
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expect(
      (
        await ctx.request('POST', '/api/v1/auth/refresh', {
          body: { refreshToken: u.refreshToken },
        })
      ).status,
    ).toBe(401);
    expect((await ctx.request('GET', '/api/v1/me', { token: u.accessToken })).status).toBe(401);
  });

  it('is idempotent and answers 204 for unknown tokens', async () => {
    const u = await signup(ctx);
    for (const token of [u.refreshToken, u.refreshToken, 'unknown-token']) {
      expect(
        (await ctx.request('POST', '/api/v1/auth/logout', { body: { refreshToken: token } }))
          .status,
      ).toBe(204);
    }
  });
});

describe('access tokens', () => {
  const secret = new TextEncoder().encode('test-secret-that-is-long-enough-for-hs256-0123456789');

  it('requires a bearer token', async () => {
    const none = await ctx.request('GET', '/api/v1/me');
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('unauthorized');
    const basic = await ctx.request('GET', '/api/v1/me', {
      headers: { authorization: 'Basic dXNlcjpwYXNz' },
    });
    expect(basic.status).toBe(401);
  });

  it('rejects a tampered token', async () => {
    const u = await signup(ctx);
    const other = await signup(ctx);
    const [header, payload, signature] = u.accessToken.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    const forged = `${header}.${b64({ ...claims, sub: other.id })}.${signature}`;
    expect((await ctx.request('GET', '/api/v1/me', { token: forged })).status).toBe(401);
    const flipped = `${header}.${payload}.${signature!.slice(0, -2)}${signature!.endsWith('A') ? 'B' : 'A'}A`;
    expect((await ctx.request('GET', '/api/v1/me', { token: flipped })).status).toBe(401);
  });

  it('rejects alg "none" and other algorithms', async () => {
    const u = await signup(ctx);
    const claims = JSON.parse(Buffer.from(u.accessToken.split('.')[1]!, 'base64url').toString());
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
    expect((await ctx.request('GET', '/api/v1/me', { token: unsigned })).status).toBe(401);
    const hs512 = await new SignJWT(claims).setProtectedHeader({ alg: 'HS512' }).sign(secret);
    expect((await ctx.request('GET', '/api/v1/me', { token: hs512 })).status).toBe(401);
  });

  it('rejects an expired token and one signed with another secret', async () => {
    const u = await signup(ctx);
    const claims = JSON.parse(Buffer.from(u.accessToken.split('.')[1]!, 'base64url').toString());
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({ ...claims, iat: now - 1000, exp: now - 10 })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(secret);
    const res = await ctx.request('GET', '/api/v1/me', { token: expired });
    expect(res.status).toBe(401);
    expect(res.body.error.message).toMatch(/expired/);
    const foreign = await signAccessToken(
      { userId: u.id, sessionId: claims.sid },
      new TextEncoder().encode('another-secret-that-is-also-long-enough-000000'),
      60_000,
    );
    expect((await ctx.request('GET', '/api/v1/me', { token: foreign })).status).toBe(401);
    // The same claims signed with the real secret do work: the refusals above are about the token.
    const genuine = await signAccessToken({ userId: u.id, sessionId: claims.sid }, secret, 60_000);
    expect((await ctx.request('GET', '/api/v1/me', { token: genuine })).status).toBe(200);
  });

  it('rejects tokens of a deleted account', async () => {
    const u = await signup(ctx);
    await ctx.deps.sql`update users set deleted_at = now() where id = ${u.id}`;
    expect((await ctx.request('GET', '/api/v1/me', { token: u.accessToken })).status).toBe(401);
    expect(
      (
        await ctx.request('POST', '/api/v1/auth/login', {
          body: { email: u.input.email, password: u.input.password },
          headers: from(),
        })
      ).status,
    ).toBe(401);
    expect(
      (
        await ctx.request('POST', '/api/v1/auth/refresh', {
          body: { refreshToken: u.refreshToken },
        })
      ).status,
    ).toBe(401);
  });
});

describe('me', () => {
  it('updates display name and bio, and keeps what is not sent', async () => {
    const u = await signup(ctx);
    const res = await ctx.request('PATCH', '/api/v1/me', {
      token: u.accessToken,
      body: { bio: '  Strays of Lisbon.\nMostly cats.  ' },
    });
    expect(res.status).toBe(200);
    expect(res.body.bio).toBe('Strays of Lisbon.\nMostly cats.');
    expect(res.body.displayName).toBe(u.input.displayName);
    const again = await ctx.request('PATCH', '/api/v1/me', {
      token: u.accessToken,
      body: { displayName: 'Nina' },
    });
    expect(again.body).toMatchObject({
      displayName: 'Nina',
      bio: 'Strays of Lisbon.\nMostly cats.',
    });
    const me = await ctx.request('GET', '/api/v1/me', { token: u.accessToken });
    expect(me.body).toMatchObject({ displayName: 'Nina', handle: u.input.handle });
  });

  it.each([
    ['unknown field', { handle: 'newhandle' }],
    ['too long bio', { bio: 'x'.repeat(301) }],
    ['wrong type', { displayName: 7 }],
    ['empty display name', { displayName: '' }],
  ])('rejects %s with 400', async (_name, body) => {
    const u = await signup(ctx);
    const res = await ctx.request('PATCH', '/api/v1/me', { token: u.accessToken, body });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
  });

  it('needs authentication', async () => {
    expect((await ctx.request('PATCH', '/api/v1/me', { body: { bio: 'x' } })).status).toBe(401);
  });
});
