import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { EVENTS_STREAM } from '../contract/index.ts';
import { fullKey } from '../core/redis.ts';
import type { RunningRole } from '../core/roles.ts';
import { recordEvent } from '../domain/events/outbox.ts';
import { createPost, type SignedUpUser, signup } from '../test/helpers/builders.ts';
import { useTestContext } from '../test/helpers/context.ts';
import { REDIS_URL } from '../test/helpers/env.ts';
import { seedFollowers } from '../test/helpers/realtime.ts';
import { startConsumer } from './consumer.ts';
import { STREAM_WORKERS } from './index.ts';
import {
  type RelayState,
  relayOnce,
  republishLost,
  StreamEpochChanged,
  startOutboxRelay,
} from './relay.ts';
import { currentEpoch, readEpoch } from './stream-epoch.ts';
import { maintainStreams, startStreamMaintenance, streamHorizon } from './streams.ts';

const ctx = useTestContext({
  FANOUT_CHUNK_SIZE: '10',
  STREAM_BLOCK: '100ms',
  STREAM_CLAIM_IDLE: '1s',
  STREAM_MAINTENANCE_INTERVAL: '200ms',
});

/**
 * Redis losing this test's data, as FLUSHALL would, for this prefix only (the Redis
 * is shared): every key under it deleted in one command, so at once, as a whole loss
 * takes them (a stream lost on its own is another case, tested below).
 */
async function loseRedisData(): Promise<void> {
  const admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await admin.scan(cursor, 'MATCH', `${ctx.redisPrefix}*`, 'COUNT', 500);
      keys.push(...found);
      cursor = next;
    } while (cursor !== '0');
    if (keys.length > 0) await admin.del(...keys);
  } finally {
    admin.disconnect();
  }
}

/** An event no consumer acts on: the relay and the maintenance still treat it like any other. */
const quietEvent = () =>
  recordEvent(ctx.deps.sql, {
    type: 'comment.deleted',
    commentId: randomUUID(),
    postId: randomUUID(),
  });

const count = async (query: Promise<{ n: number }[]>) => (await query)[0]!.n;
const unpublished = () =>
  count(ctx.deps.sql`select count(*)::int as n from outbox where published_at is null`);
const outboxRows = () => count(ctx.deps.sql`select count(*)::int as n from outbox`);
const outboxRow = async (id: number) =>
  (
    await ctx.deps.sql<{ published: boolean; epoch: string | null; streamId: string | null }[]>`
      select published_at is not null as published, stream_epoch as epoch, stream_id as "streamId"
      from outbox where id = ${id}`
  )[0];

/** Whether stream id `a` comes after `b`. */
const idAfter = (a: string, b: string) => {
  const [am, as] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bm, bs] = b.split('-').map(BigInt) as [bigint, bigint];
  return am > bm || (am === bm && as > bs);
};

const GROUPS = new Map<string, string[]>();
for (const w of STREAM_WORKERS) GROUPS.set(w.stream, [...(GROUPS.get(w.stream) ?? []), w.group]);

/** The workers role's stream parts, in this process: relay, every consumer, maintenance. */
async function startPipeline(): Promise<RunningRole> {
  const parts: RunningRole[] = [await startOutboxRelay(ctx.deps, 200)];
  for (const worker of STREAM_WORKERS) parts.push(await startConsumer(ctx.deps, worker));
  parts.push(startStreamMaintenance(ctx.deps, STREAM_WORKERS));
  return {
    name: 'pipeline',
    stop: async () => {
      await Promise.all(parts.map((p) => p.stop()));
    },
  };
}

/** Authors with followers, their posts, and what each follower's inbox must hold. */
async function audience() {
  const big = await signup(ctx);
  const small = await signup(ctx);
  const followers = new Map([
    // More than FANOUT_CHUNK_SIZE: fanned out in chunks on the chunk stream.
    [big.id, await seedFollowers(ctx.deps.sql, big.id, 25)],
    [small.id, await seedFollowers(ctx.deps.sql, small.id, 3)],
  ]);
  const posts: Array<{ id: string; authorId: string }> = [];
  const post = async (author: SignedUpUser) => {
    const created = await createPost(ctx, author);
    posts.push({ id: created.id, authorId: author.id });
    return created.id as string;
  };
  /** Inbox rows per (follower, post) of these posts: how many are missing, and the most any pair has. */
  const deliveries = async () => {
    const rows = await ctx.deps.sql<{ userId: string; postId: string; n: number }[]>`
      select user_id as "userId", post_id as "postId", count(*)::int as n from notifications
      where post_id in ${ctx.deps.sql(posts.length > 0 ? posts.map((p) => p.id) : [randomUUID()])}
      group by user_id, post_id`;
    const got = new Map(rows.map((r) => [`${r.userId}/${r.postId}`, r.n]));
    let missing = 0;
    for (const p of posts) {
      for (const f of followers.get(p.authorId)!) if (!got.has(`${f}/${p.id}`)) missing += 1;
    }
    return { missing, most: Math.max(0, ...got.values()), pairs: got.size };
  };
  const expectedPairs = () => posts.reduce((sum, p) => sum + followers.get(p.authorId)!.length, 0);
  return { big, small, followers, posts, post, deliveries, expectedPairs };
}

