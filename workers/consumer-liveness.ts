import type { Deps } from '../core/deps.ts';
import type { Logger } from '../core/logger.ts';
import { fullKey } from '../core/redis.ts';
import type { MessageRunner } from './consumer-messages.ts';
import type { StreamMessage, StreamWorker } from './stream-worker.ts';

type RawEntry = [id: string, fields: string[]];

/** The key a live consumer keeps refreshing (under REDIS_PREFIX); gone or expired, it is dead. */
export function heartbeatKey(stream: string, group: string, consumer: string): string {
  return `consumers:${stream}:${group}:${consumer}`;
}

export function toFields(list: string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) fields[list[i]!] = list[i + 1]!;
  return fields;
}

/** The stream or its group vanished (Redis lost its data, or someone deleted the key). */
export function isGroupLost(err: unknown): boolean {
  return /NOGROUP|no such key|no longer exists/i.test(String((err as Error)?.message));
}

/**
 * Deletes a dead consumer's entry if, at that very moment, it still has no
 * heartbeat, nothing pending and has been idle long enough: DELCONSUMER drops
 * a consumer's pending entries with it, so the check and the deletion must be
 * one step (a consumer read from a moment after a separate check would lose
 * what it read).
 */
const TIDY_SCRIPT = `
if redis.call('exists', KEYS[2]) == 1 then return 0 end
for _, c in ipairs(redis.call('xinfo', 'consumers', KEYS[1], ARGV[1])) do
  local info = {}
  for i = 1, #c, 2 do info[c[i]] = c[i + 1] end
  if info['name'] == ARGV[2] then
    if info['pending'] ~= 0 or info['idle'] < tonumber(ARGV[3]) then return 0 end
    redis.call('xgroup', 'delconsumer', KEYS[1], ARGV[1], ARGV[2])
    return 1
  end
end
return 0`;

export interface Liveness {
  /** Refreshes this consumer's heartbeat (rejects if Redis does not take it). */
  beat(): Promise<void>;
  /** Stops looking for dead consumers; resolves when the round under way has ended. */
  stopWatching(): Promise<void>;
  /** Stops the heartbeat; `release` deletes it, so others take over what is left at once. */
  stopBeating(release: boolean): Promise<void>;
}

/**
 * Consumer liveness. Each consumer refreshes a key of its own every quarter of
 * STREAM_CONSUMER_TIMEOUT; on a timer of its own (every eighth of it, never behind
 * the blocking read), it looks for other consumers of its group with messages pending and
 * no heartbeat, and takes those messages over. A slow consumer that is alive
 * keeps its messages however long it takes; a dead one's are taken over within
 * about the timeout. Consumers of older versions never had a heartbeat: they
 * count as dead, which is how their pending messages move on at an upgrade.
 *
 * Takeovers claim with a minimum idle time of half the timeout: two consumers
 * that see the same death at once cannot both take one message, as the first
 * claim resets its idle time and the second then fails.
 *
 * Every STREAM_CLAIM_IDLE, it also handles again this consumer's own pending
 * messages that nothing in memory tracks any more (handled, but the XACK was
 * lost in a Redis blip).
 */
