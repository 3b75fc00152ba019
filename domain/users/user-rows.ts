import type { Me, User } from './schema.ts';

/**
 * How a user is read: the row, its columns, and the public shape built from it.
 * Other domains embed a user (a post's author, a comment's, a notification's
 * actor) through the columns and builder here, so a profile is read one way.
 */

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

/** A user embedded in another row (post author, comment author, notification actor), prefixed `a`. */
export interface AuthorColumns {
  aId: string | null;
  aHandle: string;
  aDisplayName: string;
  aBio: string;
  aCreatedAt: Date;
  aFollowerCount: number;
  aFollowingCount: number;
  aPostCount: number;
}

/** Columns of users alias `t` for AuthorColumns; join it only while the account is active. */
export const embeddedUserColumns = (t: string) =>
  `${t}.id as "aId", ${t}.handle as "aHandle", ${t}.display_name as "aDisplayName",
  ${t}.bio as "aBio", ${t}.created_at as "aCreatedAt", ${t}.follower_count as "aFollowerCount",
  ${t}.following_count as "aFollowingCount", ${t}.post_count as "aPostCount"`;

/** The embedded user, or null when the account is gone ("unknown user"). */
export function authorOf(row: AuthorColumns): User | null {
  if (!row.aId) return null;
  return toUser({
    id: row.aId,
    email: '',
    handle: row.aHandle,
    displayName: row.aDisplayName,
    bio: row.aBio,
    createdAt: row.aCreatedAt,
    followerCount: row.aFollowerCount,
    followingCount: row.aFollowingCount,
    postCount: row.aPostCount,
  });
}
