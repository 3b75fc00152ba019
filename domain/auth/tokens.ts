import { createHash, randomBytes, webcrypto } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';
import { AppError } from '../../core/errors.ts';

const ISSUER = 'unimal';
const AUDIENCE = 'unimal';

export interface AccessClaims {
  userId: string;
  sessionId: string;
}

export interface VerifiedClaims extends AccessClaims {
  /** Expiry, in seconds since the epoch. */
  exp: number;
}

/** Short-lived access token: HS256 JWT naming the user and the session (refresh family). */
export async function signAccessToken(
  claims: AccessClaims,
  secret: Uint8Array,
  ttlMs: number,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sid: claims.sessionId })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.userId)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + Math.max(1, Math.round(ttlMs / 1000)))
    .sign(secret);
}

const payloadSchema = z.object({ sub: z.uuid(), sid: z.uuid(), exp: z.number() });

/**
 * Tokens this process has already verified, per secret. A client sends the same access
 * token with every request and handshake for its whole life, and checking its HMAC through
 * WebCrypto (an imported key and a thread-pool job each time) cost a loaded server node
 * more than the rest of a small request. A signature check is a pure function of the token
 * and the secret, so remembering its success is exact; expiry is checked again on every
 * use, and whether the session is still live is not this function's business (see
 * authenticate.ts). Bounded: past MAX_VERIFIED the oldest entries go.
 */
const verified = new WeakMap<Uint8Array, Map<string, VerifiedClaims>>();
const MAX_VERIFIED = 100_000;
/** The secret imported once as a WebCrypto key, for the tokens not yet verified. */
const keys = new WeakMap<Uint8Array, Promise<webcrypto.CryptoKey>>();

function keyFor(secret: Uint8Array): Promise<webcrypto.CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = webcrypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, [
      'verify',
    ]);
    keys.set(secret, key);
  }
  return key;
}

/**
 * Verifies signature, algorithm (HS256 only, so `alg: none` and key confusion
 * are refused), issuer, audience and expiry. Every failure is the same 401.
 */
export async function verifyAccessToken(
  token: string,
  secret: Uint8Array,
): Promise<VerifiedClaims> {
  let known = verified.get(secret);
  const claims = known?.get(token);
  if (claims && claims.exp > Date.now() / 1000) return { ...claims };
  try {
    const { payload } = await jwtVerify(token, await keyFor(secret), {
      algorithms: ['HS256'],
      issuer: ISSUER,
      audience: AUDIENCE,
      requiredClaims: ['exp', 'sub', 'sid'],
    });
    const parsed = payloadSchema.safeParse(payload);
    if (!parsed.success) throw new AppError('unauthorized', 'invalid access token');
    const result = { userId: parsed.data.sub, sessionId: parsed.data.sid, exp: parsed.data.exp };
    if (!known) {
      known = new Map();
      verified.set(secret, known);
    }
    known.delete(token);
    known.set(token, result);
    if (known.size > MAX_VERIFIED) known.delete(known.keys().next().value!);
    return { ...result };
  } catch (err) {
    if (claims) known?.delete(token);
    if (err instanceof AppError) throw err;
    const expired = err instanceof joseErrors.JWTExpired;
    throw new AppError('unauthorized', expired ? 'access token expired' : 'invalid access token');
  }
}

/** Refresh tokens are 256 random bits; only their SHA-256 is stored. */
export function newRefreshToken(): { token: string; hash: Buffer } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashRefreshToken(token) };
}

export function hashRefreshToken(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