describe('the relay across a loss of Redis data', () => {
  it('does not mark a batch published when the epoch read back after its XADDs is not the one it stamps; it goes out again in the new epoch', async () => {
    await quietEvent();
    const [{ id } = { id: 0 }] = await ctx.deps.sql<
      { id: number }[]
    >`select max(id)::int as id from outbox`;
    // The relay learnt the epoch; Redis then loses its data before its next batch.
    const state: RelayState = { epoch: await currentEpoch(ctx.deps.redis) };
    const old = state.epoch;
    await loseRedisData();
    await expect(relayOnce(ctx.deps, state)).rejects.toBeInstanceOf(StreamEpochChanged);
    expect(await outboxRow(id)).toMatchObject({ published: false, epoch: null });
    expect(state.epoch).toBeUndefined();

    expect(await relayOnce(ctx.deps, state)).toBeGreaterThanOrEqual(1);
    const row = (await outboxRow(id))!;
    const now = await readEpoch(ctx.deps.redis);
    expect(now).not.toBe(old);
    expect(row).toMatchObject({ published: true, epoch: now });
    expect(await ctx.deps.redis.xrange(EVENTS_STREAM, row.streamId!, row.streamId!)).toHaveLength(
      1,
    );
  });

  it('publishes again rows committed in the old epoch after another relay already reset the others (checked on every tick)', async () => {
    const relay = await startOutboxRelay(ctx.deps, 100);
    try {
      await quietEvent();
      await expect.poll(unpublished, { timeout: 10_000 }).toBe(0);
      const [{ id: first } = { id: 0 }] = await ctx.deps.sql<
        { id: number }[]
      >`select max(id)::int as id from outbox`;
      const old = (await outboxRow(first))!.epoch;
      expect(old).toBe(await readEpoch(ctx.deps.redis));
      await loseRedisData();
      // The relay notices on a tick and publishes the row again, in a new epoch.
      await expect
        .poll(async () => (await outboxRow(first))?.epoch, { timeout: 10_000 })
        .toSatisfy((epoch) => typeof epoch === 'string' && epoch !== old);
      // Now the commit of a relay that added its batch to the old Redis and read the old
      // epoch back just before the loss: its rows were not yet visible as published
      // when the reset above ran.
      const [late] = await ctx.deps.sql<{ id: number }[]>`
        insert into outbox (type, payload, published_at, stream_id, stream_epoch)
        values ('comment.deleted', ${ctx.deps.sql.json({ type: 'comment.deleted', commentId: randomUUID(), postId: randomUUID() })},
          now(), '1-1', ${old})
        returning id`;
      await expect
        .poll(async () => (await outboxRow(late!.id))?.epoch, { timeout: 10_000 })
        .toBe(await readEpoch(ctx.deps.redis));
      const row = (await outboxRow(late!.id))!;
      const [entry] = await ctx.deps.redis.xrange(EVENTS_STREAM, row.streamId!, row.streamId!);
      expect(entry?.[1]).toContain(String(late!.id));
    } finally {
      await relay.stop();
    }
  });
});

