import { describe, expect, it } from 'vitest';
import { DEAD_LETTER_STREAM, EVENTS_STREAM, FANOUT_STREAM } from '../contract/index.ts';
import { fullKey } from '../core/redis.ts';
import { createPost, signup } from '../test/helpers/builders.ts';
import { useTestContext } from '../test/helpers/context.ts';
import { seedFollowers } from '../test/helpers/realtime.ts';
import { startConsumer } from './consumer.ts';
import { fanoutChunk, fanoutChunks, postFanout } from './fanout.ts';
import { relayOnce, startOutboxRelay } from './relay.ts';
import type { StreamWorker } from './stream-worker.ts';
import { trimStream } from './streams.ts';

const ctx = useTestContext({
  FANOUT_CHUNK_SIZE: '100',
  STREAM_CLAIM_IDLE: '300ms',
  STREAM_BLOCK: '100ms',
});

const streamLength = (stream: string) => ctx.deps.redis.xlen(stream);
const unpublished = async () =>
  (await ctx.deps.sql`select count(*)::int as n from outbox where published_at is null`)[0]!
    .n as number;
const inboxCount = async (eventId: string) =>
  (await ctx.deps.sql`select count(*)::int as n from notifications where id = ${eventId}`)[0]!
    .n as number;

describe('outbox relay', () => {
  it('publishes each committed event once, even with two relays racing, and wakes on commit', async () => {
    await relayOnce(ctx.deps); // start from an empty backlog
    const before = await streamLength(EVENTS_STREAM);
    const relays = await Promise.all([
      startOutboxRelay(ctx.deps, 60_000),
      startOutboxRelay(ctx.deps, 60_000),
    ]);
    try {
      const author = await signup(ctx);
      for (let i = 0; i < 5; i++) await createPost(ctx, author);
      // NOTIFY wakes the relays: no poll tick (60 s) is needed.
      await expect.poll(unpublished, { timeout: 15_000 }).toBe(0);
      // Five posts, five events on the stream: none twice although two relays ran.
      expect((await streamLength(EVENTS_STREAM)) - before).toBe(5);
    } finally {
      await Promise.all(relays.map((r) => r.stop()));
    }
  });

  it('picks up what a crashed process left unpublished', async () => {
    await relayOnce(ctx.deps);
    // An event committed while no relay ran (as if the process died right after the commit).
    await ctx.deps.sql`
      insert into outbox (type, payload) values ('follow.created',
        ${ctx.deps.sql.json({ type: 'follow.created', followerId: 'a', followeeId: 'b', createdAt: new Date().toISOString() })})`;
    expect(await unpublished()).toBe(1);
    const relay = await startOutboxRelay(ctx.deps, 100);
    try {
      await expect.poll(unpublished, { timeout: 15_000 }).toBe(0);
    } finally {
      await relay.stop();
    }
  });
});

describe('consumer framework', () => {
  it('retries a failing message on the consumer that has it, then moves it to the dead-letter stream', async () => {
    const stream = `test-poison-${Date.now()}`;
    let attempts = 0;
    const worker: StreamWorker = {
      group: 'poison',
      stream,
      async handle(message) {
        attempts += 1;
        if (message.fields.ok !== 'yes') throw new Error('cannot digest this');
      },
    };
    const consumer = await startConsumer(ctx.deps, worker);
    try {
      await ctx.deps.redis.xadd(stream, '*', 'ok', 'no');
      await ctx.deps.redis.xadd(stream, '*', 'ok', 'yes');
      await expect
        .poll(async () => (await ctx.deps.redis.xrange(DEAD_LETTER_STREAM, '-', '+')).length, {
          timeout: 10_000,
        })
        .toBeGreaterThan(0);
      const dead = (await ctx.deps.redis.xrange(DEAD_LETTER_STREAM, '-', '+')).map(([, f]) =>
        f.join(' '),
      );
      expect(
        dead.some((d) => d.includes(`stream ${stream}`) && d.includes('error cannot digest this')),
      ).toBe(true);
      // 1 + maxDeliveries - 1 retries of the poison message, 1 of the good one.
      expect(attempts).toBe(ctx.deps.config.streams.maxDeliveries + 1);
      const [pending] = (await ctx.deps.redis.xpending(stream, 'poison')) as [number];
      expect(pending).toBe(0);
    } finally {
      await consumer.stop();
    }
  });

  it('takes over the pending messages of a dead consumer that never had a heartbeat (an older version)', async () => {
    const stream = `test-takeover-${Date.now()}`;
    const handled: string[] = [];
    const worker: StreamWorker = {
      group: 'takeover',
      stream,
      async handle(message) {
        handled.push(message.fields.n!);
      },
    };
    // A consumer that read two messages and died before acknowledging them.
    await ctx.deps.redis.xgroup(
      'CREATE',
      fullKey(ctx.deps.redis, stream),
      'takeover',
      '0',
      'MKSTREAM',
    );
    await ctx.deps.redis.xadd(stream, '*', 'n', '1');
    await ctx.deps.redis.xadd(stream, '*', 'n', '2');
    await ctx.deps.redis.xreadgroup(
      'GROUP',
      'takeover',
      'dead-one',
      'COUNT',
      10,
      'STREAMS',
      stream,
      '>',
    );
    const consumer = await startConsumer(ctx.deps, worker);
    try {
      await expect.poll(() => handled.length, { timeout: 10_000 }).toBe(2);
      expect(handled.sort()).toEqual(['1', '2']);
    } finally {
      await consumer.stop();
    }
  });
});

