import type { Sql, TxSql } from '../../core/db.ts';
import { USER_COLUMNS, type UserRow } from './user-rows.ts';

export async function findActiveUser(sql: Sql, id: string): Promise<UserRow | undefined> {
  const [row] = await sql<UserRow[]>`
    select ${sql.unsafe(USER_COLUMNS)} from users where id = ${id} and deleted_at is null`;
  return row;
}

/** A new account (signup). */
export async function insertUser(
  sql: Sql | TxSql,
  user: { email: string; handle: string; displayName: string; passwordHash: string },
): Promise<UserRow> {
  const [row] = await sql<UserRow[]>`
    insert into users (email, handle, display_name, password_hash)
    values (${user.email}, ${user.handle}, ${user.displayName}, ${user.passwordHash})
    returning ${sql.unsafe(USER_COLUMNS)}`;
  return row!;
}

/** A live account by its sign-in email, with its password hash. */
export async function findUserForLogin(
  sql: Sql,
  email: string,
): Promise<(UserRow & { passwordHash: string }) | undefined> {
  const [row] = await sql<(UserRow & { passwordHash: string })[]>`
    select ${sql.unsafe(USER_COLUMNS)}, password_hash as "passwordHash"
    from users where lower(email) = ${email} and deleted_at is null`;
  return row;
}

export async function updateProfile(
  sql: Sql,
  id: string,
  changes: { displayName?: string | undefined; bio?: string | undefined },
): Promise<UserRow | undefined> {
  const [row] = await sql<UserRow[]>`
    update users set
      display_name = coalesce(${changes.displayName ?? null}, display_name),
      bio = coalesce(${changes.bio ?? null}, bio),
      updated_at = now()
    where id = ${id} and deleted_at is null
    returning ${sql.unsafe(USER_COLUMNS)}`;
  return row;
}

/** Whether a deleted account's handle is still held back from new accounts. */
export async function isHandleHeld(sql: Sql, handle: string): Promise<boolean> {
  const [held] = await sql`select 1 from handle_holds where handle = ${handle} and until > now()`;
  return held !== undefined;
}

/** The sign-in data of a live account (to check a password again before a deletion). */
export async function findCredentials(
  sql: Sql,
  id: string,
): Promise<{ email: string; handle: string; passwordHash: string } | undefined> {
  const [row] = await sql<{ email: string; handle: string; passwordHash: string }[]>`
    select email, handle, password_hash as "passwordHash"
    from users where id = ${id} and deleted_at is null`;
  return row;
}

/** Marks the account deleted; false when it was already (a concurrent request got there first). */
export async function markDeleted(tx: TxSql, id: string): Promise<boolean> {
  const [marked] = await tx`
    update users set deleted_at = now() where id = ${id} and deleted_at is null returning 1`;
  return marked !== undefined;
}

/**
 * Scrubs a deleted account's personal data for good (email, handle, names, bio,
 * password hash) and holds its handle back until `holdUntil`.
 */
export async function scrubAccount(
  tx: TxSql,
  id: string,
  hold: { handle: string; holdUntil: Date },
): Promise<void> {
  await tx`
    insert into handle_holds (handle, until) values (${hold.handle}, ${hold.holdUntil})
    on conflict (handle) do update set until = greatest(handle_holds.until, excluded.until)`;
  await tx`
    update users set email = 'deleted+' || id || '@invalid', handle = 'deleted_' || replace(id::text, '-', ''),
      display_name = '', bio = '', password_hash = '', updated_at = now()
    where id = ${id}`;
}