describe('a Redis that came back with older data', () => {
  it('keeps the epoch but not the last entries: the stream maintenance publishes those events again, and only those', async () => {
    const state: RelayState = {};
    while ((await relayOnce(ctx.deps, state)) > 0) {
      // the backlog of earlier tests
    }
    const events = async (n: number) => {
      for (let i = 0; i < n; i++) await quietEvent();
      await relayOnce(ctx.deps, state);
      return ctx.deps.sql<{ id: number; streamId: string }[]>`
        select id, stream_id as "streamId" from outbox
        where published_at is not null order by id desc limit ${n}`;
    };
    const kept = await events(3);
    // Every group has read up to here and holds nothing: the older state Redis comes back with.
    const lastKept = kept.map((r) => r.streamId).sort((a, b) => (idAfter(a, b) ? -1 : 1))[0]!;
    const key = fullKey(ctx.deps.redis, EVENTS_STREAM);
    const made: string[] = [];
    for (const group of GROUPS.get(EVENTS_STREAM)!) {
      const created = await ctx.deps.redis.xgroup('CREATE', key, group, '0', 'MKSTREAM').then(
        () => true,
        () => false,
      );
      if (created) made.push(group);
      await ctx.deps.redis.xgroup('SETID', key, group, lastKept);
      const pending = (await ctx.deps.redis.xpending(
        EVENTS_STREAM,
        group,
        '-',
        '+',
        1000,
      )) as Array<[string]>;
      if (pending.length > 0)
        await ctx.deps.redis.xack(EVENTS_STREAM, group, ...pending.map((p) => p[0]));
    }
    const lost = await events(2);
    // The restart from older data: these two entries are gone, the epoch key is not.
    await ctx.deps.redis.xdel(EVENTS_STREAM, ...lost.map((r) => r.streamId));
    const epoch = await readEpoch(ctx.deps.redis);

    const { republished } = await maintainStreams(ctx.deps, GROUPS);
    expect(republished).toBe(2);
    for (const r of lost) expect(await outboxRow(r.id)).toMatchObject({ published: false });
    for (const r of kept) {
      const row = await outboxRow(r.id);
      // Done by every group: purged, or still there as published; never published again.
      if (row) expect(row).toMatchObject({ published: true, epoch, streamId: r.streamId });
    }
    // Published again, in the same epoch, and nothing more to do.
    await relayOnce(ctx.deps, state);
    for (const r of lost) expect(await outboxRow(r.id)).toMatchObject({ published: true, epoch });
    expect((await maintainStreams(ctx.deps, GROUPS)).republished).toBe(0);
    // The groups this test made go: the tests below count the stream's groups.
    for (const group of made) await ctx.deps.redis.xgroup('DESTROY', key, group);
  });
});

describe('outbox rows with no epoch', () => {
  it('are neither published again nor kept: published before epochs existed, or marked published by hand', async () => {
    const [row] = await ctx.deps.sql<{ id: number }[]>`
      insert into outbox (type, payload, published_at)
      values ('comment.deleted', ${ctx.deps.sql.json({ type: 'comment.deleted', commentId: randomUUID(), postId: randomUUID() })}, now())
      returning id`;
    await republishLost(ctx.deps);
    expect(await outboxRow(row!.id)).toMatchObject({ published: true, epoch: null });
    await maintainStreams(ctx.deps, GROUPS);
    expect(await outboxRow(row!.id)).toBeUndefined();
  });
});

describe('consumers across a loss of Redis data', () => {
  it('a consumer whose group vanished while the epoch key stayed ends the epoch; the consumers go on in the new one', async () => {
    const worker = STREAM_WORKERS.find((w) => w.group === 'notify')!;
    const consumers = await Promise.all([
      startConsumer(ctx.deps, worker),
      startConsumer(ctx.deps, worker),
    ]);
    try {
      await expect
        .poll(async () => {
          try {
            return (
              (await ctx.deps.redis.xinfo(
                'GROUPS',
                fullKey(ctx.deps.redis, EVENTS_STREAM),
              )) as unknown[]
            ).length;
          } catch {
            return 0;
          }
        })
        .toBe(1);
      const epochs: Array<string | null> = [await readEpoch(ctx.deps.redis)];
      expect(epochs[0]).toBeTruthy();
      // The events stream alone goes (deleted, or evicted): its entries with it.
      await ctx.deps.redis.del(EVENTS_STREAM);
      await expect
        .poll(async () => (await readEpoch(ctx.deps.redis)) !== epochs[0], { timeout: 10_000 })
        .toBe(true);
      // The group is back, and the consumers read from it in the new epoch.
      await expect
        .poll(
          async () =>
            (
              (await ctx.deps.redis.xinfo(
                'GROUPS',
                fullKey(ctx.deps.redis, EVENTS_STREAM),
              )) as unknown[]
            ).length,
        )
        .toBe(1);
      epochs.push(await readEpoch(ctx.deps.redis));
      await ctx.deps.redis.xadd(
        EVENTS_STREAM,
        '*',
        'eventId',
        randomUUID(),
        'event',
        JSON.stringify({ type: 'comment.deleted', commentId: randomUUID(), postId: randomUUID() }),
      );
      await expect
        .poll(async () => ((await ctx.deps.redis.xpending(EVENTS_STREAM, 'notify')) as [number])[0])
        .toBe(0);
      expect(await readEpoch(ctx.deps.redis)).toBe(epochs[1]);
    } finally {
      await Promise.all(consumers.map((c) => c.stop()));
    }
  });
});

