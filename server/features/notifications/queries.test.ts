import { describe, expect, it } from 'vitest';
import { signup } from '../../../test/helpers/builders.ts';
import { useTestContext } from '../../../test/helpers/context.ts';
import { notificationsAfter, SYNC_OVERLAP_MS } from './queries.ts';

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
});
