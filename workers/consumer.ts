import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Deps } from '../core/deps.ts';
import type { Logger } from '../core/logger.ts';
import { type Redis, redisProblem } from '../core/redis.ts';
import type { RunningRole } from '../core/roles.ts';
import { type GroupMembership, groupMembership, leaveGroupIfIdle } from './consumer-group.ts';
import { isGroupLost, type Liveness, startLiveness, toFields } from './consumer-liveness.ts';
import { createMessageRunner, type MessageRunner } from './consumer-messages.ts';
import type { StreamWorker } from './stream-worker.ts';

export interface ConsumerHandle extends RunningRole {
  consumer: string;
}

type RawEntry = [id: string, fields: string[]];

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
  const runner = createMessageRunner(deps, worker, { log, capacity: worker.batch ?? 32 });
  const membership = groupMembership(redis, worker, log);
  const liveness = startLiveness(deps, worker, {
    consumer,
    log,
    runner,
    rejoinGroup: membership.rejoin,
    joinedTimes: membership.joins,
  });
  // Blocking reads hold their connection: give them one of their own.
  const reader = redis.duplicate({
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
    lazyConnect: true,
  });
  reader.on('error', () => {});

  const state = { stopped: false };
  const readLoop = readGroup({
    redis,
    reader,
    worker,
    consumer,
    blockMs,
    log,
    runner,
    liveness,
    membership,
    state,
  });

  log.info('consumer started');
  return {
    name: `consumer:${worker.group}`,
    consumer,
    async stop() {
      state.stopped = true;
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
      await leaveGroupIfIdle(redis, worker, consumer);
    },
  };
}

/**
 * Reads the group until stopped: new messages go to the runner as it has room. An
 * error is said once per distinct cause; after one, the heartbeat and the group are
 * checked again before the next read (after NOGROUP this recreates the group).
 */
async function readGroup(loop: {
  redis: Redis;
  reader: Redis;
  worker: StreamWorker;
  consumer: string;
  blockMs: number;
  log: Logger;
  runner: MessageRunner;
  liveness: Liveness;
  membership: GroupMembership;
  state: { stopped: boolean };
}): Promise<void> {
  const { redis, reader, worker, consumer, log, runner, liveness, membership, state } = loop;
  let grouped = false;
  // Said once per distinct cause, not every second for as long as Redis is away.
  let loopError = '';
  let lostBefore = false;
  // The join a read that met NOGROUP was sent under, until the group is joined again.
  let lostUnder: number | undefined;
  let readUnder = 0;
  while (!state.stopped) {
    try {
      if (!grouped) {
        // Alive before reading anything: nobody takes over what this consumer reads.
        await liveness.beat();
        await (lostUnder !== undefined ? membership.rejoin(lostUnder) : membership.join());
        grouped = true;
        lostUnder = undefined;
      }
      await runner.waitForRoom();
      if (state.stopped) break;
      readUnder = membership.joins();
      const res = (await reader.xreadgroup(
        'GROUP',
        worker.group,
        consumer,
        'COUNT',
        Math.max(1, runner.room()),
        'BLOCK',
        loop.blockMs,
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
      if (state.stopped) break;
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
}
