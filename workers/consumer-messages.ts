import pLimit from 'p-limit';
import { DEAD_LETTER_STREAM } from '../contract/index.ts';
import type { Deps } from '../core/deps.ts';
import { toAppError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { StreamMessage, StreamWorker } from './stream-worker.ts';

/** The first retry of a failed message waits this long; each next one twice as long. */
const FIRST_RETRY_MS = 1_000;

interface Tracked {
  message: StreamMessage;
  retryMs: number;
  timer?: NodeJS.Timeout;
}

/**
 * What one consumer holds in memory: the messages it is handling, has queued,
 * or waits to retry. A message stays with the consumer that has it until it is
 * acknowledged or dead-lettered: a live consumer's messages are never taken by
 * another (see consumer-liveness.ts), so retries happen here, not by claims.
 */
export interface MessageRunner {
  has(id: string): boolean;
  /** How many more messages this consumer takes on now (reads and takeovers alike). */
  room(): number;
  /** Resolves once there is room, or the runner stops. */
  waitForRoom(): Promise<void>;
  /** Handles messages; resolves when each first attempt has ended (done, retry planned, or dead-lettered). */
  run(messages: StreamMessage[]): Promise<void>;
  /**
   * Stops: no new attempt starts, retries planned are dropped (their messages stay
   * pending in Redis, for whoever takes them over). Resolves when the attempts
   * under way have ended.
   */
  stop(): Promise<void>;
}

export function createMessageRunner(
  deps: Deps,
  worker: StreamWorker,
  options: { log: Logger; capacity: number },
): MessageRunner {
  const { redis, metrics } = deps;
  const { maxDeliveries, claimIdleMs, handleTimeoutMs } = deps.config.streams;
  const { log, capacity } = options;
  const limit = pLimit(worker.concurrency ?? 4);
  const tracked = new Map<string, Tracked>();
  const lastErrors = new Map<string, string>();
  const underWay = new Set<Promise<void>>();
  const roomWaiters: Array<() => void> = [];
  let stopped = false;

  const wakeWaiters = () => {
    for (const wake of roomWaiters.splice(0)) wake();
  };
  const release = (id: string) => {
    tracked.delete(id);
    lastErrors.delete(id);
    wakeWaiters();
  };

  // Acknowledgements of messages finished at about the same time go in one XACK.
  let acks: Array<{ id: string; done: () => void }> = [];
  let ackError = '';
  const flushAcks = async () => {
    const batch = acks;
    acks = [];
    try {
      await redis.xack(worker.stream, worker.group, ...batch.map((a) => a.id));
      ackError = '';
    } catch (err) {
      // Handled but still pending: the own-PEL safety net handles them again later.
      const text = (err as Error).message;
      if (text !== ackError) log.warn({ err: text }, 'acknowledgement failed; retried later');
      ackError = text;
    }
    for (const a of batch) a.done();
  };
  const ack = (id: string) =>
    new Promise<void>((done) => {
      if (acks.length === 0) setImmediate(flushAcks);
      acks.push({ id, done });
    });

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
    metrics.streamMessages.inc({ group: worker.group, outcome: 'dead_lettered' });
    log.error(
      { id: message.id, deliveries: message.deliveries },
      'message moved to the dead-letter stream',
    );
  };

  const retryLater = (entry: Tracked) => {
    if (stopped) return; // left pending, for whoever takes it over
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      schedule(entry);
    }, entry.retryMs);
    entry.retryMs = Math.min(entry.retryMs * 2, claimIdleMs);
  };

  const attempt = async (entry: Tracked): Promise<void> => {
    // Stopping: leave it pending; others take it over once this consumer's heartbeat is gone.
    if (stopped) return;
    const { message } = entry;
    if (message.deliveries > maxDeliveries) {
      try {
        await deadLetter(message);
        release(message.id);
      } catch (err) {
        log.warn({ id: message.id, err: (err as Error).message }, 'dead-lettering failed');
        retryLater(entry);
      }
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      // A handling that does not end in time counts as a failure: it is retried, and in
      // the end dead-lettered, rather than hold the message and this consumer's reads.
      // It cannot be called off: should it end after all, handlers are idempotent.
      await Promise.race([
        worker.handle(message, deps),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new Error(
                  `handling took longer than ${handleTimeoutMs} ms (STREAM_HANDLE_TIMEOUT)`,
                ),
              ),
            handleTimeoutMs,
          );
        }),
      ]);
    } catch (err) {
      clearTimeout(timer);
      const text = err instanceof Error ? err.message : String(err);
      // PostgreSQL or Redis away is no fault of the message: retried for as long as the
      // outage lasts, never counted toward the dead-letter limit.
      const outage = toAppError(err).code === 'unavailable';
      metrics.streamMessages.inc({ group: worker.group, outcome: 'failed' });
      if (!outage || lastErrors.get(message.id) !== text) {
        log.warn(
          { id: message.id, deliveries: message.deliveries, err: text, outage },
          'message failed; retried later',
        );
      }
      lastErrors.set(message.id, text);
      if (!outage) entry.message = { ...message, deliveries: message.deliveries + 1 };
      if (entry.message.deliveries > maxDeliveries) schedule(entry);
      else retryLater(entry);
      return;
    }
    clearTimeout(timer);
    metrics.streamMessages.inc({ group: worker.group, outcome: 'ok' });
    await ack(message.id);
    release(message.id);
  };

  const schedule = (entry: Tracked): Promise<void> => {
    const done = limit(() => attempt(entry)).finally(() => underWay.delete(done));
    underWay.add(done);
    return done;
  };

  return {
    has: (id) => tracked.has(id),
    room: () => Math.max(0, capacity - tracked.size),
    async waitForRoom() {
      while (!stopped && tracked.size >= capacity) {
        await new Promise<void>((wake) => roomWaiters.push(wake));
      }
    },
    async run(messages) {
      const first: Promise<void>[] = [];
      for (const message of messages) {
        if (tracked.has(message.id)) continue;
        const entry: Tracked = { message, retryMs: Math.min(FIRST_RETRY_MS, claimIdleMs) };
        tracked.set(message.id, entry);
        first.push(schedule(entry));
      }
      await Promise.all(first);
    },
    async stop() {
      stopped = true;
      for (const entry of tracked.values()) clearTimeout(entry.timer);
      wakeWaiters();
      while (underWay.size > 0) await Promise.all(underWay);
    },
  };
}
