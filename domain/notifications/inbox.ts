import type { NotificationType } from '../../contract/index.ts';
import type { Sql, TxSql } from '../../core/db.ts';
import { type AuthorColumns, embeddedUserColumns } from '../users/index.ts';

/**
 * A user's inbox as clients see it: the rows written for them (notifications)
 * merged with the posts of the broadcast authors they follow (one row per post
 * in broadcast_notifications, see sql/0012_broadcast_inbox.sql). Both carry a
 * `seq` from the same sequence, so one order, one cursor and one sync anchor
 * serve both; a broadcast item is in the inbox while a follow period of the
 * user covers its seq. A post is one or the other, never both (fanout_modes).
 *
 * Every query picks its items from indexes alone, at most `limit` per source
 * (the written rows, and each follow period with a broadcast author), then
 * reads what it shows (read state, actor) for those items only.
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

/** Above every seq: the end of a follow period that has not ended. */
const NO_END = '9223372036854775807';

/** How far the user's inbox is read through (POST /notifications/read {upTo}), 0 if never. */
const readMark = (q: Sql | TxSql, userId: string) => q`
  coalesce((select max(up_to_seq) from broadcast_read_marks where user_id = ${userId}), 0)`;

/** The written rows in the window, `order`ed by seq, at most `limit`. */
function writtenItems(
  sql: Sql,
  userId: string,
  w: InboxWindow,
  order: 'asc' | 'desc',
  limit: number,
) {
  return sql`
    select id, seq, type, actor_id, post_id, comment_id, created_at, inserted_at, read_at,
      false as broadcast
    from notifications
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
 * them (one range of the (author_id, seq) index per period, however long the
 * author's history). Read state comes later (inboxItems), but for the unread
 * filter: above the read mark, and not read one by one.
 */
function broadcastItems(
  sql: Sql,
  userId: string,
  w: InboxWindow,
  order: 'asc' | 'desc',
  limit: number,
) {
  const from = w.unread ? sql`greatest(p.from_seq, ${readMark(sql, userId)})` : sql`p.from_seq`;
  return sql`
    select b.id, b.seq, 'post'::text as type, b.author_id as actor_id, b.post_id,
      null::uuid as comment_id, b.created_at, b.inserted_at, null::timestamptz as read_at,
      true as broadcast
    from follow_periods p
    join broadcast_authors a on a.author_id = p.followee_id
    cross join lateral (
      select b.id, b.seq, b.author_id, b.post_id, b.created_at, b.inserted_at
      from broadcast_notifications b
      where b.author_id = p.followee_id
        and b.seq > ${from} and b.seq < coalesce(p.to_seq, ${NO_END}::bigint)
        ${w.id !== undefined ? sql`and b.id = ${w.id}` : sql``}
        ${w.seqBelow !== undefined ? sql`and b.seq < ${w.seqBelow}` : sql``}
        ${w.seqAbove !== undefined ? sql`and b.seq > ${w.seqAbove}` : sql``}
        ${w.insertedSince ? sql`and b.inserted_at >= ${w.insertedSince}` : sql``}
        ${
          w.unread
            ? sql`and not exists (
                select 1 from broadcast_reads r where r.user_id = p.follower_id and r.id = b.id)`
            : sql``
        }
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
      n.created_at as "createdAt",
      case when n.broadcast then coalesce(r.read_at, (
        -- the first mark that covers it: marks only go further, so the smallest one
        select m.marked_at from broadcast_read_marks m
        where m.user_id = ${userId} and m.up_to_seq >= n.seq
        order by m.up_to_seq limit 1))
      else n.read_at end as "readAt",
      ${sql.unsafe(embeddedUserColumns('u'))}
    from (
      select * from (
        (${writtenItems(sql, userId, window, order, limit)})
        union all
        (${broadcastItems(sql, userId, window, order, limit)})
      ) c
      order by c.seq ${sql.unsafe(order)} limit ${limit}
    ) n
    left join broadcast_reads r on n.broadcast and r.user_id = ${userId} and r.id = n.id
    left join users u on u.id = n.actor_id and u.deleted_at is null
    order by n.seq ${sql.unsafe(order)}`;
}

/** Where an item sits in the user's inbox (a sync's anchor, a read mark's bound). */
export async function inboxPosition(
  sql: Sql,
  userId: string,
  id: string,
): Promise<{ seq: number; insertedAt: Date; broadcast: boolean } | undefined> {
  const [row] = await sql<{ seq: number; insertedAt: Date; broadcast: boolean }[]>`
    select seq, inserted_at as "insertedAt", broadcast from (
      (${writtenItems(sql, userId, { id }, 'asc', 1)})
      union all
      (${broadcastItems(sql, userId, { id }, 'asc', 1)})
    ) n limit 1`;
  return row;
}

/**
 * Unread broadcast items: those above the read mark, counted per follow period
 * from the (author_id, seq) index, less those read one by one above the mark.
 * Its cost follows the unread items, not the authors' history.
 */
export async function unreadBroadcastCount(sql: Sql, userId: string): Promise<number> {
  const [row] = await sql<{ count: number }[]>`
    with mark as (select ${readMark(sql, userId)} as seq)
    select (
      select coalesce(sum(x.n), 0)::int
      from follow_periods p
      join broadcast_authors a on a.author_id = p.followee_id
      cross join lateral (
        select count(*) as n from broadcast_notifications b
        where b.author_id = p.followee_id
          and b.seq > greatest(p.from_seq, (select seq from mark))
          and b.seq < coalesce(p.to_seq, ${NO_END}::bigint)
      ) x
      where p.follower_id = ${userId}
    ) - (
      select count(*)::int from broadcast_reads r
      where r.user_id = ${userId} and r.seq > (select seq from mark)
    ) as count`;
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
 *
 * Broadcast items read one by one get a row each (with its seq); "up to" is one
 * mark for the whole inbox, taken under a SHARE lock on broadcast_notifications:
 * it waits for broadcast rows being written, so none commits below the mark
 * after it (such a row would be neither shown unread nor read by anyone).
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
        insert into broadcast_reads (user_id, id, seq)
        select ${userId}, b.id, b.seq
        from broadcast_notifications b
        join broadcast_authors a on a.author_id = b.author_id
        join follow_periods p on p.follower_id = ${userId} and p.followee_id = b.author_id
          and b.seq > p.from_seq and b.seq < coalesce(p.to_seq, ${NO_END}::bigint)
        where b.id = any(${input.ids}::uuid[]) and b.seq > ${readMark(sql, userId)}
        on conflict do nothing`,
    ]);
    done.written += written.count;
    done.broadcast += broadcast.count;
  }
  if (input.upTo) {
    const bound = await inboxPosition(sql, userId, input.upTo);
    if (!bound) return done;
    const written = await sql`
      update notifications set read_at = now()
      where user_id = ${userId} and read_at is null and seq <= ${bound.seq}`;
    done.written += written.count;
    done.broadcast += await sql.begin(async (tx) => {
      await tx`lock table broadcast_notifications in share mode`;
      const marked = await tx`
        insert into broadcast_read_marks (user_id, up_to_seq)
        select ${userId}, ${bound.seq}::bigint
        where ${bound.seq}::bigint > ${readMark(tx, userId)}
        on conflict do nothing`;
      return marked.count;
    });
  }
  return done;
}
