import type { Deps } from '../../core/deps.ts';
import { unauthorized } from '../../core/errors.ts';
import { liveSessionExpiry } from './queries.ts';
import { type VerifiedClaims, verifyAccessToken } from './tokens.ts';

/**
 * Verifies an access token and that its session is still live (not logged out,
 * not revoked by reuse detection, its user not deleted). The HTTP routes (through
 * core/http/auth.ts) and the socket handshake both go through here.
 *
 * Both may be answered from the node's session cache (core/session-cache.ts): a
 * revocation is committed, then announced on a Redis channel every node hears
 * before the revoking request is answered, the revoking node forgets the session
 * first, and a node uses its memory only while it is subscribed (emptied on every
 * resubscription). So a handshake refused "at once" after a logout is refused by
 * any node, and a node that cannot hear revocations asks PostgreSQL every time.
 * A socket admitted from memory is no riskier than one admitted from PostgreSQL a
 * moment earlier: whatever happens to its session later, the session's room
 * disconnects it on logout, and the gateway's session sweep
 * (gateway/session-sweep.ts) closes it if the announcement was lost.
 *
 * `fresh` skips the cache (a socket's `auth:renew`, which extends a socket's life).
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
