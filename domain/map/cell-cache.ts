import type { MapCellCount } from '../../contract/index.ts';
import { cacheScopes } from '../../core/cache-scopes.ts';
import type { Deps } from '../../core/deps.ts';
import { cellCounts, type MapPush, syncMapPoint } from './queries.ts';
import { cellCountsSince } from './window-counts.ts';

/**
 * The map's cell counts per view through the read cache. A view is any box, so
 * no change can name the views it touches: every change to the aggregates (the
 * live map's worker, after each sync that moved a point) invalidates the whole
 * map scope, and the views read since are stored again. A time window is part of
 * the view: the same box since another instant is another entry (and a windowed
 * view changes only when a point does, as new posts are always inside the window).
 */
export function readCellCounts(
  deps: Pick<Deps, 'sql' | 'cache'>,
  input: Parameters<typeof cellCounts>[1] & { since?: Date | undefined },
): Promise<MapCellCount[] | null> {
  const { bbox, resolution, kind, since } = input;
  const window = since ? since.toISOString() : '*';
  const view = `${resolution}:${kind ?? '*'}:${window}:${bbox.minLat},${bbox.minLng},${bbox.maxLat},${bbox.maxLng}`;
  return deps.cache.read({ kind: 'map-cells', scope: cacheScopes.map, key: view }, () =>
    since
      ? cellCountsSince(deps.sql, { bbox, resolution, kind, since })
      : cellCounts(deps.sql, { bbox, resolution, kind }),
  );
}

/**
 * syncMapPoint, then, once its change committed, every cached view: what the
 * live map's worker runs (and anything else that moves a point on the map).
 */
export async function syncMap<T = undefined>(
  deps: Pick<Deps, 'sql' | 'cache'>,
  postId: string,
  push?: MapPush<T>,
): Promise<Awaited<ReturnType<typeof syncMapPoint>>> {
  let changed = false;
  const result = await syncMapPoint(deps.sql, postId, {
    ...push,
    async onChange(before, after, tx, read) {
      changed = true;
      await push?.onChange(before, after, tx, read);
    },
  });
  if (changed) await deps.cache.invalidate([cacheScopes.map]);
  return result;
}
