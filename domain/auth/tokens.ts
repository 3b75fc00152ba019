import { createHash, randomBytes } from 'node:crypto';
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
 * Verifies signature, algorithm (HS256 only, so `alg: none` and key confusion
 * are refused), issuer, audience and expiry. Every failure is the same 401.
 */
export async function verifyAccessToken(
  token: string,
  secret: Uint8Array,
): Promise<VerifiedClaims> {
  try {
    const { payload } = await jwtVerify(token, secret, {
      algorithms: ['HS256'],
      issuer: ISSUER,
      audience: AUDIENCE,
      requiredClaims: ['exp', 'sub', 'sid'],
    });
    const parsed = payloadSchema.safeParse(payload);
    if (!parsed.success) throw new AppError('unauthorized', 'invalid access token');
    return { userId: parsed.data.sub, sessionId: parsed.data.sid, exp: parsed.data.exp };
  } catch (err) {
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
