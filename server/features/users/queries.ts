import type { Sql } from '../../../core/db.ts';
import type { Me, User } from './schema.ts';

export interface UserRow {
  id: string;
  email: string;
  handle: string;
  displayName: string;
  bio: string;
  createdAt: Date;
  followerCount: number;
  followingCount: number;
  postCount: number;
}

/** The columns every user read selects (of table alias `t`), aliased to the row shape above. */
export const userColumns = (t = 'users') =>
  `${t}.id, ${t}.email, ${t}.handle, ${t}.display_name as "displayName", ${t}.bio,
  ${t}.created_at as "createdAt", ${t}.follower_count as "followerCount",
  ${t}.following_count as "followingCount", ${t}.post_count as "postCount"`;

export const USER_COLUMNS = userColumns();

export function toUser(row: UserRow): User {
  return {
    id: row.id,
    handle: row.handle,
    displayName: row.displayName,
    bio: row.bio,
    createdAt: row.createdAt.toISOString(),
    followerCount: row.followerCount,
    followingCount: row.followingCount,
    postCount: row.postCount,
  };
}

export function toMe(row: UserRow): Me {
  return { ...toUser(row), email: row.email };
}

export async function findActiveUser(sql: Sql, id: string): Promise<UserRow | undefined> {
  const [row] = await sql<UserRow[]>`
    select ${sql.unsafe(USER_COLUMNS)} from users where id = ${id} and deleted_at is null`;
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
