import type { NotificationType } from '../../contract/index.ts';
import type { Sql, TxSql } from '../../core/db.ts';
import { type AuthorColumns, embeddedUserColumns } from '../users/index.ts';

/**
 * A user's inbox as clients see it: the rows written for them (notifications)
 * merged with the posts of the broadcast authors they follow (one row per post
 * in broadcast_notifications, see sql/0012_broadcast_inbox.sql). Both carry a
 * `seq` from the same sequence, so one order, one cursor and one sync anchor
 * serve both; a broadcast item is in the inbox while a follow period of the
 * user covers its seq. An id in both (an author who crossed the threshold
 * while a post's fan-out was being retried) is the written row's.
 */

/** An inbox item as read, with its actor's columns (queries.ts turns it into a Notification). */
export interface NotificationRow extends AuthorColumns {
  id: string;
  seq: number;
  type: NotificationType;
  postId: string | null;
  commentId: string | null;
  createdAt: Date;
  readAt: Date | null;
}

/** Which items: a slice of the inbox by seq and insertion time, or one id. */
export interface InboxWindow {
  seqBelow?: number | undefined;
  seqAbove?: number | undefined;
  /** Inserted at or after this time (a sync's overlap). */
  insertedSince?: Date | undefined;
  unread?: boolean | undefined;
  id?: string | undefined;
}

const ITEM = `id, seq, type, actor_id, post_id, comment_id, created_at, inserted_at, read_at`;

/** The written rows in the window, `order`ed by seq, at most `limit`. */
function writtenItems(
  sql: Sql,
  userId: string,
  w: InboxWindow,
  order: 'asc' | 'desc',
  limit: number,
) {
  return sql`
    select ${sql.unsafe(ITEM)} from notifications
    where user_id = ${userId}
      ${w.id !== undefined ? sql`and id = ${w.id}` : sql``}
      ${w.seqBelow !== undefined ? sql`and seq < ${w.seqBelow}` : sql``}
      ${w.seqAbove !== undefined ? sql`and seq > ${w.seqAbove}` : sql``}
      ${w.insertedSince ? sql`and inserted_at >= ${w.insertedSince}` : sql``}
      ${w.unread ? sql`and read_at is null` : sql``}
    order by seq ${sql.unsafe(order)} limit ${limit}`;
}

/**
 * The broadcast items in the window: for each follow period with an author who
 * has broadcast, that author's posts inside the period, at most `limit` of
 * them (one short index range per period, however long the author's history).
 */
function broadcastItems(
  sql: Sql,
  userId: string,
  w: InboxWindow,
  order: 'asc' | 'desc',
  limit: number,
) {
  return sql`
    select b.id, b.seq, 'post'::text as type, b.author_id as actor_id, b.post_id,
      null::uuid as comment_id, b.created_at, b.inserted_at, b.read_at
    from follow_periods p
    join broadcast_authors a on a.author_id = p.followee_id
    cross join lateral (
      select b.id, b.seq, b.author_id, b.post_id, b.created_at, b.inserted_at, r.read_at
      from broadcast_notifications b
      left join broadcast_reads r on r.user_id = ${userId} and r.id = b.id
      where b.author_id = p.followee_id
        and b.seq > p.from_seq and (p.to_seq is null or b.seq < p.to_seq)
        ${w.id !== undefined ? sql`and b.id = ${w.id}` : sql``}
        ${w.seqBelow !== undefined ? sql`and b.seq < ${w.seqBelow}` : sql``}
        ${w.seqAbove !== undefined ? sql`and b.seq > ${w.seqAbove}` : sql``}
        ${w.insertedSince ? sql`and b.inserted_at >= ${w.insertedSince}` : sql``}
        ${w.unread ? sql`and r.user_id is null` : sql``}
        and not exists (select 1 from notifications n where n.user_id = ${userId} and n.id = b.id)
      order by b.seq ${sql.unsafe(order)} limit ${limit}
    ) b
    where p.follower_id = ${userId}`;
}

