import { SignJWT } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AppError } from '../../core/errors.ts';
import { hashRefreshToken, newRefreshToken, signAccessToken, verifyAccessToken } from './tokens.ts';

const SECRET = new TextEncoder().encode('a-test-secret-that-is-long-enough-for-hs256-0123');
const OTHER = new TextEncoder().encode('another-secret-that-is-long-enough-for-hs256-456');
const CLAIMS = {
  userId: '01920000-0000-7000-8000-000000000001',
  sessionId: '01920000-0000-7000-8000-000000000002',
};

async function refusal(token: string, secret = SECRET): Promise<AppError> {
  try {
    await verifyAccessToken(token, secret);
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('the token was accepted');
}

/** A token with these claims and header, signed with the test secret. */
function forge(payload: Record<string, unknown>, alg = 'HS256') {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: 'unimal', aud: 'unimal', iat: now, exp: now + 60, ...payload })
    .setProtectedHeader({ alg })
    .sign(SECRET);
}

afterEach(() => {
  vi.useRealTimers();
});

describe('access tokens', () => {
  it('carry the user and the session, and expire after the ttl (whole seconds, at least one)', async () => {
    vi.useFakeTimers({ now: new Date('2026-03-01T12:00:00Z'), toFake: ['Date'] });
    const now = Date.now() / 1000;
    const token = await signAccessToken(CLAIMS, SECRET, 90_400);
    expect(await verifyAccessToken(token, SECRET)).toEqual({ ...CLAIMS, exp: now + 90 });
    const tiny = await signAccessToken(CLAIMS, SECRET, 1);
    expect((await verifyAccessToken(tiny, SECRET)).exp).toBe(now + 1);
  });

  it('are refused once expired, as expired', async () => {
    vi.useFakeTimers({ now: new Date('2026-03-01T12:00:00Z'), toFake: ['Date'] });
    const token = await signAccessToken(CLAIMS, SECRET, 10_000);
    vi.setSystemTime(new Date('2026-03-01T12:00:11Z'));
    expect(await refusal(token)).toMatchObject({
      code: 'unauthorized',
      message: 'access token expired',
    });
  });

  it('are still refused once expired after being verified while valid', async () => {
    vi.useFakeTimers({ now: new Date('2026-03-01T12:00:00Z'), toFake: ['Date'] });
    const token = await signAccessToken(CLAIMS, SECRET, 10_000);
    expect(await verifyAccessToken(token, SECRET)).toMatchObject(CLAIMS);
    vi.setSystemTime(new Date('2026-03-01T12:00:09Z'));
    expect(await verifyAccessToken(token, SECRET)).toMatchObject(CLAIMS);
    vi.setSystemTime(new Date('2026-03-01T12:00:11Z'));
    expect(await refusal(token)).toMatchObject({ message: 'access token expired' });
  });

  it('verified under one secret are still refused under another', async () => {
    const token = await signAccessToken(CLAIMS, SECRET, 60_000);
    expect(await verifyAccessToken(token, SECRET)).toMatchObject(CLAIMS);
    expect(await refusal(token, OTHER)).toMatchObject({ message: 'invalid access token' });
    // And a caller changing the claims it was handed changes nothing for the next one.
    const first = await verifyAccessToken(token, SECRET);
    first.userId = CLAIMS.sessionId;
    expect(await verifyAccessToken(token, SECRET)).toMatchObject(CLAIMS);
  });

  it('are refused when signed with another secret, tampered with, or not tokens at all', async () => {
    const token = await signAccessToken(CLAIMS, SECRET, 60_000);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const tampered = Buffer.from(JSON.stringify({ ...claims, sub: CLAIMS.sessionId })).toString(
      'base64url',
    );
    for (const bad of [
      await signAccessToken(CLAIMS, OTHER, 60_000),
      `${header}.${tampered}.${signature}`,
      `${header}.${payload}.`,
      '',
      'garbage',
      'a.b.c',
    ]) {
      expect(await refusal(bad)).toMatchObject({
        code: 'unauthorized',
        message: 'invalid access token',
      });
    }
  });

  it('are refused without HS256, the issuer, the audience, or uuid subject and session', async () => {
    const unsigned = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(
      JSON.stringify({ sub: CLAIMS.userId, sid: CLAIMS.sessionId, exp: 9e9 }),
    ).toString('base64url')}.`;
    const forged = [
      unsigned,
      await forge({ sub: CLAIMS.userId, sid: CLAIMS.sessionId }, 'HS512'),
      await forge({ sub: CLAIMS.userId, sid: CLAIMS.sessionId, iss: 'someone' }),
      await forge({ sub: CLAIMS.userId, sid: CLAIMS.sessionId, aud: 'someone' }),
      await forge({ sub: 'not-a-uuid', sid: CLAIMS.sessionId }),
      await forge({ sub: CLAIMS.userId }),
      await forge({ sid: CLAIMS.sessionId }),
    ];
    for (const token of forged) {
      expect((await refusal(token)).code).toBe('unauthorized');
    }
    // The control: the same forging with nothing wrong is accepted.
    const good = await forge({ sub: CLAIMS.userId, sid: CLAIMS.sessionId });
    expect(await verifyAccessToken(good, SECRET)).toMatchObject(CLAIMS);
  });
});

describe('refresh tokens', () => {
  it('are 256 random bits, stored only as their SHA-256', () => {
    const a = newRefreshToken();
    const b = newRefreshToken();
    expect(Buffer.from(a.token, 'base64url')).toHaveLength(32);
    expect(a.token).not.toBe(b.token);
    expect(a.hash).toHaveLength(32);
    expect(a.hash.equals(hashRefreshToken(a.token))).toBe(true);
    expect(a.hash.equals(hashRefreshToken(b.token))).toBe(false);
    expect(hashRefreshToken('abc').toString('hex')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });
});
