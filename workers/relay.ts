import { EVENTS_STREAM } from '../core/contract.ts';
import type { Deps } from '../core/deps.ts';
import type { RunningRole } from '../core/roles.ts';

const BATCH = 500;

/**
 * Moves committed outbox rows to the events stream. Rows are claimed with
 * SKIP LOCKED (several relays never publish the same row at once) and marked
 * published in the same transaction; a crash between XADD and commit means the
 * row is published again later, which consumers tolerate (they are idempotent).
 */
export async function relayOnce(deps: Pick<Deps, 'sql' | 'redis'>): Promise<number> {
  return deps.sql.begin(async (tx) => {
    const rows = await tx<{ id: number; eventId: string; payload: unknown }[]>`
      select id, event_id as "eventId", payload from outbox
      where published_at is null order by id limit ${BATCH}
      for update skip locked`;
    if (rows.length === 0) return 0;
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
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([err]) => err);
    if (failed) throw failed[0];
    const ids = rows.map((r) => r.id);
    const streamIds = results.map(([, id]) => String(id));
    await tx`
      update outbox set published_at = now(), stream_id = s.stream_id
      from unnest(${ids}::bigint[], ${streamIds}::text[]) as s (id, stream_id)
      where outbox.id = s.id`;
    return rows.length;
  });
}

/**
 * The relay: woken by NOTIFY the moment an event commits (a few ms from commit
 * to stream), and polling as a safety net for anything a crash or a lost
 * notification left behind.
 */
export async function startOutboxRelay(deps: Deps, pollMs = 1_000): Promise<RunningRole> {
  const { sql, logger } = deps;
  let stopped = false;
  let running: Promise<void> | undefined;
  let again = false;

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
          while (!stopped && (await relayOnce(deps)) === BATCH) {
            // a full batch: more may be waiting
          }
        } while (again && !stopped);
      } catch (err) {
        logger.warn(
          { err: (err as Error).message },
          'outbox relay failed; retrying on the next tick',
        );
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
  const timer = setInterval(drain, pollMs);
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

/** Published outbox rows older than this go (the stream and the inbox hold what matters). */
export async function purgePublishedOutbox(
  deps: Pick<Deps, 'sql'>,
  olderThanMs = 24 * 3_600_000,
): Promise<number> {
  const res = await deps.sql`
    delete from outbox where published_at is not null and published_at < ${new Date(Date.now() - olderThanMs)}`;
  return res.count;
}
