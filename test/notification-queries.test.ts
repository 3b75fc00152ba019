import { v7 as uuidv7 } from 'uuid';
import { describe, expect, it } from 'vitest';
import {
  insertNotification,
  notificationsAfter,
  SYNC_OVERLAP_MS,
  SYNC_OVERLAP_ROWS,
} from '../domain/notifications/queries.ts';
import { createPost, signup } from './helpers/builders.ts';
import { useTestContext } from './helpers/context.ts';

const ctx = useTestContext();

describe('notificationsAfter', () => {
  it('returns what came after the anchor, plus what was inserted just before it (commit races)', async () => {
    const me = await signup(ctx);
    const actor = await signup(ctx);
    const ids = [
      '01a21392-0000-7000-8000-000000000001',
      '01a21392-0000-7000-8000-000000000002',
      '01a21392-0000-7000-8000-000000000003',
      '01a21392-0000-7000-8000-000000000004',
    ];
    const now = Date.now();
    // seq follows insertion; inserted_at says when: one long ago, one just before the anchor,
    // the anchor, and one after it.
    const times = [now - SYNC_OVERLAP_MS * 4, now - 1_000, now, now + 10];
    for (let i = 0; i < ids.length; i++) {
      await ctx.deps.sql`
        insert into notifications (user_id, id, type, actor_id, inserted_at)
        values (${me.id}, ${ids[i]!}, 'follow', ${actor.id}, ${new Date(times[i]!)})`;
    }
    const { rows, hasMore } = await notificationsAfter(ctx.deps.sql, me.id, ids[2], 100);
    expect(rows.map((r) => r.id)).toEqual([ids[1], ids[3]]);
    expect(hasMore).toBe(false);
    // No anchor (or one that is not mine): the newest, oldest first, paged.
    const fresh = await notificationsAfter(ctx.deps.sql, me.id, undefined, 3);
    expect(fresh).toMatchObject({ hasMore: true });
    expect(fresh.rows.map((r) => r.id)).toEqual(ids.slice(1));
    const foreign = await notificationsAfter(ctx.deps.sql, actor.id, ids[0], 10);
    expect(foreign.rows).toEqual([]);
  });

  /** Inserts notifications for `user` with these ids and insertion times, in this order. */
  async function insertAt(userId: string, actorId: string, rows: Array<[string, number]>) {
    await ctx.deps.sql`
      insert into notifications (user_id, id, type, actor_id, inserted_at)
      select ${userId}, id, 'follow', ${actorId}, at
      from unnest(${rows.map((r) => r[0])}::uuid[], ${rows.map((r) => new Date(r[1]).toISOString())}::timestamptz[])
        with ordinality as t (id, at, n)
      order by n`;
  }

  it('when the anchor is gone, sends everything inserted since its event', async () => {
    const me = await signup(ctx);
    const actor = await signup(ctx);
    const now = Date.now();
    const old = Array.from({ length: 3 }, (_, i) => uuidv7({ msecs: now - 60_000 + i }));
    const fresh = Array.from({ length: 4 }, (_, i) => uuidv7({ msecs: now + i }));
    await insertAt(me.id, actor.id, [
      ...old.map((id, i) => [id, now - 60_000 + i] as [string, number]),
      ...fresh.map((id, i) => [id, now + i] as [string, number]),
    ]);
    // The client's last notification was made 30 s ago and has since been deleted.
    const gone = uuidv7({ msecs: now - 30_000 });
    const { rows, hasMore } = await notificationsAfter(ctx.deps.sql, me.id, gone, 100);
    expect(rows.map((r) => r.id)).toEqual(fresh);
    expect(hasMore).toBe(false);
  });

  it('always makes progress: the overlap is capped, and paging after the last item gets everything once', async () => {
    const me = await signup(ctx);
    const actor = await signup(ctx);
    const now = Date.now();
    // 600 inserted within a second before the anchor, the anchor, then 1,200 after it.
    const before = Array.from({ length: 600 }, (_, i) => uuidv7({ msecs: now - 1_000 + i }));
    const anchor = uuidv7({ msecs: now });
    const after = Array.from({ length: 1_200 }, (_, i) => uuidv7({ msecs: now + 1 + i }));
    await insertAt(me.id, actor.id, [
      ...before.map((id, i) => [id, now - 1_000 + i] as [string, number]),
      [anchor, now],
      ...after.map((id, i) => [id, now + 1 + i] as [string, number]),
    ]);
    const got = new Set<string>();
    let last = anchor;
    let pages = 0;
    for (;;) {
      const page = await notificationsAfter(ctx.deps.sql, me.id, last, 500);
      pages += 1;
      expect(pages).toBeLessThanOrEqual(3);
      const overlap = page.rows.filter((r) => before.includes(r.id) || r.id === anchor);
      expect(overlap.length).toBeLessThanOrEqual(SYNC_OVERLAP_ROWS);
      for (const r of page.rows) got.add(r.id);
      last = page.rows.at(-1)!.id;
      if (!page.hasMore) break;
    }
    expect(after.every((id) => got.has(id))).toBe(true);
    expect(pages).toBe(3);
  });

  it('writes nothing caused by an account that is gone (its cleanup may have run already)', async () => {
    const me = await signup(ctx);
    const actor = await signup(ctx);
    const note = (id: string) => ({
      userId: me.id,
      id,
      type: 'follow' as const,
      actorId: actor.id,
      createdAt: new Date().toISOString(),
    });
    await insertNotification(ctx.deps.sql, note(uuidv7()));
    await ctx.deps.sql`update users set deleted_at = now() where id = ${actor.id}`;
    await insertNotification(ctx.deps.sql, note(uuidv7()));
    const [row] = await ctx.deps.sql`
      select count(*)::int as n from notifications where user_id = ${me.id}`;
    expect(row!.n).toBe(1);
  });

  it('syncs broadcast items and written rows as one inbox: anchored on either, with the overlap', async () => {
    const [me, actor, author, later] = [
      await signup(ctx),
      await signup(ctx),
      await signup(ctx),
      await signup(ctx),
    ];
    const { sql } = ctx.deps;
    await sql`insert into follows (follower_id, followee_id) values (${me.id}, ${author.id})`;
    const posts = [await createPost(ctx, author), await createPost(ctx, author)];
    const now = Date.now();
    const [w0, b1, w2, b3] = [now - SYNC_OVERLAP_MS * 4, now - 1_000, now, now + 10].map((t) =>
      uuidv7({ msecs: t }),
    ) as [string, string, string, string];
    // In seq order: a written row long ago, a broadcast post just before the anchor, the
    // anchor (written), and a broadcast post after it.
    await insertAt(me.id, actor.id, [[w0, now - SYNC_OVERLAP_MS * 4]]);
    await sql`insert into broadcast_authors (author_id) values (${author.id})`;
    const broadcast = async (id: string, postId: string, at: number) => {
      await sql`
        insert into broadcast_notifications (id, author_id, post_id, created_at, inserted_at)
        values (${id}, ${author.id}, ${postId}, now(), ${new Date(at)})`;
    };
    await broadcast(b1, posts[0]!.id, now - 1_000);
    // Someone who follows from here on sees the next post only.
    await sql`insert into follows (follower_id, followee_id) values (${later.id}, ${author.id})`;
    await insertAt(me.id, actor.id, [[w2, now]]);
    await broadcast(b3, posts[1]!.id, now + 10);

    const ids = async (userId: string, after: string | undefined) =>
      (await notificationsAfter(sql, userId, after, 100)).rows.map((r) => r.id);
    expect(await ids(me.id, w2)).toEqual([b1, b3]);
    expect(await ids(me.id, b1)).toEqual([w2, b3]);
    expect(await ids(me.id, undefined)).toEqual([w0, b1, w2, b3]);
    expect(await ids(later.id, undefined)).toEqual([b3]);
    // A broadcast item the user cannot see is no anchor for them: its id's time stands in.
    expect(await ids(later.id, b1)).toEqual([b3]);
  });
});
