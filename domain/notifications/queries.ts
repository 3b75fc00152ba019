import type { Notification, NotificationType, User } from '../../contract/index.ts';
import type { Sql, TxSql } from '../../core/db.ts';
import { authorOf, embeddedUserColumns } from '../users/index.ts';
import { inboxItems, inboxPosition, type NotificationRow } from './inbox.ts';

export type { NotificationRow } from './inbox.ts';

const COLUMNS = `n.id, n.seq, n.type, n.post_id as "postId", n.comment_id as "commentId",
  n.created_at as "createdAt", n.read_at as "readAt", ${embeddedUserColumns('u')}`;

/** The one builder of a notification as its recipient sees it: inbox pages, syncs and pushes. */
export function notificationOf(input: {
  id: string;
  type: NotificationType;
  actor: User | null;
  postId?: string | null;
  commentId?: string | null;
  createdAt: Date | string;
  readAt?: Date | null;
}): Notification {
  return {
    id: input.id,
    type: input.type,
    actor: input.actor,
    postId: input.postId ?? null,
    commentId: input.commentId ?? null,
    createdAt:
      typeof input.createdAt === 'string' ? input.createdAt : input.createdAt.toISOString(),
    readAt: input.readAt ? input.readAt.toISOString() : null,
  };
}

export function toNotification(row: NotificationRow): Notification {
  return notificationOf({ ...row, actor: authorOf(row) });
}

/** Newest first (insertion order), keyset on `seq`; written rows and broadcast items merged. */
export async function listNotifications(
  sql: Sql,
  userId: string,
  options: { unread: boolean; limit: number; beforeSeq?: number | undefined },
): Promise<NotificationRow[]> {
  return inboxItems(
    sql,
    userId,
    { unread: options.unread, seqBelow: options.beforeSeq },
    'desc',
    options.limit + 1,
  );
}

/** How far back before the anchor's insertion a sync looks again (see notificationsAfter). */
export const SYNC_OVERLAP_MS = 5_000;
/** At most this many of those are sent again, so a page always makes progress. */
export const SYNC_OVERLAP_ROWS = 50;

/** The time in a UUIDv7 (notification ids are their event's id), or undefined. */
function uuidV7Time(id: string): Date | undefined {
  const hex = id.replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/i.test(hex) || hex[12] !== '7') return undefined;
  const ms = Number.parseInt(hex.slice(0, 12), 16);
  return ms <= Date.now() + 60_000 ? new Date(ms) : undefined;
}

/**
 * What a client that has everything up to the notification `after` is missing,
 * oldest first, at most `limit` of them (`hasMore` says there are newer ones:
 * ask again after the last item).
 *
 * Two events for one person may commit in the other order than they were
 * inserted, and be pushed in that order too. So a sync also returns up to
 * SYNC_OVERLAP_ROWS rows inserted in the few seconds before the anchor: a client
 * that saw the later one first still gets the earlier one. Clients drop ids
 * they already have (the client helper does).
 *
 * When the anchor is gone (deleted with its post or comment), its id still
 * tells when its event happened: everything inserted since then (less the
 * overlap) is sent. Without an anchor, or with one that is not a notification
 * id at all, the newest `limit` are sent (`hasMore`: older ones exist).
 */
export async function notificationsAfter(
  sql: Sql,
  userId: string,
  after: string | undefined,
  limit: number,
): Promise<{ rows: NotificationRow[]; hasMore: boolean }> {
  const anchor = after ? await inboxPosition(sql, userId, after) : undefined;
  if (anchor) {
    const [overlap, newer] = await Promise.all([
      inboxItems(
        sql,
        userId,
        {
          seqBelow: anchor.seq,
          insertedSince: new Date(anchor.insertedAt.getTime() - SYNC_OVERLAP_MS),
        },
        'desc',
        SYNC_OVERLAP_ROWS,
      ),
      inboxItems(sql, userId, { seqAbove: anchor.seq }, 'asc', limit + 1),
    ]);
    return {
      rows: [...overlap.reverse(), ...newer.slice(0, limit)],
      hasMore: newer.length > limit,
    };
  }
  const since = after ? uuidV7Time(after) : undefined;
  if (since) {
    const rows = await inboxItems(
      sql,
      userId,
      { insertedSince: new Date(since.getTime() - SYNC_OVERLAP_MS) },
      'asc',
      limit + 1,
    );
    return { rows: rows.slice(0, limit), hasMore: rows.length > limit };
  }
  const rows = await inboxItems(sql, userId, {}, 'desc', limit + 1);
  return { rows: rows.slice(0, limit).reverse(), hasMore: rows.length > limit };
}

/**
 * Who has an unread notification of this post: their counts fall when the post goes (its
 * notifications go with it, by the foreign key's cascade).
 */
