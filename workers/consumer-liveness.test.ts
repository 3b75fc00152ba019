import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { DEAD_LETTER_STREAM } from '../contract/index.ts';
import type { Config } from '../core/config.ts';
import type { Deps } from '../core/deps.ts';
import { connectRedis, createRedis, fullKey } from '../core/redis.ts';
import { useTestContext } from '../test/helpers/context.ts';
import { startConsumer } from './consumer.ts';
import { ensureGroup } from './consumer-group.ts';
import { heartbeatKey } from './consumer-liveness.ts';
import type { StreamMessage, StreamWorker } from './stream-worker.ts';

const TIMEOUT_MS = 2_000;

const ctx = useTestContext({
  STREAM_CONSUMER_TIMEOUT: '2s',
  STREAM_BLOCK: '200ms',
});

/** The test context's deps with other stream settings (each test states the ones it relies on). */
const withStreams = (streams: Partial<Config['streams']>): Deps => ({
  ...ctx.deps,
  config: { ...ctx.deps.config, streams: { ...ctx.deps.config.streams, ...streams } },
});

const newStream = (name: string) => `test-${name}-${randomBytes(4).toString('hex')}`;
const pendingCount = async (stream: string, group: string) =>
  ((await ctx.deps.redis.xpending(stream, group)) as [number])[0];

/** A worker counting its calls per message (by the message's `n` field). */
function countingWorker(
  stream: string,
  handle: (message: StreamMessage, call: number) => Promise<void> = async () => {},
) {
  const calls = new Map<string, number>();
  const doneAt = new Map<string, number>();
  const worker: StreamWorker = {
    group: 'g',
    stream,
    async handle(message) {
      const n = message.fields.n!;
      const call = (calls.get(n) ?? 0) + 1;
      calls.set(n, call);
      await handle(message, call);
      doneAt.set(n, Date.now());
    },
  };
  return { worker, calls, doneAt };
}