describe('posts across a loss of Redis data', () => {
  it('every follower gets every post exactly once, committed before, during or after the loss; the epoch changes; the outbox then empties', async () => {
    const { big, small, followers, post, deliveries, expectedPairs } = await audience();
    const pipeline = await startPipeline();
    const blocker = await ctx.deps.sql.reserve();
    try {
      // Before, and done: delivered, and the outbox rows deleted once every group is done.
      await post(big);
      await post(small);
      await expect.poll(async () => (await deliveries()).missing, { timeout: 15_000 }).toBe(0);
      await expect.poll(outboxRows, { timeout: 15_000 }).toBe(0);

      // Before, not done: one chunk of this post waits on a follower's row (its inbox
      // insert checks the row), so its event is acknowledged (the chunks are queued)
      // but its fan-out is not finished. Its outbox row stays while a chunk of it is on
      // the chunk stream, whatever the events stream's horizon.
      await blocker`begin`;
      await blocker`select 1 from users where id = ${followers.get(big.id)![12]!} for update`;
      const waiting = await post(big);
      await expect
        .poll(
          async () =>
            count(ctx.deps.sql`
              select count(*)::int as n from pg_stat_activity
              where datname = current_database() and wait_event_type = 'Lock'`),
          { timeout: 15_000 },
        )
        .toBeGreaterThan(0);
      // Every group of the events stream is past its event: the horizon alone would let
      // its row go.
      const [{ streamId } = { streamId: '' }] = await ctx.deps.sql<{ streamId: string }[]>`
        select stream_id as "streamId" from outbox where payload->>'postId' = ${waiting}`;
      await expect
        .poll(
          async () => {
            const horizon = await streamHorizon(
              ctx.deps.redis,
              EVENTS_STREAM,
              GROUPS.get(EVENTS_STREAM),
            );
            return horizon !== null && idAfter(horizon, streamId);
          },
          { timeout: 15_000 },
        )
        .toBe(true);
      await maintainStreams(ctx.deps, GROUPS);
      expect(
        await count(ctx.deps.sql`
          select count(*)::int as n from outbox where payload->>'postId' = ${waiting}`),
      ).toBe(1);

      // During: posts committed while Redis loses everything under this prefix.
      const epochBefore = await readEpoch(ctx.deps.redis);
      expect(epochBefore).toBeTruthy();
      const during = (async () => {
        for (let i = 0; i < 4; i++) await post(i % 2 === 0 ? big : small);
      })();
      await loseRedisData();
      await during;
      await blocker`rollback`;

      // After.
      await post(small);
      await post(big);

      await expect.poll(async () => (await deliveries()).missing, { timeout: 30_000 }).toBe(0);
      const result = await deliveries();
      expect(result.pairs).toBe(expectedPairs());
      expect(result.most).toBe(1);
      const epochAfter = await readEpoch(ctx.deps.redis);
      expect(epochAfter).toBeTruthy();
      expect(epochAfter).not.toBe(epochBefore);
      await expect.poll(outboxRows, { timeout: 30_000 }).toBe(0);
    } finally {
      await blocker`rollback`.catch(() => {});
      blocker.release();
      await pipeline.stop();
    }
  });

  it('the same when the events stream alone is lost (deleted) while posts are committed', async () => {
    const { big, small, post, deliveries, expectedPairs } = await audience();
    const pipeline = await startPipeline();
    try {
      await post(big);
      await expect.poll(async () => (await deliveries()).missing, { timeout: 15_000 }).toBe(0);
      const epochBefore = await readEpoch(ctx.deps.redis);
      const during = (async () => {
        for (let i = 0; i < 4; i++) await post(i % 2 === 0 ? small : big);
      })();
      await ctx.deps.redis.del(EVENTS_STREAM);
      await during;
      await post(small);
      await expect.poll(async () => (await deliveries()).missing, { timeout: 30_000 }).toBe(0);
      const result = await deliveries();
      expect(result.pairs).toBe(expectedPairs());
      expect(result.most).toBe(1);
      expect(await readEpoch(ctx.deps.redis)).not.toBe(epochBefore);
      await expect.poll(outboxRows, { timeout: 30_000 }).toBe(0);
    } finally {
      await pipeline.stop();
    }
  });
});
