import type { Sql, TxSql } from '../../core/db.ts';

export interface SessionMeta {
  userAgent: string | null;
  ip: string | null;
}

/** Opens a session (a refresh-token family) with its first refresh token. */
export async function insertSession(
  sql: Sql | TxSql,
  input: { userId: string; tokenHash: Buffer; ttlMs: number; meta: SessionMeta },
): Promise<string> {
  const expiresAt = new Date(Date.now() + input.ttlMs);
  const [session] = await sql<{ id: string }[]>`
    insert into sessions (user_id, expires_at, user_agent, ip)
    values (${input.userId}, ${expiresAt}, ${input.meta.userAgent}, ${input.meta.ip})
    returning id`;
  await sql`
    insert into refresh_tokens (token_hash, session_id, expires_at)
    values (${input.tokenHash}, ${session!.id}, ${expiresAt})`;
  return session!.id;
}

export type RotateResult =
  | { ok: true; userId: string; sessionId: string }
  | { ok: false; reason: 'unknown' | 'expired' | 'revoked' }
  | { ok: false; reason: 'reuse'; sessionId: string };

/**
 * Spends a refresh token and stores its successor, in one transaction with the
 * token row locked, so two concurrent refreshes of the same token cannot both
 * win. Presenting a token that was already spent is treated as theft: the whole
 * session (every token of the family) is revoked.
 */
export async function rotateRefreshToken(
  sql: Sql,
  input: { tokenHash: Buffer; nextHash: Buffer; ttlMs: number },
): Promise<RotateResult> {
  return sql.begin(async (tx): Promise<RotateResult> => {
    const [token] = await tx<
      {
        sessionId: string;
        spentAt: Date | null;
        expiresAt: Date;
        userId: string;
        revokedAt: Date | null;
        sessionExpiresAt: Date;
        deletedAt: Date | null;
      }[]
    >`
      select t.session_id as "sessionId", t.spent_at as "spentAt", t.expires_at as "expiresAt",
        s.user_id as "userId", s.revoked_at as "revokedAt", s.expires_at as "sessionExpiresAt",
        u.deleted_at as "deletedAt"
      from refresh_tokens t
      join sessions s on s.id = t.session_id
      join users u on u.id = s.user_id
      where t.token_hash = ${input.tokenHash}
      for update of t, s`;
    if (!token) return { ok: false, reason: 'unknown' };
    if (token.revokedAt || token.deletedAt) return { ok: false, reason: 'revoked' };
    if (token.spentAt) {
      await tx`
        update sessions set revoked_at = now(), revoked_reason = 'reuse'
        where id = ${token.sessionId} and revoked_at is null`;
      return { ok: false, reason: 'reuse', sessionId: token.sessionId };
    }
    const now = Date.now();
    if (token.expiresAt.getTime() <= now || token.sessionExpiresAt.getTime() <= now) {
      return { ok: false, reason: 'expired' };
    }
    const expiresAt = new Date(now + input.ttlMs);
    await tx`update refresh_tokens set spent_at = now() where token_hash = ${input.tokenHash}`;
    await tx`
      insert into refresh_tokens (token_hash, session_id, expires_at)
      values (${input.nextHash}, ${token.sessionId}, ${expiresAt})`;
    await tx`
      update sessions set last_used_at = now(), expires_at = ${expiresAt}
      where id = ${token.sessionId}`;
    return { ok: true, userId: token.userId, sessionId: token.sessionId };
  });
}

/** Revokes the session a refresh token belongs to; unknown tokens are ignored. Returns the session revoked. */
export async function revokeSessionByToken(
  sql: Sql,
  tokenHash: Buffer,
): Promise<string | undefined> {
  const [row] = await sql<{ id: string }[]>`
    update sessions set revoked_at = now(), revoked_reason = 'logout'
    where id = (select session_id from refresh_tokens where token_hash = ${tokenHash})
      and revoked_at is null
    returning id`;
  return row?.id;
}

/** Drops sessions that expired or were revoked long enough ago that no one can present their tokens. */
export async function purgeStaleSessions(sql: Sql, olderThanMs: number): Promise<number> {
  const before = new Date(Date.now() - olderThanMs);
  const result = await sql`
    delete from sessions
    where expires_at < ${before} or (revoked_at is not null and revoked_at < ${before})`;
  return result.count;
}

/** Revokes every live session of an account (its deletion): no refresh token works any more. */
export async function revokeAllSessions(tx: TxSql, userId: string, reason: string): Promise<void> {
  await tx`
    update sessions set revoked_at = now(), revoked_reason = ${reason}
    where user_id = ${userId} and revoked_at is null`;
}

/**
 * Of these sessions, the live ones (not revoked, not expired, their user not deleted),
 * each with its user and expiry, in one query. Checked for every authenticated request
 * and handshake the session cache cannot answer (see authenticate.ts).
 */
export async function liveSessionExpiries(
  sql: Sql,
  sessionIds: readonly string[],
): Promise<Map<string, { userId: string; expiresAt: Date }>> {
  const rows = await sql<{ id: string; userId: string; expiresAt: Date }[]>`
    select s.id, s.user_id as "userId", s.expires_at as "expiresAt"
    from sessions s join users u on u.id = s.user_id
    where s.id = any(${sessionIds}::uuid[])
      and s.revoked_at is null and s.expires_at > now() and u.deleted_at is null`;
  return new Map(rows.map(({ id, ...row }) => [id, row]));
}

/**
 * Of these sessions, the ones still live (as `liveSessionExpiries` means it), in one query per
 * 10,000: how a gateway finds, among the sockets it holds, those whose session ended.
 */
export async function liveSessionIds(
  sql: Sql,
  sessionIds: readonly string[],
): Promise<Set<string>> {
  const live = new Set<string>();
  for (let i = 0; i < sessionIds.length; i += 10_000) {
    const chunk = sessionIds.slice(i, i + 10_000);
    const rows = await sql<{ id: string }[]>`
      select s.id from sessions s join users u on u.id = s.user_id
      where s.id = any(${chunk}::uuid[]) and s.revoked_at is null
        and s.expires_at > now() and u.deleted_at is null`;
    for (const row of rows) live.add(row.id);
  }
  return live;
}
