import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import pLimit from 'p-limit';
import { DEAD_LETTER_STREAM } from '../core/contract.ts';
import type { Deps } from '../core/deps.ts';
import { fullKey, type Redis, redisProblem } from '../core/redis.ts';
import type { RunningRole } from '../core/roles.ts';

export interface StreamMessage {
  id: string;
  fields: Record<string, string>;
  /** 1 on first delivery; more when the message was claimed again after a failure or a dead consumer. */
  deliveries: number;
}

/**
 * One concern of the workers role: a consumer group on a stream. Declare it in
 * a file of its own; the loop below does the reading, acknowledging, claiming
 * and dead-lettering.
 */
export interface StreamWorker {
  /** The consumer group's name. */
  group: string;
  stream: string;
  /** Messages per read (default 32) and how many are handled at once (default 4). */
  batch?: number;
  concurrency?: number;
  /** Must be idempotent: a message can be delivered more than once. Throwing leaves it pending for a retry. */
  handle(message: StreamMessage, deps: Deps): Promise<void>;
}

export interface ConsumerHandle extends RunningRole {
  consumer: string;
}

type RawEntry = [id: string, fields: string[]];

function toFields(list: string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) fields[list[i]!] = list[i + 1]!;
  return fields;
}

export async function ensureGroup(redis: Redis, stream: string, group: string): Promise<void> {
  try {
    // From the beginning of what the stream holds: a new group misses nothing retained.
    // ioredis does not prefix XGROUP's key: give it in full.
    await redis.xgroup('CREATE', fullKey(redis, stream), group, '0', 'MKSTREAM');
  } catch (err) {
    if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
  }
}

/**
 * The shared consumer loop: XREADGROUP with a blocking read on a connection of
 * its own, XACK after success, XAUTOCLAIM of messages left pending longer than
 * `claimIdleMs` (a dead consumer's, or a failed one's), and after
 * `maxDeliveries` attempts a move to the dead-letter stream.
 */