/** The inbox's items in the window, ordered by seq, at most `limit`, with their actors. */
export async function inboxItems(
  sql: Sql,
  userId: string,
  window: InboxWindow,
  order: 'asc' | 'desc',
  limit: number,
): Promise<NotificationRow[]> {
  return sql<NotificationRow[]>`
    select n.id, n.seq, n.type, n.post_id as "postId", n.comment_id as "commentId",
      n.created_at as "createdAt", n.read_at as "readAt", ${sql.unsafe(embeddedUserColumns('u'))}
    from (
      (${writtenItems(sql, userId, window, order, limit)})
      union all
      (${broadcastItems(sql, userId, window, order, limit)})
    ) n
    left join users u on u.id = n.actor_id and u.deleted_at is null
    order by n.seq ${sql.unsafe(order)} limit ${limit}`;
}

/** Where an item sits in the user's inbox (a sync's anchor, a read mark's bound). */
export async function inboxPosition(
  sql: Sql,
  userId: string,
  id: string,
): Promise<{ seq: number; insertedAt: Date } | undefined> {
  const [row] = await sql<{ seq: number; insertedAt: Date }[]>`
    select seq, inserted_at as "insertedAt" from (
      (${writtenItems(sql, userId, { id }, 'asc', 1)})
      union all
      (${broadcastItems(sql, userId, { id }, 'asc', 1)})
    ) n limit 1`;
  return row;
}

/**
 * The broadcast items a user can see, as a FROM … WHERE to select from (`b` is
 * the item). Any executor: a transaction's or the pool's.
 */
const visibleBroadcast = (q: Sql | TxSql, userId: string) => q`
  from follow_periods p
  join broadcast_authors a on a.author_id = p.followee_id
  join broadcast_notifications b on b.author_id = p.followee_id
    and b.seq > p.from_seq and (p.to_seq is null or b.seq < p.to_seq)
  where p.follower_id = ${userId}
    and not exists (select 1 from notifications n where n.user_id = ${userId} and n.id = b.id)`;

/**
 * Unread broadcast items: visible ones without a read row. (A read-through mark
 * would spare counting the read ones, but a broadcast row may commit after a
 * mark above its seq was set, and would then be neither read nor counted.)
 */
export async function unreadBroadcastCount(sql: Sql, userId: string): Promise<number> {
  const [row] = await sql<{ count: number }[]>`
    select count(*)::int as count ${visibleBroadcast(sql, userId)}
      and not exists (select 1 from broadcast_reads r where r.user_id = ${userId} and r.id = b.id)`;
  return row!.count;
}

/** Written rows unread. */
export async function unreadWrittenCount(sql: Sql, userId: string): Promise<number> {
  const [row] = await sql<{ count: number }[]>`
    select count(*)::int as count from notifications where user_id = ${userId} and read_at is null`;
  return row!.count;
}

/**
 * Marks the given ids, and/or everything up to and including `upTo`, as read,
 * written rows and broadcast items alike. Unknown ids are ignored. Returns how
 * many written rows and broadcast items changed.
 */
export async function markInboxRead(
  sql: Sql,
  userId: string,
  input: { ids?: string[] | undefined; upTo?: string | undefined },
): Promise<{ written: number; broadcast: number }> {
  const done = { written: 0, broadcast: 0 };
  if (input.ids && input.ids.length > 0) {
    const [written, broadcast] = await Promise.all([
      sql`
        update notifications set read_at = now()
        where user_id = ${userId} and id = any(${input.ids}::uuid[]) and read_at is null`,
      sql`
        insert into broadcast_reads (user_id, id)
        select ${userId}, b.id ${visibleBroadcast(sql, userId)} and b.id = any(${input.ids}::uuid[])
        on conflict do nothing`,
    ]);
    done.written += written.count;
    done.broadcast += broadcast.count;
  }
  if (input.upTo) {
    const bound = await inboxPosition(sql, userId, input.upTo);
    if (!bound) return done;
    const [written, broadcast] = await Promise.all([
      sql`
        update notifications set read_at = now()
        where user_id = ${userId} and read_at is null and seq <= ${bound.seq}`,
      sql`
        insert into broadcast_reads (user_id, id)
        select ${userId}, b.id ${visibleBroadcast(sql, userId)} and b.seq <= ${bound.seq}
        on conflict do nothing`,
    ]);
    done.written += written.count;
    done.broadcast += broadcast.count;
  }
  return done;
}
