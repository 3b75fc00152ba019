// Comments and likes on posts: their rows, and the post's counters kept with them.
import type { Sql, TxSql } from '../../core/db.ts';
import { type AuthorColumns, authorOf, embeddedUserColumns } from '../users/index.ts';
import type { Comment } from './schema.ts';

/** Author columns of alias `u` (a users row joined only while the account is active). */
const AUTHOR = embeddedUserColumns('u');

// ---- comments ----

export interface CommentRow extends AuthorColumns {
  id: string;
  postId: string;
  authorId: string | null;
  body: string;
  createdAt: Date;
}

export function toComment(row: CommentRow): Comment {
  return {
    id: row.id,
    postId: row.postId,
    author: authorOf(row),
    body: row.body,
    createdAt: row.createdAt.toISOString(),
  };
}

const COMMENT_COLUMNS = `c.id, c.post_id as "postId", c.author_id as "authorId", c.body,
  c.created_at as "createdAt", ${AUTHOR}`;

export async function insertComment(
  tx: TxSql,
  postId: string,
  authorId: string,
  body: string,
): Promise<CommentRow> {
  const [inserted] = await tx<{ id: string }[]>`
    insert into comments (post_id, author_id, body) values (${postId}, ${authorId}, ${body}) returning id`;
  await tx`update posts set comment_count = comment_count + 1 where id = ${postId}`;
  const [row] = await tx<CommentRow[]>`
    select ${tx.unsafe(COMMENT_COLUMNS)}
    from comments c left join users u on u.id = c.author_id and u.deleted_at is null
    where c.id = ${inserted!.id}`;
  return row!;
}

/**
 * Oldest first: a conversation reads top to bottom.
 *
 * The page's ids come first, from (post_id, id) alone, then their rows. Asked for the
 * rows at once, the planner may walk the primary key in id order and filter on post_id
 * instead, which it costs by the post's share of all comments: for a busy post whose
 * comments came after most others' it read 200,000 rows for a page of 21 (npm run
 * check:plans). The ids alone are an index-only scan of the page's entries, which no
 * walk of the primary key (it has to visit the heap for post_id) undercuts.
 */
export async function listComments(
  sql: Sql,
  postId: string,
  limit: number,
  after?: string,
): Promise<CommentRow[]> {
  return sql<CommentRow[]>`
    select ${sql.unsafe(COMMENT_COLUMNS)}
    from (
      select id from comments
      where post_id = ${postId} ${after ? sql`and id > ${after}` : sql``}
      order by id asc limit ${limit + 1}
    ) page
    join comments c on c.id = page.id
    left join users u on u.id = c.author_id and u.deleted_at is null
    order by c.id asc`;
}

export async function findCommentForDelete(
  tx: TxSql,
  id: string,
): Promise<{ postId: string; authorId: string | null; postAuthorId: string | null } | undefined> {
  const [row] = await tx<
    { postId: string; authorId: string | null; postAuthorId: string | null }[]
  >`
    select c.post_id as "postId", c.author_id as "authorId", p.author_id as "postAuthorId"
    from comments c join posts p on p.id = c.post_id
    where c.id = ${id}
    for update of c`;
  return row;
}

export async function deleteComment(tx: TxSql, id: string, postId: string): Promise<void> {
  const rows = await tx`delete from comments where id = ${id} returning 1`;
  if (rows.length > 0) {
    await tx`update posts set comment_count = greatest(comment_count - 1, 0) where id = ${postId}`;
  }
}

// ---- likes ----

/** True when this call created the like (so the event is recorded once). */
/** Which of `postIds` the user likes. */
export async function likedAmong(
  sql: Sql,
  userId: string,
  postIds: readonly string[],
): Promise<Set<string>> {
  const rows = await sql<{ postId: string }[]>`
    select post_id as "postId" from likes
    where user_id = ${userId} and post_id = any(${postIds as string[]}::uuid[])`;
  return new Set(rows.map((r) => r.postId));
}

export async function like(tx: TxSql, postId: string, userId: string): Promise<Date | undefined> {
  const [row] = await tx<{ createdAt: Date }[]>`
    insert into likes (post_id, user_id) values (${postId}, ${userId})
    on conflict do nothing returning created_at as "createdAt"`;
  if (!row) return undefined;
  await tx`update posts set like_count = like_count + 1 where id = ${postId}`;
  return row.createdAt;
}

export async function unlike(tx: TxSql, postId: string, userId: string): Promise<void> {
  const rows =
    await tx`delete from likes where post_id = ${postId} and user_id = ${userId} returning 1`;
  if (rows.length > 0) {
    await tx`update posts set like_count = greatest(like_count - 1, 0) where id = ${postId}`;
  }
}
