import type { Sql } from '../../core/db.ts';
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
  const load = () => batchedSessionExpiry(deps.sql, claims.sessionId, claims.userId);
  const live = options.fresh
    ? (await load()) !== undefined
    : await deps.sessions.check(claims.sessionId, claims.userId, load);
  if (!live) throw unauthorized('session is no longer valid');
  return claims;
}

interface Lookup {
  sessionId: string;
  userId: string;
  resolve(expiresAt: Date | undefined): void;
  reject(err: unknown): void;
}

/** Most sessions one batched lookup asks for. */
const BATCH_MAX = 1_000;

/** Per pool, the lookups waiting for the end of this turn of the event loop. */
const waiting = new WeakMap<Sql, Lookup[]>();

/**
 * `liveSessionExpiry`, with the lookups asked for during one turn of the event loop
 * answered by one query: a reconnecting crowd of sockets (or a burst of requests) costs
 * PostgreSQL and this process one statement per turn rather than one per session. A lone
 * lookup waits for nothing but the end of the turn.
 */
function batchedSessionExpiry(sql: Sql, sessionId: string, userId: string) {
  return new Promise<Date | undefined>((resolve, reject) => {
    let lookups = waiting.get(sql);
    if (!lookups) {
      lookups = [];
      waiting.set(sql, lookups);
      setImmediate(() => {
        const batch = waiting.get(sql) ?? [];
        waiting.delete(sql);
        for (let i = 0; i < batch.length; i += BATCH_MAX) {
          void answer(sql, batch.slice(i, i + BATCH_MAX));
        }
      });
    }
    lookups.push({ sessionId, userId, resolve, reject });
  });
}

async function answer(sql: Sql, lookups: Lookup[]): Promise<void> {
  try {
    if (lookups.length === 1) {
      const [only] = lookups as [Lookup];
      only.resolve(await liveSessionExpiry(sql, only.sessionId, only.userId));
      return;
    }
    // The same conditions as liveSessionExpiry, for many sessions at once.
    const rows = await sql<{ id: string; userId: string; expiresAt: Date }[]>`
      select s.id, s.user_id as "userId", s.expires_at as "expiresAt"
      from sessions s join users u on u.id = s.user_id
      where s.id = any(${lookups.map((l) => l.sessionId)}::uuid[])
        and s.revoked_at is null and s.expires_at > now() and u.deleted_at is null`;
    const live = new Map(rows.map((row) => [row.id, row]));
    for (const lookup of lookups) {
      const row = live.get(lookup.sessionId);
      lookup.resolve(row && row.userId === lookup.userId ? row.expiresAt : undefined);
    }
  } catch (err) {
    for (const lookup of lookups) lookup.reject(err);
  }
}
