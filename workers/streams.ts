import { EVENTS_STREAM, FANOUT_STREAM } from '../core/contract.ts';
import type { Deps } from '../core/deps.ts';
import { fullKey, type Redis } from '../core/redis.ts';
import type { RunningRole } from '../core/roles.ts';
import type { StreamWorker } from './consumer.ts';
import { startPeriodic } from './periodic.ts';
import { readEpoch } from './stream-epoch.ts';

function parseId(id: string): [bigint, bigint] {
  const [ms, seq] = id.split('-');
  return [BigInt(ms ?? '0'), BigInt(seq ?? '0')];
}

function compareIds(a: string, b: string): number {
  const [am, as] = parseId(a);
  const [bm, bs] = parseId(b);
  return am === bm ? Number(as - bs) : am < bm ? -1 : 1;
}

/**
 * The oldest entry of a stream that some group still needs: the oldest pending
 * one, or the one after the last delivered one of the slowest group. Everything
 * before it is done by every group. Null when nothing may go: no stream, a group
 * that has read nothing yet, or one of `groups` (the groups this release runs)
 * missing, as right after Redis lost its data, before every consumer has
 * created its group again (the group created first must not decide for the
 * others).
 */
export async function streamHorizon(
  redis: Redis,
  stream: string,
  groups: readonly string[] = [],
): Promise<string | null> {
  let raw: unknown[];
  try {
    raw = (await redis.xinfo('GROUPS', fullKey(redis, stream))) as unknown[];
  } catch {
    return null; // no such stream (yet, or any more)
  }
  if (raw.length === 0) return null;
  const infos = (raw as Array<Array<string | number>>).map((entry) => {
    const info: Record<string, string | number> = {};
    for (let i = 0; i + 1 < entry.length; i += 2) info[String(entry[i])] = entry[i + 1]!;
    return info;
  });
  const present = new Set(infos.map((info) => String(info.name)));
  if (groups.some((g) => !present.has(g))) return null;
  let keep: string | undefined;
  for (const info of infos) {
    let oldest = String(info['last-delivered-id']);
    if (oldest === '0-0') return null; // a group that has read nothing yet needs everything
    if (Number(info.pending) > 0) {
      const [, minPending] = (await redis.xpending(stream, String(info.name))) as [
        number,
        string | null,
      ];
      if (minPending && compareIds(minPending, oldest) < 0) oldest = minPending;
    } else {
      // Everything up to and including the last delivered id is done: keep what comes after it.
      const [ms, seq] = parseId(oldest);
      oldest = `${ms}-${seq + 1n}`;
    }
    if (!keep || compareIds(oldest, keep) < 0) keep = oldest;
  }
  return keep ?? null;
}

/** Trims a stream up to its horizon: nothing a group has not finished is ever trimmed. */
export async function trimStream(
  deps: Pick<Deps, 'redis'>,
  stream: string,
  groups: readonly string[] = [],
): Promise<number> {
  const keep = await streamHorizon(deps.redis, stream, groups);
  return keep ? ((await deps.redis.xtrim(stream, 'MINID', keep)) as number) : 0;
}

/** The outbox rows of the fan-out chunks still on the chunk stream (its consumers may need them). */
async function chunkOutboxIds(redis: Redis): Promise<string[]> {
  const ids = new Set<string>();
  let start = '-';
  for (;;) {
    const entries = await redis.xrange(FANOUT_STREAM, start, '+', 'COUNT', 1000);
    for (const [, fields] of entries) {
      const i = fields.indexOf('chunk');
      try {
        const outboxId = (JSON.parse(fields[i + 1] ?? 'null') as { outboxId?: unknown } | null)
          ?.outboxId;
        if (typeof outboxId === 'string' && /^\d+$/.test(outboxId)) ids.add(outboxId);
      } catch {
        // not a chunk: nothing to keep for it
      }
    }
    if (entries.length < 1000) return [...ids];
    start = `(${entries.at(-1)![0]}`;
  }
}

/**
 * Trims the streams, then deletes the outbox rows every consumer is done with:
 * those published in the current epoch with a stream id below the events
 * stream's horizon, except the rows of fan-out chunks still on the chunk stream
 * (the event is acknowledged once its chunks are queued, not handled). The
 * events horizon is taken before the chunk stream is read: a fan-out queues its
 * chunks before it acknowledges its event, so no chunk of an event below the
 * horizon can be missed. Until then, a row stays: if Redis loses its data, the
 * relay publishes it again.
 */
export async function maintainStreams(
  deps: Pick<Deps, 'sql' | 'redis'>,
  groups: ReadonlyMap<string, readonly string[]>,
): Promise<{ trimmed: number; purged: number }> {
  const { sql, redis } = deps;
  const epoch = await readEpoch(redis);
  const horizon = await streamHorizon(redis, EVENTS_STREAM, groups.get(EVENTS_STREAM));
  let trimmed = horizon ? ((await redis.xtrim(EVENTS_STREAM, 'MINID', horizon)) as number) : 0;
  trimmed += await trimStream(deps, FANOUT_STREAM, groups.get(FANOUT_STREAM));
  // Rows published before epochs existed (or by an older release during an upgrade, or
  // marked published by hand): published under the old rules, nothing tells when they
  // are consumed. They are not kept.
  let purged = (
    await sql`delete from outbox where published_at is not null and stream_epoch is null`
  ).count;
  if (!epoch || !horizon) return { trimmed, purged };
  const held = await chunkOutboxIds(redis);
  // The horizon and the chunks must be those of this epoch's streams: Redis losing its
  // data meanwhile makes them another Redis's, which says nothing of these rows.
  if ((await readEpoch(redis)) !== epoch) return { trimmed, purged };
  const [ms, seq] = parseId(horizon);
  purged += (
    await sql`
      delete from outbox
      where published_at is not null and stream_epoch = ${epoch}
        and (split_part(stream_id, '-', 1)::bigint, split_part(stream_id, '-', 2)::bigint)
          < (${String(ms)}::bigint, ${String(seq)}::bigint)
        and id <> all(${held}::bigint[])`
  ).count;
  return { trimmed, purged };
}

/** Every few seconds (STREAM_MAINTENANCE_INTERVAL): see maintainStreams. */
export function startStreamMaintenance(
  deps: Deps,
  workers: readonly Pick<StreamWorker, 'stream' | 'group'>[],
): RunningRole {
  const groups = new Map<string, string[]>();
  for (const w of workers) groups.set(w.stream, [...(groups.get(w.stream) ?? []), w.group]);
  return startPeriodic(
    'stream-maintenance',
    deps.logger,
    deps.config.streams.maintenanceIntervalMs,
    async () => {
      const { trimmed, purged } = await maintainStreams(deps, groups);
      if (trimmed + purged > 0)
        deps.logger.debug({ trimmed, purged }, 'streams trimmed, outbox purged');
    },
  );
}