describe('fan-out', () => {
  it('splits a large audience into chunks that several consumers share, one inbox row per follower', async () => {
    const author = await signup(ctx);
    const followers = await seedFollowers(ctx.deps.sql, author.id, 450);
    await relayOnce(ctx.deps);
    const post = await createPost(ctx, author);
    await relayOnce(ctx.deps);
    const [{ eventId } = { eventId: '' }] = await ctx.deps.sql<{ eventId: string }[]>`
      select event_id as "eventId" from outbox where payload->>'postId' = ${post.id as string}`;
    const chunksBefore = await streamLength(FANOUT_STREAM);
    const consumers = await Promise.all([
      startConsumer(ctx.deps, postFanout),
      startConsumer(ctx.deps, fanoutChunks),
      startConsumer(ctx.deps, fanoutChunks),
    ]);
    try {
      await expect.poll(() => inboxCount(eventId), { timeout: 15_000 }).toBe(450);
      // 450 followers in chunks of 100: five chunks, [.., b100], (b100, b200], ... (b400, ..).
      expect((await streamLength(FANOUT_STREAM)) - chunksBefore).toBe(5);
      const rows = await ctx.deps.sql`
        select user_id, count(*)::int as n from notifications where id = ${eventId} group by user_id`;
      expect(rows.every((r) => r.n === 1)).toBe(true);
      expect(new Set(rows.map((r) => r.user_id))).toEqual(new Set(followers));
    } finally {
      await Promise.all(consumers.map((c) => c.stop()));
    }
  });

  it('is idempotent under redelivery and skips posts deleted before their fan-out', async () => {
    const author = await signup(ctx);
    await seedFollowers(ctx.deps.sql, author.id, 30);
    const post = await createPost(ctx, author);
    const chunk = {
      eventId: '01a21392-0000-7000-8000-00000000abcd',
      postId: post.id as string,
      authorId: author.id,
      createdAt: new Date().toISOString(),
      from: null,
      to: null,
    };
    expect(await fanoutChunk(ctx.deps, chunk)).toBe(30);
    expect(await fanoutChunk(ctx.deps, chunk)).toBe(30);
    expect(await inboxCount(chunk.eventId)).toBe(30);
    await ctx.request('DELETE', `/api/v1/posts/${post.id}`, { token: author.accessToken });
    // The post's notifications went with it, and a late fan-out makes none.
    expect(await inboxCount(chunk.eventId)).toBe(0);
    expect(
      await fanoutChunk(ctx.deps, { ...chunk, eventId: '01a21392-0000-7000-8000-00000000abce' }),
    ).toBe(0);
  });
});

describe('stream trimming', () => {
  it('trims only what every group has finished', async () => {
    const stream = `test-trim-${Date.now()}`;
    const key = fullKey(ctx.deps.redis, stream);
    await ctx.deps.redis.xgroup('CREATE', key, 'fast', '0', 'MKSTREAM');
    await ctx.deps.redis.xgroup('CREATE', key, 'slow', '0', 'MKSTREAM');
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await ctx.deps.redis.xadd(stream, '*', 'n', String(i)))!);
    // "fast" read and acked all; "slow" read four and acked two.
    await ctx.deps.redis.xreadgroup('GROUP', 'fast', 'c', 'COUNT', 6, 'STREAMS', stream, '>');
    await ctx.deps.redis.xack(stream, 'fast', ...ids);
    await ctx.deps.redis.xreadgroup('GROUP', 'slow', 'c', 'COUNT', 4, 'STREAMS', stream, '>');
    await ctx.deps.redis.xack(stream, 'slow', ids[0]!, ids[1]!);
    expect(await trimStream(ctx.deps, stream)).toBe(2);
    const left = (await ctx.deps.redis.xrange(stream, '-', '+')).map(([id]) => id);
    expect(left).toEqual(ids.slice(2));
  });

  it('trims nothing while a group this release runs is missing (as after a loss, before every consumer is back)', async () => {
    const stream = `test-trim-missing-${Date.now()}`;
    await ctx.deps.redis.xgroup('CREATE', fullKey(ctx.deps.redis, stream), 'back', '0', 'MKSTREAM');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await ctx.deps.redis.xadd(stream, '*', 'n', String(i)))!);
    await ctx.deps.redis.xreadgroup('GROUP', 'back', 'c', 'COUNT', 3, 'STREAMS', stream, '>');
    await ctx.deps.redis.xack(stream, 'back', ...ids);
    // "later" has not created its group again yet: it needs everything.
    expect(await trimStream(ctx.deps, stream, ['back', 'later'])).toBe(0);
    expect(await ctx.deps.redis.xlen(stream)).toBe(3);
    expect(await trimStream(ctx.deps, stream, ['back'])).toBe(3);
  });

  it('is not held back by a group no worker of this release runs (left by an older one)', async () => {
    const stream = `test-trim-retired-${Date.now()}`;
    const key = fullKey(ctx.deps.redis, stream);
    await ctx.deps.redis.xgroup('CREATE', key, 'current', '0', 'MKSTREAM');
    // A retired worker's group: it has read nothing, and nobody will ever read for it.
    await ctx.deps.redis.xgroup('CREATE', key, 'retired', '0');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await ctx.deps.redis.xadd(stream, '*', 'n', String(i)))!);
    await ctx.deps.redis.xreadgroup('GROUP', 'current', 'c', 'COUNT', 3, 'STREAMS', stream, '>');
    await ctx.deps.redis.xack(stream, 'current', ...ids);
    expect(await trimStream(ctx.deps, stream, ['current'])).toBe(3);
  });
});
