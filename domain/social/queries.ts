import type { Sql, TxSql } from '../../core/db.ts';
import { type UserRow, userColumns } from '../users/index.ts';

/**
 * Locks both users' rows in id order (two people following each other at the
 * same moment would otherwise deadlock) and says whether the other user is an
 * active account. Holding the lock also orders follows against an account
 * deletion, so no edge to a deleted account is made after its cleanup ran.
 */
async function lockPair(tx: TxSql, followerId: string, followeeId: string): Promise<boolean> {
  const rows = await tx<{ id: string; active: boolean }[]>`
    select id, deleted_at is null as active from users
    where id in (${followerId}, ${followeeId}) order by id for update`;
  return rows.some((r) => r.id === followeeId && r.active);
}

export type FollowResult = { found: false } | { found: true; createdAt?: Date };

/**
 * Adds the edge if it is not there. `createdAt` is set only when this call
 * created it, so the event is recorded once however often a client retries.
 */
export async function follow(
  tx: TxSql,
  followerId: string,
  followeeId: string,
): Promise<FollowResult> {
  if (!(await lockPair(tx, followerId, followeeId))) return { found: false };
  const [row] = await tx<{ createdAt: Date }[]>`
    insert into follows (follower_id, followee_id) values (${followerId}, ${followeeId})
    on conflict do nothing
    returning created_at as "createdAt"`;
  if (!row) return { found: true };
  await adjustCounts(tx, followerId, followeeId, 1);
  return { found: true, createdAt: row.createdAt };
}

/** Removes the edge if it is there; `found` is false only for an unknown user with no edge to remove. */
export async function unfollow(
  tx: TxSql,
  followerId: string,
  followeeId: string,
): Promise<{ found: boolean }> {
  const active = await lockPair(tx, followerId, followeeId);
  const rows = await tx`
    delete from follows where follower_id = ${followerId} and followee_id = ${followeeId}
    returning 1`;
  if (rows.length > 0) await adjustCounts(tx, followerId, followeeId, -1);
  return { found: active || rows.length > 0 };
}

async function adjustCounts(tx: TxSql, followerId: string, followeeId: string, delta: 1 | -1) {
  await tx`
    update users set
      following_count = following_count + case when id = ${followerId} then ${delta}::int else 0 end,
      follower_count = follower_count + case when id = ${followeeId} then ${delta}::int else 0 end
    where id in (${followerId}, ${followeeId})`;
}

/** `edgeKey` is the edge's creation time in microseconds since the epoch: exact, for the cursor. */
export type EdgeRow = UserRow & { edgeKey: number };

/** Followers of a user (direction 'followers') or the users they follow ('following'), newest edge first. */
export async function listEdges(
  sql: Sql,
  userId: string,
  direction: 'followers' | 'following',
  limit: number,
  after?: { us: number; id: string },
): Promise<EdgeRow[]> {
  const [mine, theirs] =
    direction === 'followers' ? ['followee_id', 'follower_id'] : ['follower_id', 'followee_id'];
  return sql<EdgeRow[]>`
    select ${sql.unsafe(userColumns('u'))}, (extract(epoch from f.created_at) * 1000000)::bigint as "edgeKey"
    from follows f join users u on u.id = f.${sql.unsafe(theirs)}
    where f.${sql.unsafe(mine)} = ${userId} and u.deleted_at is null
      ${after ? sql`and (f.created_at, f.${sql.unsafe(theirs)}) < (timestamptz 'epoch' + ${after.us}::bigint * interval '1 microsecond', ${after.id}::uuid)` : sql``}
    order by f.created_at desc, f.${sql.unsafe(theirs)} desc
    limit ${limit + 1}`;
}

/** How many people follow this author. */
export async function followerCount(sql: Sql, authorId: string): Promise<number> {
  const [row] = await sql<{ count: number }[]>`
    select count(*)::int as count from follows where followee_id = ${authorId}`;
  return row?.count ?? 0;
}

/**
 * Follower ids that cut the author's followers into pages of `size` (by id, one
 * index scan): page i holds the ids in (bounds[i-1], bounds[i]].
 */
export async function followerPageBounds(
  sql: Sql,
  authorId: string,
  size: number,
): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    select id from (
      select follower_id as id, row_number() over (order by follower_id) as n
      from follows where followee_id = ${authorId}
    ) numbered where n % ${size} = 0 order by id`;
  return rows.map((r) => r.id);
}

/** The author's followers with live accounts whose ids lie in (from, to]; null is an open end. */
export async function activeFollowersBetween(
  sql: Sql,
  authorId: string,
  from: string | null,
  to: string | null,
): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    select f.follower_id as id
    from follows f join users u on u.id = f.follower_id and u.deleted_at is null
    where f.followee_id = ${authorId}
      ${from ? sql`and f.follower_id > ${from}` : sql``}
      ${to ? sql`and f.follower_id <= ${to}` : sql``}`;
  return rows.map((r) => r.id);
}

/** What a post's fan-out needs to know about it, read for many posts at once (postAudiences). */
export interface PostAudience {
  /** False once the post is deleted: nobody is told of it any more. */
  postExists: boolean;
  /** The author's row while the account is active (the notification's actor), else null. */
  author: UserRow | null;
  /** The author's followers, counted up to `countUpTo` + 1 (enough to tell "more than"). */
  followers: number;
}

/**
 * For each (post, author) pair, in the order given, in one statement: whether the
 * post still exists, the author's active row and how many follow the author.
 * The count stops past `countUpTo`: callers only ask whether an audience fits in
 * one page, and an author with 100k followers then costs a page, not 100k, to count.
 */
export async function postAudiences(
  sql: Sql,
  posts: ReadonlyArray<{ postId: string; authorId: string }>,
  countUpTo: number,
): Promise<PostAudience[]> {
  if (posts.length === 0) return [];
  const rows = await sql<
    Array<Nullable<UserRow> & { n: number; postExists: boolean; followers: number }>
  >`
    select b.n::int as n,
      exists (select 1 from posts p where p.id = b.post_id) as "postExists",
      (select count(*)::int from (
        select 1 from follows f where f.followee_id = b.author_id limit ${countUpTo + 1}
      ) capped) as followers,
      ${sql.unsafe(userColumns('u'))}
    from unnest(${posts.map((p) => p.postId)}::uuid[], ${posts.map((p) => p.authorId)}::uuid[])
      with ordinality as b(post_id, author_id, n)
    left join users u on u.id = b.author_id and u.deleted_at is null
    order by b.n`;
  return rows.map(({ n: _n, postExists, followers, ...user }) => ({
    postExists,
    followers,
    author: user.id === null ? null : (user as UserRow),
  }));
}

type Nullable<T> = { [K in keyof T]: T[K] | null };

/** The live followers of each of these authors, as (author, follower) pairs, in one statement. */
export async function activeFollowersOf(
  sql: Sql,
  authorIds: readonly string[],
): Promise<Array<{ authorId: string; followerId: string }>> {
  if (authorIds.length === 0) return [];
  return sql<Array<{ authorId: string; followerId: string }>>`
    select f.followee_id as "authorId", f.follower_id as "followerId"
    from follows f join users u on u.id = f.follower_id and u.deleted_at is null
    where f.followee_id = any(${[...new Set(authorIds)]}::uuid[])`;
}
