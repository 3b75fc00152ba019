import type { Deps } from '../../core/deps.ts';
import { unauthorized } from '../../core/errors.ts';
import { liveSessionExpiry } from './queries.ts';
import { type VerifiedClaims, verifyAccessToken } from './tokens.ts';

/**
 * Verifies an access token and that its session is still live (not logged out,
 * not revoked by reuse detection, its user not deleted). The HTTP routes (through
 * core/http/auth.ts) and the socket handshake both go through here.
 *
 * HTTP requests may be answered from the node's session cache (revocations
 * reach every node within a moment, see core/session-cache.ts); a socket, which
 * lives for long once admitted, is always checked against PostgreSQL (`fresh`).
 */
export async function authenticate(
  deps: Pick<Deps, 'sql' | 'config' | 'sessions'>,
  token: string,
  options: { fresh?: boolean } = {},
): Promise<VerifiedClaims> {
  const claims = await verifyAccessToken(token, deps.config.jwtSecret);
  const load = () => liveSessionExpiry(deps.sql, claims.sessionId, claims.userId);
  const live = options.fresh
    ? (await load()) !== undefined
    : await deps.sessions.check(claims.sessionId, claims.userId, load);
  if (!live) throw unauthorized('session is no longer valid');
  return claims;
}
