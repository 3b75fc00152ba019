import { EVENTS_STREAM, FANOUT_STREAM } from '../contract/index.ts';
import type { Deps } from '../core/deps.ts';
import { fullKey, type Redis } from '../core/redis.ts';
import type { RunningRole } from '../core/roles.ts';
import {
  purgeConsumed,
  purgeWithoutEpoch,
  recentlyPublished,
  unpublishLost,
} from '../domain/events/outbox-relay.ts';
import { startPeriodic } from './periodic.ts';
import { readEpoch } from './stream-epoch.ts';
import type { StreamWorker } from './stream-worker.ts';

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
  // Only the groups this release runs decide: a group an older release left behind (a
  // worker renamed or retired) is read by nobody, and would hold every entry forever.
  const deciding = groups.length > 0 ? infos.filter((i) => groups.includes(String(i.name))) : infos;
  let keep: string | undefined;
  for (const info of deciding) {
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
 * Marks unpublished again the rows of this epoch whose entries the events stream does not
 * hold although no group is done with them. A Redis that came back with older data (an
 * AOF synced every second after a crash, a snapshot) keeps the epoch key, and its last
 * entries are gone. Entries at or past the horizon are never trimmed, so such a row's
 * entry must be on the stream. The rows are read first and the stream after: a row
 * committed by then had its entry added before.
 */
export async function republishMissing(
  deps: Pick<Deps, 'sql' | 'redis'>,
  epoch: string,
  horizon: string,
  groups: readonly string[] = [],
): Promise<number> {
  const { sql, redis } = deps;
  const rows = await recentlyPublished(sql, epoch, parseId(horizon));
  if (rows.length === 0) return 0;
  rows.sort((a, b) => compareIds(a.streamId, b.streamId));
  const held = new Set<string>();
  let start = rows[0]!.streamId;
  const end = rows.at(-1)!.streamId;
  for (;;) {
    const entries = await redis.xrange(EVENTS_STREAM, start, end, 'COUNT', 1000);
    for (const [id] of entries) held.add(id);
    if (entries.length < 1000) break;
    start = `(${entries.at(-1)![0]}`;
  }
  // Another Redis now (lost whole meanwhile): the relay's epoch check deals with that.
  if ((await readEpoch(redis)) !== epoch) return 0;
  // Another node may have trimmed meanwhile, up to a later horizon: only entries past the
  // horizon as it is now are certainly lost rather than trimmed once done.
  const now = await streamHorizon(redis, EVENTS_STREAM, groups);
  if (!now) return 0;
  const missing = rows.filter((r) => !held.has(r.streamId) && compareIds(r.streamId, now) >= 0);
  if (missing.length === 0) return 0;
  return unpublishLost(sql, epoch, missing);
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
): Promise<{ trimmed: number; purged: number; republished: number }> {
  const { sql, redis } = deps;
  const epoch = await readEpoch(redis);
  const horizon = await streamHorizon(redis, EVENTS_STREAM, groups.get(EVENTS_STREAM));
  let trimmed = horizon ? ((await redis.xtrim(EVENTS_STREAM, 'MINID', horizon)) as number) : 0;
  trimmed += await trimStream(deps, FANOUT_STREAM, groups.get(FANOUT_STREAM));
  // Rows published under the rules before epochs: not kept. A batch per tick (an upgrade
  // leaves a day of them).
  let purged = await purgeWithoutEpoch(sql, 10_000);
  if (!epoch || !horizon) return { trimmed, purged, republished: 0 };
  const republished = await republishMissing(deps, epoch, horizon, groups.get(EVENTS_STREAM));
  const held = await chunkOutboxIds(redis);
  // The horizon and the chunks must be those of this epoch's streams: Redis losing its
  // data meanwhile makes them another Redis's, which says nothing of these rows.
  if ((await readEpoch(redis)) !== epoch) return { trimmed, purged, republished };
  purged += await purgeConsumed(sql, epoch, parseId(horizon), held);
  return { trimmed, purged, republished };
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
      const { trimmed, purged, republished } = await maintainStreams(deps, groups);
      if (republished > 0) {
        deps.logger.warn(
          { republished },
          'events whose stream entries Redis no longer has (it came back with older data): publishing them again',
        );
      }
      if (trimmed + purged > 0)
        deps.logger.debug({ trimmed, purged }, 'streams trimmed, outbox purged');
    },
  );
}
