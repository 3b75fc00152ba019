import { EVENTS_STREAM, FANOUT_STREAM } from '../core/contract.ts';
import type { Deps } from '../core/deps.ts';
import { fullKey } from '../core/redis.ts';
import type { RunningRole } from '../core/roles.ts';
import { startPeriodic } from './periodic.ts';
import { purgePublishedOutbox } from './relay.ts';

function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bm, bs] = b.split('-').map(BigInt) as [bigint, bigint];
  return am === bm ? Number(as - bs) : am < bm ? -1 : 1;
}

/**
 * Trims a stream up to the oldest entry some group still needs: the oldest
 * pending one, or the last delivered one of the slowest group. Nothing that a
 * consumer has not finished is ever trimmed.
 */
export async function trimStream(deps: Pick<Deps, 'redis'>, stream: string): Promise<number> {
  let groups: unknown[];
  try {
    groups = (await deps.redis.xinfo('GROUPS', fullKey(deps.redis, stream))) as unknown[];
  } catch {
    return 0; // no such stream yet
  }
  if (groups.length === 0) return 0;
  let keep: string | undefined;
  for (const raw of groups as Array<Array<string | number>>) {
    const info: Record<string, string | number> = {};
    for (let i = 0; i + 1 < raw.length; i += 2) info[String(raw[i])] = raw[i + 1]!;
    const name = String(info.name);
    let oldest = String(info['last-delivered-id']);
    if (oldest === '0-0') return 0; // a group that has read nothing yet needs everything
    if (Number(info.pending) > 0) {
      const [, minPending] = (await deps.redis.xpending(stream, name)) as [number, string | null];
      if (minPending && compareIds(minPending, oldest) < 0) oldest = minPending;
    } else {
      // Everything up to and including the last delivered id is done: keep what comes after it.
      const [ms, seq] = oldest.split('-');
      oldest = `${ms}-${BigInt(seq ?? '0') + 1n}`;
    }
    if (!keep || compareIds(oldest, keep) < 0) keep = oldest;
  }
  return keep ? ((await deps.redis.xtrim(stream, 'MINID', keep)) as number) : 0;
}

export function startStreamMaintenance(deps: Deps): RunningRole {
  return startPeriodic('stream-maintenance', deps.logger, 60_000, async () => {
    const trimmed =
      (await trimStream(deps, EVENTS_STREAM)) + (await trimStream(deps, FANOUT_STREAM));
    const purged = await purgePublishedOutbox(deps);
    if (trimmed + purged > 0)
      deps.logger.info({ trimmed, purged }, 'streams trimmed, outbox purged');
  });
}
