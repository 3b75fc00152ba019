import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Deps } from '../core/deps.ts';
import { fullKey, type Redis, redisProblem } from '../core/redis.ts';
import type { RunningRole } from '../core/roles.ts';
import { isGroupLost, startLiveness, toFields } from './consumer-liveness.ts';
import { createMessageRunner } from './consumer-messages.ts';
import { currentEpoch, endEpoch } from './stream-epoch.ts';
import type { StreamWorker } from './stream-worker.ts';

export interface ConsumerHandle extends RunningRole {
  consumer: string;
}

type RawEntry = [id: string, fields: string[]];

export async function ensureGroup(redis: Redis, stream: string, group: string): Promise<void> {
  try {
    // From the beginning of what the stream holds: a new group misses nothing retained,
    // and a group recreated after Redis lost its data gets every event published again.
    // ioredis does not prefix XGROUP's key: give it in full.
    await redis.xgroup('CREATE', fullKey(redis, stream), group, '0', 'MKSTREAM');
  } catch (err) {
    if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
  }
}

/**
 * The shared consumer loop: XREADGROUP with a blocking read on a connection of
 * its own, handling within the worker's concurrency, XACK after success. A
 * failed message is retried by the consumer that holds it (consumer-messages.ts);
 * a dead consumer's messages are taken over by the live ones
 * (consumer-liveness.ts). If the stream or the group vanishes, the group is
 * created again and reading goes on.
 */
export async function startConsumer(
  deps: Deps,
  worker: StreamWorker,
  options: { consumer?: string } = {},
): Promise<ConsumerHandle> {
  const { redis, logger } = deps;
  const { blockMs } = deps.config.streams;
  const consumer =
    options.consumer ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const log = logger.child({ group: worker.group, consumer });
  const batch = worker.batch ?? 32;
  const runner = createMessageRunner(deps, worker, { log, capacity: batch });

  // The stream epoch this consumer's group was last created in (see stream-epoch.ts),
  // read after the group exists: if the group vanishes, what the stream held is gone.
  let groupEpoch: string | undefined;
  // How many times the group has been joined: a command that failed with NOGROUP was
  // sent under one of them, and a rejoin since then has already dealt with the loss.
  let joins = 0;
  const joinGroup = async () => {
    await ensureGroup(redis, worker.stream, worker.group);
    groupEpoch = await currentEpoch(redis);
    joins += 1;
  };
  /**
   * After NOGROUP: ends the epoch the group lived in (when Redis lost everything the
   * epoch went too, and this changes nothing), so every event not yet known consumed
   * is published again; then creates the group again, from the start of the stream.
   * `seen` is the join the failing command was sent under: when the read loop and the
   * takeover rounds both meet the same loss, the second must not end the epoch the
   * first has just begun (every event would be published a second time).
   */
  const rejoinGroup = async (seen: number) => {
    if (seen !== joins) return;
    if (groupEpoch) {
      const now = await endEpoch(redis, groupEpoch);
      if (now !== groupEpoch) log.warn({ epoch: now }, 'consumer group vanished; new stream epoch');
    }
    await joinGroup();
  };
  const liveness = startLiveness(deps, worker, {
    consumer,
    log,
    runner,
    rejoinGroup,
    joinedTimes: () => joins,
  });
  // Blocking reads hold their connection: give them one of their own.
  const reader = redis.duplicate({
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
    lazyConnect: true,
  });
  reader.on('error', () => {});

  let stopped = false;

  const readLoop = (async () => {
    let grouped = false;
    // Said once per distinct cause, not every second for as long as Redis is away.
    let loopError = '';
    let lostBefore = false;
    // The join a read that met NOGROUP was sent under, until the group is joined again.
    let lostUnder: number | undefined;
    let readUnder = 0;
    while (!stopped) {
      try {
        if (!grouped) {
          // Alive before reading anything: nobody takes over what this consumer reads.
          await liveness.beat();
          await (lostUnder !== undefined ? rejoinGroup(lostUnder) : joinGroup());
          grouped = true;
          lostUnder = undefined;
        }
        await runner.waitForRoom();
        if (stopped) break;
        readUnder = joins;
        const res = (await reader.xreadgroup(
          'GROUP',
          worker.group,
          consumer,
          'COUNT',
          Math.max(1, runner.room()),
          'BLOCK',
          blockMs,
          'STREAMS',
          worker.stream,
          '>',
        )) as Array<[string, RawEntry[]]> | null;
        if (loopError) {
          log.info('consumer loop recovered');
          loopError = '';
          lostBefore = false;
        }
        // Read just as the node began to stop: the runner leaves them pending, and the
        // heartbeat deleted at stop lets another consumer take them over at once.
        if (!res) continue;
        const entries = res[0]?.[1] ?? [];
        await runner.run(
          entries.map(([id, fields]) => ({ id, fields: toFields(fields), deliveries: 1 })),
        );
      } catch (err) {
        if (stopped) break;
        // Check the heartbeat and the group again before the next read: after NOGROUP
        // (the stream or the group vanished, e.g. Redis lost its data) this recreates it.
        grouped = false;
        const lost = isGroupLost(err);
        if (lost) lostUnder ??= readUnder;
        const text = redis.status === 'ready' ? (err as Error).message : redisProblem(redis);
        if (text !== loopError) log.warn({ err: text }, 'consumer loop error; retrying');
        loopError = text;
        // A vanished group is recreated at once; anything else, or a group that
        // vanishes again straight away, waits a second (never a busy loop).
        if (!lost || lostBefore) await new Promise((r) => setTimeout(r, 1_000));
        lostBefore = lost;
      }
    }
  })();

  log.info('consumer started');
  return {
    name: `consumer:${worker.group}`,
    consumer,
    async stop() {
      stopped = true;
      await liveness.stopWatching();
      // The blocking read returns within blockMs; handling in flight finishes first.
      let timer: NodeJS.Timeout | undefined;
      const ended = await Promise.race([
        Promise.all([readLoop, runner.stop()]).then(() => true),
        new Promise<boolean>((r) => {
          timer = setTimeout(() => r(false), blockMs + 5_000);
        }),
      ]);
      clearTimeout(timer);
      reader.disconnect();
      // Nothing is handled here any more: what is still pending (retries that were
      // waiting) goes to others at once. Still handling after the wait: the heartbeat
      // just lapses, and others take over after STREAM_CONSUMER_TIMEOUT.
      await liveness.stopBeating(ended);
      try {
        // Leave no empty consumer behind; one with pending messages stays so they can be taken over.
        const mine = (await redis.xpending(
          worker.stream,
          worker.group,
          '-',
          '+',
          1,
          consumer,
        )) as unknown[];
        if (mine.length === 0)
          await redis.xgroup('DELCONSUMER', fullKey(redis, worker.stream), worker.group, consumer);
      } catch {
        // Redis may be gone already; a leftover consumer entry is harmless.
      }
    },
  };
}