describe('consumer liveness', () => {
  it("takes over a dead consumer's pending messages once its heartbeat expires, within the timeout", async () => {
    const deps = withStreams({ claimIdleMs: 30_000 });
    const stream = newStream('dead');
    const { worker, doneAt } = countingWorker(stream);
    await ensureGroup(ctx.deps.redis, stream, 'g');
    await ctx.deps.redis.xadd(stream, '*', 'n', '1');
    await ctx.deps.redis.xadd(stream, '*', 'n', '2');
    // A consumer that was alive (its last heartbeat now), read two messages, and died:
    // no more heartbeats, no acknowledgement, no stop().
    const diedAt = Date.now();
    await ctx.deps.redis.set(heartbeatKey(stream, 'g', 'doomed'), '1', 'PX', TIMEOUT_MS);
    await ctx.deps.redis.xreadgroup('GROUP', 'g', 'doomed', 'COUNT', 10, 'STREAMS', stream, '>');
    const live = await startConsumer(deps, worker);
    try {
      await expect.poll(() => doneAt.size, { timeout: 10_000, interval: 20 }).toBe(2);
      const takenAfter = Math.min(...doneAt.values()) - diedAt;
      // Not before the heartbeat expired (the dead one might have been slow), and soon after.
      expect(takenAfter).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
      expect(takenAfter).toBeLessThan(3_000);
      await expect.poll(() => pendingCount(stream, 'g')).toBe(0);
      const takeovers = await ctx.deps.metrics.streamTakeovers.get();
      expect(takeovers.values.find((v) => v.labels.group === 'g')?.value).toBeGreaterThanOrEqual(2);
    } finally {
      await live.stop();
    }
  });

  it('after its Redis connection comes back, gives the others time to beat again before judging them dead', async () => {
    // A client of its own, to drop and reconnect without disturbing the other tests.
    const redis = createRedis(ctx.deps.config);
    await connectRedis(redis);
    const deps = { ...withStreams({ claimIdleMs: 30_000 }), redis };
    const stream = newStream('reconnect');
    const { worker, calls, doneAt } = countingWorker(stream);
    const sleeper = heartbeatKey(stream, 'g', 'sleeper');
    await ensureGroup(ctx.deps.redis, stream, 'g');
    // "sleeper" is alive and holds a message; "gone" is dead and holds one. Both messages
    // have been pending long enough to be taken over at once.
    await ctx.deps.redis.set(sleeper, '1', 'PX', 60_000);
    for (const [n, owner] of [
      ['alive', 'sleeper'],
      ['dead', 'gone'],
    ] as const) {
      const id = await ctx.deps.redis.xadd(stream, '*', 'n', n);
      await ctx.deps.redis.xreadgroup('GROUP', 'g', owner, 'COUNT', 1, 'STREAMS', stream, '>');
      await ctx.deps.redis.xclaim(stream, 'g', owner, 0, id!, 'IDLE', 60_000);
    }
    const consumer = await startConsumer(deps, worker);
    let back: Promise<unknown> | undefined;
    try {
      // As after a Redis restart longer than the timeout: every heartbeat has expired, and
      // every client reconnects; "sleeper" beats again a second later (its client's backoff).
      await ctx.deps.redis.del(sleeper);
      back = sleep(1_000).then(() => ctx.deps.redis.set(sleeper, '1', 'PX', 60_000));
      redis.disconnect(true);
      await expect.poll(() => doneAt.has('dead'), { timeout: 15_000 }).toBe(true);
      await back;
      expect(calls.has('alive')).toBe(false);
      const pending = (await ctx.deps.redis.xpending(stream, 'g', '-', '+', 10)) as Array<
        [string, string, number, number]
      >;
      expect(pending.map(([, owner]) => owner)).toEqual(['sleeper']);
    } finally {
      await back;
      await consumer.stop();
      redis.disconnect();
    }
  });

  it('a slow consumer that is alive keeps its message: no other consumer handles it, it is acknowledged once', async () => {
    // A retry cap (and safety-net idle) far below the handling time: nothing may treat a
    // message still being handled as abandoned.
    const deps = withStreams({ claimIdleMs: 1_000 });
    const stream = newStream('slow');
    const { worker, calls, doneAt } = countingWorker(stream, async (message) => {
      if (message.fields.slow) await sleep(3 * TIMEOUT_MS);
    });
    const consumers = await Promise.all([startConsumer(deps, worker), startConsumer(deps, worker)]);
    try {
      await ctx.deps.redis.xadd(stream, '*', 'n', 'slow', 'slow', 'yes');
      for (let i = 0; i < 5; i++) await ctx.deps.redis.xadd(stream, '*', 'n', `fast-${i}`);
      await expect.poll(() => doneAt.has('slow'), { timeout: 15_000 }).toBe(true);
      await expect.poll(() => pendingCount(stream, 'g')).toBe(0);
      expect(Object.fromEntries(calls)).toEqual({
        slow: 1,
        'fast-0': 1,
        'fast-1': 1,
        'fast-2': 1,
        'fast-3': 1,
        'fast-4': 1,
      });
    } finally {
      await Promise.all(consumers.map((c) => c.stop()));
    }
  });

  it('retries an outage without counting it toward dead-lettering; dead-letters other failures after maxDeliveries', async () => {
    const maxDeliveries = 3;
    const deps = withStreams({ claimIdleMs: 100, maxDeliveries });
    const stream = newStream('retry');
    const outageAttempts = maxDeliveries + 3;
    const seen: number[] = [];
    const { worker, calls, doneAt } = countingWorker(stream, async (message, call) => {
      if (message.fields.n === 'outage') {
        seen.push(message.deliveries);
        // As postgres.js fails while PostgreSQL restarts: toAppError calls it `unavailable`.
        if (call <= outageAttempts) {
          throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
            code: 'ECONNREFUSED',
          });
        }
        return;
      }
      throw new Error('cannot digest this');
    });
    const consumer = await startConsumer(deps, worker);
    try {
      await ctx.deps.redis.xadd(stream, '*', 'n', 'outage');
      await ctx.deps.redis.xadd(stream, '*', 'n', 'poison');
      await expect.poll(() => doneAt.has('outage'), { timeout: 15_000 }).toBe(true);
      const deadLetters = async () =>
        (await ctx.deps.redis.xrange(DEAD_LETTER_STREAM, '-', '+'))
          .map(([, fields]) => fields)
          .filter((f) => f[f.indexOf('stream') + 1] === stream);
      await expect.poll(async () => (await deadLetters()).length, { timeout: 15_000 }).toBe(1);
      const [dead] = await deadLetters();
      expect(dead![dead!.indexOf('n') + 1]).toBe('poison');
      expect(dead![dead!.indexOf('error') + 1]).toBe('cannot digest this');
      expect(calls.get('poison')).toBe(maxDeliveries);
      expect(calls.get('outage')).toBe(outageAttempts + 1);
      // Every attempt was still the first delivery: an outage is no fault of the message.
      expect(new Set(seen)).toEqual(new Set([1]));
      await expect.poll(() => pendingCount(stream, 'g')).toBe(0);
    } finally {
      await consumer.stop();
    }
  });

  it('gives up on a handling that never ends (STREAM_HANDLE_TIMEOUT): the message is retried, and the consumer reads on', async () => {
    const deps = withStreams({ handleTimeoutMs: 300, claimIdleMs: 100 });
    const stream = newStream('stuck');
    // The first handling of `stuck` hangs for good, as on a connection nobody answers.
    const { worker, calls, doneAt } = countingWorker(stream, (message, call) =>
      message.fields.n === 'stuck' && call === 1 ? new Promise<void>(() => {}) : Promise.resolve(),
    );
    const consumer = await startConsumer({ ...deps }, { ...worker, batch: 1, concurrency: 1 });
    try {
      await ctx.deps.redis.xadd(stream, '*', 'n', 'stuck');
      await ctx.deps.redis.xadd(stream, '*', 'n', 'next');
      await expect
        .poll(() => doneAt.has('stuck') && doneAt.has('next'), { timeout: 15_000 })
        .toBe(true);
      expect(calls.get('stuck')).toBe(2);
      expect(calls.get('next')).toBe(1);
      await expect.poll(() => pendingCount(stream, 'g')).toBe(0);
    } finally {
      await consumer.stop();
    }
  });

  it('recreates its group when the stream is deleted under it, and consumes what comes next', async () => {
    const stream = newStream('lost');
    const { worker, doneAt } = countingWorker(stream);
    const consumer = await startConsumer(ctx.deps, worker);
    try {
      await ctx.deps.redis.xadd(stream, '*', 'n', 'before');
      await expect.poll(() => doneAt.has('before'), { timeout: 10_000 }).toBe(true);
      // As Redis losing its data: the stream, its group and the consumer go.
      await ctx.deps.redis.del(stream);
      await ctx.deps.redis.xadd(stream, '*', 'n', 'after');
      await expect.poll(() => doneAt.has('after'), { timeout: 10_000 }).toBe(true);
      await expect.poll(() => pendingCount(stream, 'g')).toBe(0);
      const groups = (await ctx.deps.redis.xinfo(
        'GROUPS',
        fullKey(ctx.deps.redis, stream),
      )) as unknown[][];
      expect(groups.map((g) => g[1])).toEqual(['g']);
    } finally {
      await consumer.stop();
    }
  });

  it("removes a dead consumer's empty entry, never a live one's", async () => {
    // A short timeout so that "idle for a while" (twice the timeout here) comes quickly.
    const deps = withStreams({ consumerTimeoutMs: 400, claimIdleMs: 300 });
    const stream = newStream('tidy');
    const { worker } = countingWorker(stream);
    const key = fullKey(ctx.deps.redis, stream);
    await ensureGroup(ctx.deps.redis, stream, 'g');
    // Two consumers with nothing pending, idle for as long: one has a heartbeat.
    await ctx.deps.redis.set(heartbeatKey(stream, 'g', 'sleeper'), '1', 'PX', 60_000);
    await ctx.deps.redis.xgroup('CREATECONSUMER', key, 'g', 'sleeper');
    await ctx.deps.redis.xgroup('CREATECONSUMER', key, 'g', 'gone');
    const names = async () =>
      ((await ctx.deps.redis.xinfo('CONSUMERS', key, 'g')) as Array<Array<string | number>>).map(
        (c) => String(c[1]),
      );
    expect((await names()).sort()).toEqual(['gone', 'sleeper']);
    const consumer = await startConsumer(deps, worker);
    try {
      await expect.poll(names, { timeout: 10_000 }).not.toContain('gone');
      expect(await names()).toContain('sleeper');
    } finally {
      await consumer.stop();
    }
  });
});
