import { broadcastRoom, userRoom } from '../../contract/index.ts';
import type { Sql, TxSql } from '../../core/db.ts';
import type { Deps } from '../../core/deps.ts';

/**
 * Broadcast authors' side of the inbox (sql/0012_broadcast_inbox.sql): their posts'
 * rows, and their rooms, which their followers' sockets join so that one emit reaches
 * every follower online.
 */

/** A broadcast author's post, as its one inbox row. */
export interface BroadcastPost {
  /** The event's id. */
  id: string;
  authorId: string;
  postId: string;
  createdAt: string;
}

/**
 * The one row of each broadcast post, which every follower's inbox merges in
 * (inbox.ts), and its author among the broadcast authors, in one statement: no
 * reader sees the row without its author listed. As insertPostNotificationRows:
 * nothing for a post gone by now or an author whose account is gone; idempotent
 * per event; seq in the posts' order. Returns the authors whose rooms are ready
 * (their followers' sockets are in them): their posts go to the room.
 */
export async function insertBroadcastRows(
  sql: Sql,
  posts: readonly BroadcastPost[],
): Promise<Set<string>> {
  if (posts.length === 0) return new Set();
  const authors = [...new Set(posts.map((p) => p.authorId))];
  const [, ready] = await Promise.all([
    sql`
      with added as (
        insert into broadcast_notifications (id, author_id, post_id, created_at)
        select b.id, b.author_id, b.post_id, b.created_at
        from unnest(
          ${posts.map((p) => p.id)}::uuid[], ${posts.map((p) => p.authorId)}::uuid[],
          ${posts.map((p) => p.postId)}::uuid[], ${posts.map((p) => p.createdAt)}::timestamptz[]
        ) with ordinality as b(id, author_id, post_id, created_at, n)
        where exists (select 1 from posts x where x.id = b.post_id)
          and exists (select 1 from users u where u.id = b.author_id and u.deleted_at is null)
        order by b.n
        on conflict (id) do nothing
        returning author_id
      )
      insert into broadcast_authors (author_id)
      select distinct author_id from added
      on conflict do nothing`,
    // Alongside the insert, not after it: readiness comes from an earlier post of the
    // author (see markBroadcastRoomsReady), never from this one.
    sql<{ authorId: string }[]>`
      select author_id as "authorId" from broadcast_authors
      where author_id = any(${authors}::uuid[]) and rooms_ready`,
  ]);
  return new Set(ready.map((r) => r.authorId));
}

/** These authors' followers online are in their rooms: later posts go to the room. */
export async function markBroadcastRoomsReady(sql: Sql, authorIds: string[]): Promise<void> {
  if (authorIds.length === 0) return;
  await sql`
    update broadcast_authors set rooms_ready = true
    where author_id = any(${[...new Set(authorIds)]}::uuid[]) and not rooms_ready`;
}

/** The broadcast authors a user follows now: the rooms the user's sockets join. */
export async function broadcastAuthorsFollowedBy(sql: Sql, userId: string): Promise<string[]> {
  const rows = await sql<{ authorId: string }[]>`
    select a.author_id as "authorId"
    from broadcast_authors a
    join follow_periods p on p.followee_id = a.author_id
    where p.follower_id = ${userId} and p.to_seq is null`;
  return rows.map((r) => r.authorId);
}

/** Whether the author has ever broadcast (a new follower's sockets then join the room). */
export async function isBroadcastAuthor(sql: Sql | TxSql, authorId: string): Promise<boolean> {
  const rows = await sql`select 1 from broadcast_authors where author_id = ${authorId}`;
  return rows.length > 0;
}

/**
 * A follow or an unfollow: the follower's sockets join or leave the author's room if the
 * author broadcasts (one publish through the adapter, to every gateway node); says whether
 * it did. Called inside the edge's transaction, under its lock on the author's row (see
 * server/routes/social.ts). A socket connecting meanwhile reads its rooms after joining
 * its user's room, so it misses neither this nor that read.
 */
export async function followBroadcastRoom(
  deps: { sql: Sql | TxSql; emitter: Deps['emitter'] },
  followerId: string,
  authorId: string,
  action: 'join' | 'leave',
): Promise<boolean> {
  if (!(await isBroadcastAuthor(deps.sql, authorId))) return false;
  const sockets = deps.emitter.in(userRoom(followerId));
  if (action === 'join') sockets.socketsJoin(broadcastRoom(authorId));
  else sockets.socketsLeave(broadcastRoom(authorId));
  return true;
}

/**
 * Each post's fan-out mode: the one decided at its first fan-out if there was one, else
 * the one proposed (and stored). Two workers deciding one post at once agree: the loser
 * of the insert reads the winner's decision.
 */
export async function decideFanoutModes(
  sql: Sql,
  proposals: ReadonlyArray<{ eventId: string; postId: string; broadcast: boolean }>,
): Promise<Map<string, boolean>> {
  if (proposals.length === 0) return new Map();
  const decide = () => sql<{ eventId: string; broadcast: boolean }[]>`
    with proposed as (
      select * from unnest(
        ${proposals.map((p) => p.eventId)}::uuid[], ${proposals.map((p) => p.postId)}::uuid[],
        ${proposals.map((p) => (p.broadcast ? 1 : 0))}::int[]
      ) as p(event_id, post_id, mode)
      where exists (select 1 from posts x where x.id = p.post_id)
    ), added as (
      insert into fanout_modes (event_id, post_id, broadcast)
      -- (postgres.js sends a boolean array as one boolean: the modes travel as 0 and 1)
      select event_id, post_id, mode = 1 from proposed
      on conflict (event_id) do nothing
      returning event_id, broadcast
    )
    select event_id as "eventId", broadcast from added
    union all
    select m.event_id, m.broadcast from fanout_modes m join proposed p using (event_id)`;
  const modes = new Map((await decide()).map((r) => [r.eventId, r.broadcast]));
  // A decision committed by another worker while this statement waited on its conflict is
  // not in this statement's snapshot: the next one sees it.
  if (proposals.some((p) => !modes.has(p.eventId))) {
    for (const r of await decide()) modes.set(r.eventId, r.broadcast);
  }
  return modes;
}