export function startLiveness(
  deps: Deps,
  worker: StreamWorker,
  options: {
    consumer: string;
    log: Logger;
    runner: MessageRunner;
    /** Creates the group again after NOGROUP met by a command sent under join `seen`. */
    rejoinGroup(seen: number): Promise<void>;
    /** How many times the group has been joined so far. */
    joinedTimes(): number;
  },
): Liveness {
  const { redis, metrics } = deps;
  const { consumerTimeoutMs: timeoutMs, claimIdleMs, blockMs } = deps.config.streams;
  const { consumer, log, runner } = options;
  const { stream, group } = worker;
  const key = heartbeatKey(stream, group, consumer);
  const every = Math.max(50, Math.floor(timeoutMs / 4));
  // Rounds twice as often as beats: a death is seen at most an eighth of the timeout after
  // the last heartbeat expires (the takeover is within the timeout and that eighth).
  const roundEvery = Math.max(25, Math.floor(timeoutMs / 8));
  const minIdle = Math.floor(timeoutMs / 2);
  // A dead consumer's empty entry goes once nobody has heard of it for this long.
  const tidyIdle = Math.max(claimIdleMs, blockMs * 2, timeoutMs * 2);
  const tidy = (name: string) =>
    redis.eval(TIDY_SCRIPT, 2, stream, heartbeatKey(stream, group, name), group, name, tidyIdle);

  const beat = async () => {
    await redis.set(key, String(Date.now()), 'PX', timeoutMs);
  };
  let beatError = '';
  const heartbeat = setInterval(() => {
    beat().then(
      () => {
        beatError = '';
      },
      (err: Error) => {
        if (err.message !== beatError) log.warn({ err: err.message }, 'heartbeat failed');
        beatError = err.message;
      },
    );
  }, every);
  heartbeat.unref();

  /** Claims `ids` (those idle at least `idle` ms) and hands them to the runner. */
  const claim = async (ids: string[], counts: Map<string, number>, idle: number) => {
    const entries = (await redis.xclaim(stream, group, consumer, idle, ...ids)) as RawEntry[];
    const messages: StreamMessage[] = entries
      .filter((e): e is RawEntry => Array.isArray(e) && Array.isArray(e[1]))
      .map(([id, fields]) => ({
        id,
        fields: toFields(fields),
        // XCLAIM counted one more delivery.
        deliveries: (counts.get(id) ?? 1) + 1,
      }));
    // Handled in the background, within the same concurrency limit as read messages.
    if (messages.length > 0) void runner.run(messages);
    return messages;
  };

  /** What `owner` has pending, idle at least `idle` ms, as much as this consumer has room for. */
  const pendingOf = async (owner: string, idle: number) => {
    const room = runner.room();
    if (room === 0) return [];
    return (await redis.xpending(stream, group, 'IDLE', idle, '-', '+', room, owner)) as Array<
      [string, string, number, number]
    >;
  };

  const takeOver = async (from: string) => {
    const pending = await pendingOf(from, minIdle);
    if (pending.length === 0) return;
    const counts = new Map(pending.map(([id, , , n]) => [id, n]));
    const taken = await claim([...counts.keys()], counts, minIdle);
    if (taken.length === 0) return;
    metrics.streamTakeovers.inc({ group }, taken.length);
    log.info({ from, count: taken.length }, "took over a dead consumer's messages");
  };

  /** Own pending messages nothing tracks (an acknowledgement lost): handled again. */
  const recoverOwn = async () => {
    const pending = await pendingOf(consumer, claimIdleMs);
    const lost = pending.filter(([id]) => !runner.has(id));
    if (lost.length === 0) return;
    const counts = new Map(lost.map(([id, , , n]) => [id, n]));
    const found = await claim([...counts.keys()], counts, claimIdleMs);
    if (found.length > 0)
      log.warn({ count: found.length }, 'handling unacknowledged messages again');
  };

  // Heartbeats lapse with Redis itself (a restart past the timeout: every key expired),
  // and every consumer beats again only once its client is back, after a reconnection
  // backoff of up to 2 s (core/redis.ts). After this client (re)connects, the others get
  // that long, and a timeout more, before anyone is judged dead.
  let judgeAfter = 0;
  const onReady = () => {
    judgeAfter = Date.now() + 2_000 + timeoutMs;
  };
  redis.on('ready', onReady);

  let lastOwnCheck = Date.now();
  const round = async () => {
    const raw = (await redis.xinfo('CONSUMERS', fullKey(redis, stream), group)) as Array<
      Array<string | number>
    >;
    const others = raw
      .map((c) => toFields(c.map(String)))
      .filter((c) => c.name !== consumer)
      .map((c) => ({ name: c.name!, pending: Number(c.pending) }));
    if (others.length > 0 && Date.now() >= judgeAfter) {
      const beats = await redis.mget(...others.map((c) => heartbeatKey(stream, group, c.name)));
      // One consumer's failure does not keep the round from the others; it is reported
      // after them.
      let failure: unknown;
      for (const [i, c] of others.entries()) {
        if (beats[i] !== null) continue;
        try {
          if (c.pending > 0) await takeOver(c.name);
          else await tidy(c.name);
        } catch (err) {
          failure ??= err;
        }
      }
      if (failure) throw failure;
    }
    if (Date.now() - lastOwnCheck >= claimIdleMs) {
      lastOwnCheck = Date.now();
      await recoverOwn();
    }
  };

  let watching = true;
  let current: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  // Said once per distinct cause, not every round for as long as it lasts.
  let roundError = '';
  const next = () => {
    if (!watching) return;
    timer = setTimeout(() => {
      const seen = options.joinedTimes();
      current = round()
        .then(
          () => {
            if (roundError) log.info('takeover rounds recovered');
            roundError = '';
          },
          async (err: Error) => {
            if (err.message !== roundError) log.warn({ err: err.message }, 'takeover round failed');
            roundError = err.message;
            if (isGroupLost(err)) await options.rejoinGroup(seen).catch(() => {});
          },
        )
        .finally(next);
    }, roundEvery);
    timer.unref();
  };
  next();

  return {
    beat,
    async stopWatching() {
      watching = false;
      redis.off('ready', onReady);
      clearTimeout(timer);
      await current;
    },
    async stopBeating(release) {
      clearInterval(heartbeat);
      if (release) await redis.del(key).catch(() => {});
    },
  };
}