export async function unreadRecipientsOf(sql: Sql | TxSql, postId: string): Promise<string[]> {
  const rows = await sql<{ userId: string }[]>`
    select user_id as "userId" from notifications where post_id = ${postId} and read_at is null`;
  return rows.map((r) => r.userId);
}

/** One notification for one person (comment, like, follow). Idempotent per (user, event). */
export async function insertNotification(
  sql: Sql | TxSql,
  input: {
    userId: string;
    id: string;
    type: NotificationType;
    actorId: string;
    postId?: string | null;
    commentId?: string | null;
    createdAt: string;
  },
): Promise<void> {
  await sql`
    insert into notifications (user_id, id, type, actor_id, post_id, comment_id, created_at)
    select ${input.userId}, ${input.id}, ${input.type}, ${input.actorId}, ${input.postId ?? null},
      ${input.commentId ?? null}, ${input.createdAt}
    -- what it points at may be gone by the time the event is handled: then there is nothing to say
    where exists (select 1 from users where id = ${input.userId} and deleted_at is null)
      -- nor from someone whose account is gone (its cleanup may already have run)
      and exists (select 1 from users where id = ${input.actorId} and deleted_at is null)
      and (${input.postId ?? null}::uuid is null or exists (select 1 from posts where id = ${input.postId ?? null}))
      and (${input.commentId ?? null}::uuid is null
        or exists (select 1 from comments where id = ${input.commentId ?? null}))
    on conflict (user_id, id) do nothing`;
}

/**
 * A post's notification for a page of its author's followers, in one statement;
 * nothing when the post or its author is gone by now. Idempotent per (user, event).
 */
export async function insertPostNotifications(
  sql: Sql,
  input: {
    recipients: string[];
    eventId: string;
    authorId: string;
    postId: string;
    createdAt: string;
  },
): Promise<void> {
  await sql`
    insert into notifications (user_id, id, type, actor_id, post_id, created_at)
    select unnest(${input.recipients}::uuid[]), ${input.eventId}, 'post', ${input.authorId},
      ${input.postId}, ${input.createdAt}
    where exists (select 1 from posts where id = ${input.postId})
      and exists (select 1 from users where id = ${input.authorId} and deleted_at is null)
    on conflict (user_id, id) do nothing`;
}

/** The notification as its recipient reads it (for the live push). */
export async function findNotification(
  sql: Sql,
  userId: string,
  id: string,
): Promise<NotificationRow | undefined> {
  const [row] = await sql<NotificationRow[]>`
    select ${sql.unsafe(COLUMNS)}
    from notifications n left join users u on u.id = n.actor_id and u.deleted_at is null
    where n.user_id = ${userId} and n.id = ${id}`;
  return row;
}

/** A post's notification and who gets it in their inbox (insertPostNotificationRows). */
export interface PostNotificationRows {
  /** The event's id. */
  id: string;
  actorId: string;
  postId: string;
  createdAt: string;
  recipients: readonly string[];
}

/**
 * The inbox rows of many posts' notifications in one statement. Each post's fields go
 * once, and each recipient with the number of its post: a batch of 32 posts to 100
 * followers each sends 3,200 ids and numbers, not five 3,200-long arrays (which cost the
 * workers and PostgreSQL more to write and parse than the insert itself). As
 * insertPostNotifications: no row for a post gone by now or from an author whose account
 * is gone (checked once per post, in the statement's snapshot); idempotent per
 * (user, event).
 */
export async function insertPostNotificationRows(
  sql: Sql,
  posts: readonly PostNotificationRows[],
): Promise<number> {
  const told = posts.filter((p) => p.recipients.length > 0);
  if (told.length === 0) return 0;
  const res = await sql`
    insert into notifications (user_id, id, type, actor_id, post_id, created_at)
    select r.user_id, p.id, 'post', p.actor_id, p.post_id, p.created_at
    from (
      select * from unnest(
        ${told.map((p) => p.id)}::uuid[], ${told.map((p) => p.actorId)}::uuid[],
        ${told.map((p) => p.postId)}::uuid[], ${told.map((p) => p.createdAt)}::timestamptz[]
      ) with ordinality as b(id, actor_id, post_id, created_at, n)
      where exists (select 1 from posts x where x.id = b.post_id)
        and exists (select 1 from users u where u.id = b.actor_id and u.deleted_at is null)
    ) p
    join unnest(
      ${told.flatMap((p) => p.recipients)}::uuid[],
      ${told.flatMap((p, i) => p.recipients.map(() => i + 1))}::int[]
    ) as r(user_id, n) on r.n = p.n
    -- seq follows the posts' order, as it would had each been inserted alone
    order by p.n
    on conflict (user_id, id) do nothing`;
  return res.count;
}
