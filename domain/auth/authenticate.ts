import { batchedPer } from '../../core/batches.ts';
import type { Sql } from '../../core/db.ts';
import type { Deps } from '../../core/deps.ts';
import { unauthorized } from '../../core/errors.ts';
import { liveSessionExpiries } from './queries.ts';
import { type VerifiedClaims, verifyAccessToken } from './tokens.ts';

/**
 * Verifies an access token and that its session is still live (not logged out,
 * not revoked by reuse detection, its user not deleted). The HTTP routes (through
 * core/http/auth.ts) and the socket handshake both go through here.
 *
 * Both may be answered from the node's session cache (core/session-cache.ts): a
 * revocation is committed, the revoking node forgets the session, and Redis has
 * handed the announcement to every node's subscription before the revoking request
 * is answered; a node uses its memory only while it is subscribed (emptied on every
 * resubscription), and asks PostgreSQL every time otherwise. So a handshake that
 * follows a logout's answer is refused on any node (test/realtime/
 * handshake-sessions.test.ts). A socket admitted from memory is no riskier than
 * one admitted from PostgreSQL a moment earlier: whatever happens to its session
 * later, the session's room disconnects it on logout, and the gateway's session
 * sweep (gateway/session-sweep.ts) closes it if the announcement was lost.
 *
 * `fresh` skips the cache (a socket's `auth:renew`, which extends a socket's life).
 */
export async function authenticate(
  deps: Pick<Deps, 'sql' | 'config' | 'sessions'>,
  token: string,
  options: { fresh?: boolean } = {},
): Promise<VerifiedClaims> {
  const claims = await verifyAccessToken(token, deps.config.jwtSecret);
  const load = () => batchedSessionExpiry(deps.sql, claims);
  const live = options.fresh
    ? (await load()) !== undefined
    : await deps.sessions.check(claims.sessionId, claims.userId, load);
  if (!live) throw unauthorized('session is no longer valid');
  return claims;
}

/**
 * A session's expiry when it is live, the lookups asked for during one turn of the event
 * loop answered by one query (`liveSessionExpiries`): a reconnecting crowd of sockets (or
 * a burst of requests) costs PostgreSQL and this process one statement per turn rather
 * than one per session. A lone lookup waits for nothing but the end of the turn.
 */
const batchedSessionExpiry = batchedPer<
  Sql,
  { sessionId: string; userId: string },
  Date | undefined
>({
  maxBatchSize: 1_000,
  async run(sql, lookups) {
    const live = await liveSessionExpiries(
      sql,
      lookups.map((l) => l.sessionId),
    );
    return lookups.map((lookup) => {
      const session = live.get(lookup.sessionId);
      return session && session.userId === lookup.userId ? session.expiresAt : undefined;
    });
  },
});
