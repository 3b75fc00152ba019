import type { Logger } from '../core/logger.ts';
import { fullKey, type Redis } from '../core/redis.ts';
import { currentEpoch, endEpoch } from './stream-epoch.ts';
import type { StreamWorker } from './stream-worker.ts';

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

/** One consumer's membership of its group: joining it, and joining it again after it vanished. */
export interface GroupMembership {
  join(): Promise<void>;
  /**
   * After NOGROUP: ends the epoch the group lived in (when Redis lost everything the
   * epoch went too, and this changes nothing), so every event not yet known consumed
   * is published again; then creates the group again, from the start of the stream.
   * `seen` is the join the failing command was sent under: when the read loop and the
   * takeover rounds both meet the same loss, the second must not end the epoch the
   * first has just begun (every event would be published a second time).
   */
  rejoin(seen: number): Promise<void>;
  /** How many times the group has been joined: the join a failing command was sent under. */
  joins(): number;
}

export function groupMembership(
  redis: Redis,
  worker: Pick<StreamWorker, 'stream' | 'group'>,
  log: Logger,
): GroupMembership {
  // The stream epoch this consumer's group was last created in (see stream-epoch.ts),
  // read after the group exists: if the group vanishes, what the stream held is gone.
  let groupEpoch: string | undefined;
  let joins = 0;
  const join = async () => {
    await ensureGroup(redis, worker.stream, worker.group);
    groupEpoch = await currentEpoch(redis);
    joins += 1;
  };
  return {
    join,
    async rejoin(seen) {
      if (seen !== joins) return;
      if (groupEpoch) {
        const now = await endEpoch(redis, groupEpoch);
        if (now !== groupEpoch)
          log.warn({ epoch: now }, 'consumer group vanished; new stream epoch');
      }
      await join();
    },
    joins: () => joins,
  };
}

/** Leaves no empty consumer behind; one with pending messages stays so they can be taken over. */
export async function leaveGroupIfIdle(
  redis: Redis,
  worker: Pick<StreamWorker, 'stream' | 'group'>,
  consumer: string,
): Promise<void> {
  try {
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
}
