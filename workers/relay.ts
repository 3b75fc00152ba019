import { EVENTS_STREAM } from '../contract/index.ts';
import type { Deps } from '../core/deps.ts';
import type { RunningRole } from '../core/roles.ts';
import {
  claimUnpublished,
  markPublished,
  unpublishOtherEpochs,
} from '../domain/events/outbox-relay.ts';
import { currentEpoch, STREAM_EPOCH_KEY } from './stream-epoch.ts';

const BATCH = 500;

/** What one relay remembers between batches: the epoch it publishes in (see stream-epoch.ts). */
export interface RelayState {
  epoch?: string;
}

/** Redis lost its data during a batch: nothing of it was marked published. */
export class StreamEpochChanged extends Error {
  override name = 'StreamEpochChanged';
}

/**
 * Moves committed outbox rows to the events stream. Rows are claimed with
 * SKIP LOCKED (several relays never publish the same row at once) and marked
 * published in the same transaction, with the stream epoch they went to; a
 * crash between XADD and commit means the row is published again later, which
 * consumers tolerate (they are idempotent).
 *
 * The epoch is read back after the XADDs, on the same connection: if it is not
 * the one being stamped, Redis lost its data before the read (the entries may
 * have gone with it), so the batch rolls back and is published again in the
 * new epoch. A loss after the read is found by `republishLost`.
 */
export async function relayOnce(
  deps: Pick<Deps, 'sql' | 'redis'>,
  state: RelayState = {},
): Promise<number> {
  return deps.sql.begin(async (tx) => {
    const rows = await claimUnpublished(tx, BATCH);
    if (rows.length === 0) return 0;
    state.epoch ??= await currentEpoch(deps.redis);
    const epoch = state.epoch;
    const pipeline = deps.redis.pipeline();
    for (const row of rows) {
      pipeline.xadd(
        EVENTS_STREAM,
        '*',
        'eventId',
        row.eventId,
        'outboxId',
        String(row.id),
        'event',
        JSON.stringify(row.payload),
      );
    }
    pipeline.get(STREAM_EPOCH_KEY);
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([err]) => err);
    if (failed) throw failed[0];
    const [, seen] = results.pop() ?? [];
    if (seen !== epoch) {
      state.epoch = undefined;
      throw new StreamEpochChanged(
        'the stream epoch changed during a batch (Redis lost its data): the batch is published again',
      );
    }
    const ids = rows.map((r) => r.id);
    const streamIds = results.map(([, id]) => String(id));
    await markPublished(tx, { ids, streamIds }, epoch);
    return rows.length;
  });
}

/**
 * Marks unpublished again the rows published in another epoch than the current
 * one: they went to streams Redis no longer has. Run on every poll tick of every
 * relay, not once when a loss is noticed: a relay that published into the old
 * Redis can commit after another relay has already done this (its rows were
 * not yet visible as published then). Rows with no epoch were published under
 * the rules before it existed (or marked published by hand, as the fan-out
 * benchmark does): they are left alone, and purged by the stream maintenance.
 *
 * Consumers are idempotent, so an event handled before the loss is handled
 * again without effect, with one exception by design: a post's notification is
 * pushed again to followers online (clients drop ids they already have).
 */
export async function republishLost(
  deps: Pick<Deps, 'sql' | 'redis'>,
  state: RelayState = {},
): Promise<number> {
  const epoch = await currentEpoch(deps.redis);
  state.epoch = epoch;
  return unpublishOtherEpochs(deps.sql, epoch);
}

/**
 * The relay: woken by NOTIFY the moment an event commits (a few ms from commit
 * to stream), and polling as a safety net for anything a crash or a lost
 * notification left behind.
 */
export async function startOutboxRelay(deps: Deps, pollMs = 1_000): Promise<RunningRole> {
  const { sql, logger } = deps;
  const state: RelayState = {};
  let stopped = false;
  let running: Promise<void> | undefined;
  let again = false;
  // Set by each poll tick (not by each NOTIFY: one check a tick is enough, and cheap).
  let checkEpoch = true;
  let lastError = '';

  const drain = (): void => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      try {
        do {
          again = false;
          if (checkEpoch) {
            const republished = await republishLost(deps, state);
            checkEpoch = false;
            if (republished > 0) {
              logger.warn(
                { republished, epoch: state.epoch },
                'events published into streams Redis no longer has (it lost its data): publishing them again',
              );
            }
          }
          while (!stopped && (await relayOnce(deps, state)) === BATCH) {
            // a full batch: more may be waiting
          }
        } while (again && !stopped);
        lastError = '';
      } catch (err) {
        // Said once per distinct cause, not every second for as long as it lasts.
        const text = (err as Error).message;
        if (text !== lastError)
          logger.warn({ err: text }, 'outbox relay failed; retrying on the next tick');
        lastError = text;
      } finally {
        running = undefined;
      }
    })();
  };

  let listener: { unlisten(): Promise<void> } | undefined;
  try {
    listener = await sql.listen('outbox', drain, drain);
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'outbox LISTEN failed; relying on polling');
  }
  const timer = setInterval(() => {
    checkEpoch = true;
    drain();
  }, pollMs);
  timer.unref();
  drain();

  return {
    name: 'outbox-relay',
    async stop() {
      stopped = true;
      clearInterval(timer);
      await listener?.unlisten().catch(() => {});
      await running;
    },
  };
}