export async function startConsumer(
  deps: Deps,
  worker: StreamWorker,
  options: { consumer?: string } = {},
): Promise<ConsumerHandle> {
  const { redis, logger, metrics, config } = deps;
  const { claimIdleMs, maxDeliveries, blockMs } = config.streams;
  const consumer =
    options.consumer ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const log = logger.child({ group: worker.group, consumer });
  const batch = worker.batch ?? 32;
  const limit = pLimit(worker.concurrency ?? 4);
  const lastErrors = new Map<string, string>();
  // Blocking reads hold their connection: give them one of their own.
  const reader = redis.duplicate({
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
    lazyConnect: true,
  });
  reader.on('error', () => {});

  let stopped = false;

  const handleAll = async (messages: StreamMessage[]) => {
    const done: string[] = [];
    await Promise.all(
      messages.map((message) =>
        limit(async () => {
          try {
            await worker.handle(message, deps);
            done.push(message.id);
            lastErrors.delete(message.id);
            metrics.streamMessages.inc({ group: worker.group, outcome: 'ok' });
          } catch (err) {
            const text = err instanceof Error ? err.message : String(err);
            lastErrors.set(message.id, text);
            metrics.streamMessages.inc({ group: worker.group, outcome: 'failed' });
            log.warn(
              { id: message.id, deliveries: message.deliveries, err: text },
              'message failed; it stays pending',
            );
          }
        }),
      ),
    );
    if (done.length > 0) await redis.xack(worker.stream, worker.group, ...done);
  };

  const deadLetter = async (message: StreamMessage) => {
    await redis.xadd(
      DEAD_LETTER_STREAM,
      '*',
      'stream',
      worker.stream,
      'group',
      worker.group,
      'id',
      message.id,
      'deliveries',
      String(message.deliveries),
      'error',
      lastErrors.get(message.id) ?? 'failed on another consumer',
      ...Object.entries(message.fields).flat(),
    );
    await redis.xack(worker.stream, worker.group, message.id);
    lastErrors.delete(message.id);
    metrics.streamMessages.inc({ group: worker.group, outcome: 'dead_lettered' });
    log.error(
      { id: message.id, deliveries: message.deliveries },
      'message moved to the dead-letter stream',
    );
  };

  /** Takes over messages pending too long, anyone's; retries them or gives up on them. */
  const claim = async () => {
    let cursor = '0-0';
    do {
      const [next, entries, deleted] = (await redis.xautoclaim(
        worker.stream,
        worker.group,
        consumer,
        claimIdleMs,
        cursor,
        'COUNT',
        batch,
      )) as [string, RawEntry[], string[]];
      cursor = next;
      if (deleted?.length) await redis.xack(worker.stream, worker.group, ...deleted);
      const live = entries.filter((e): e is RawEntry => Array.isArray(e) && e[1] !== null);
      if (live.length === 0) continue;
      const pending = (await redis.xpending(
        worker.stream,
        worker.group,
        live[0]![0],
        live.at(-1)![0],
        live.length * 2,
        consumer,
      )) as Array<[string, string, number, number]>;
      const counts = new Map(pending.map(([id, , , n]) => [id, n]));
      const messages = live.map(([id, fields]) => ({
        id,
        fields: toFields(fields),
        deliveries: counts.get(id) ?? 2,
      }));
      const retry: StreamMessage[] = [];
      for (const m of messages) {
        if (m.deliveries > maxDeliveries) await deadLetter(m);
        else retry.push(m);
      }
      if (retry.length > 0) await handleAll(retry);
    } while (cursor !== '0-0' && !stopped);
  };

  const readLoop = (async () => {
    let lastClaim = 0;
    let grouped = false;
    // Said once per distinct cause, not every second for as long as Redis is away.
    let loopError = '';
    while (!stopped) {
      try {
        if (!grouped) {
          await ensureGroup(redis, worker.stream, worker.group);
          grouped = true;
        }
        if (Date.now() - lastClaim >= Math.min(claimIdleMs, 10_000)) {
          lastClaim = Date.now();
          await claim();
        }
        const res = (await reader.xreadgroup(
          'GROUP',
          worker.group,
          consumer,
          'COUNT',
          batch,
          'BLOCK',
          blockMs,
          'STREAMS',
          worker.stream,
          '>',
        )) as Array<[string, RawEntry[]]> | null;
        if (loopError) {
          log.info('consumer loop recovered');
          loopError = '';
        }
        // Read just as the node began to stop: handle them still (stop waits for this),
        // rather than leave them pending until another consumer claims them.
        if (!res) continue;
        const entries = res[0]?.[1] ?? [];
        await handleAll(
          entries.map(([id, fields]) => ({ id, fields: toFields(fields), deliveries: 1 })),
        );
      } catch (err) {
        if (stopped) break;
        const text = redis.status === 'ready' ? (err as Error).message : redisProblem(redis);
        if (text !== loopError) log.warn({ err: text }, 'consumer loop error; retrying');
        loopError = text;
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  })();

  log.info('consumer started');
  return {
    name: `consumer:${worker.group}`,
    consumer,
    async stop() {
      stopped = true;
      // The blocking read returns within blockMs; handling in flight finishes first.
      const timeout = new Promise((r) => setTimeout(r, blockMs + 5_000).unref());
      await Promise.race([readLoop, timeout]);
      reader.disconnect();
      try {
        // Leave no empty consumer behind; one with pending messages stays so they can be claimed.
        const [pending] = (await redis.xpending(worker.stream, worker.group)) as [number];
        const mine = (await redis.xpending(
          worker.stream,
          worker.group,
          '-',
          '+',
          1,
          consumer,
        )) as unknown[];
        if (pending >= 0 && mine.length === 0)
          await redis.xgroup('DELCONSUMER', fullKey(redis, worker.stream), worker.group, consumer);
      } catch {
        // Redis may be gone already; a leftover consumer entry is harmless.
      }
    },
  };
}
