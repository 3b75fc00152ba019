import type { Bbox, MapCellCount } from '../../contract/index.ts';
import type { Sql, TxSql } from '../../core/db.ts';
import { cellCenter, lngRanges, MAP_RESOLUTIONS, mapCells } from './geo.ts';

export interface MapPoint {
  kind: string;
  cells: string[];
  createdAt: Date;
}

/**
 * Brings a post's place on the map in line with the post as it is now: counted
 * in its public point's cells if it is located and not private, nowhere
 * otherwise. Events for one post may be handled in any order and any number of
 * times: each call converges on the current state (an advisory lock per post
 * serialises concurrent calls). Returns the point before and after.
 */
export async function syncMapPoint(
  sql: Sql,
  postId: string,
  /**
   * Called under the lock once the change is known, before the aggregates are
   * written (so watchers need not wait for them): the live map's pushes. Not
   * called when nothing changed.
   */
  onChange?: (
    before: MapPoint | undefined,
    after: MapPoint | undefined,
    tx: TxSql,
  ) => Promise<void>,
): Promise<{ before: MapPoint | undefined; after: MapPoint | undefined }> {
  return sql.begin(async (tx) => {
    // Pipelined: the lock is taken before the reads run.
    const [, [old], [post]] = await Promise.all([
      tx`select pg_advisory_xact_lock(hashtext(${`map:${postId}`}))`,
      tx<MapPoint[]>`
        select kind, cells, created_at as "createdAt" from map_points where post_id = ${postId}`,
      tx<{ kind: string; pubLat: number | null; pubLng: number | null; createdAt: Date }[]>`
        select kind, pub_lat as "pubLat", pub_lng as "pubLng", created_at as "createdAt"
        from posts where id = ${postId}`,
    ]);
    const next: MapPoint | undefined =
      post && post.pubLat !== null && post.pubLng !== null
        ? { kind: post.kind, cells: mapCells(post.pubLat, post.pubLng), createdAt: post.createdAt }
        : undefined;
    const same =
      old && next && old.kind === next.kind && old.cells.every((c, i) => c === next.cells[i]);
    if (same || (!old && !next)) return { before: old, after: next };
    await onChange?.(old, next, tx);
    // Locks cell rows in one order (res, cell) so concurrent syncs cannot deadlock.
    const changes: Array<{ res: number; cell: string; kind: string; delta: number; at: Date }> = [];
    if (old) {
      old.cells.forEach((cell, i) => {
        changes.push({
          res: MAP_RESOLUTIONS[i]!,
          cell,
          kind: old.kind,
          delta: -1,
          at: old.createdAt,
        });
      });
    }
    if (next) {
      next.cells.forEach((cell, i) => {
        changes.push({
          res: MAP_RESOLUTIONS[i]!,
          cell,
          kind: next.kind,
          delta: 1,
          at: next.createdAt,
        });
      });
    }
    changes.sort(
      (a, b) => a.res - b.res || a.cell.localeCompare(b.cell) || a.kind.localeCompare(b.kind),
    );
    for (const c of changes) {
      if (c.delta > 0) {
        const [lat, lng] = cellCenter(c.cell);
        await tx`
          insert into map_cells (res, cell, kind, count, last_at, center_lat, center_lng)
          values (${c.res}, ${c.cell}, ${c.kind}, 1, ${c.at}, ${lat}, ${lng})
          on conflict (res, cell, kind) do update
            set count = map_cells.count + 1, last_at = greatest(map_cells.last_at, excluded.last_at)`;
      } else {
        await tx`
          update map_cells set count = count - 1
          where res = ${c.res} and cell = ${c.cell} and kind = ${c.kind} and count > 0`;
      }
    }
    await tx`delete from map_cells where count = 0 and (res, cell) in (
      select unnest(${changes.map((c) => c.res)}::smallint[]), unnest(${changes.map((c) => c.cell)}::text[]))`;
    if (next) {
      await tx`
        insert into map_points (post_id, kind, cells, created_at)
        values (${postId}, ${next.kind}, ${next.cells}, ${next.createdAt})
        on conflict (post_id) do update set kind = excluded.kind, cells = excluded.cells`;
    } else {
      await tx`delete from map_points where post_id = ${postId}`;
    }
    return { before: old, after: next };
  });
}

/** Most cells one answer may hold; a wider view at a finer zoom is refused. */
export const MAX_CELLS = 5_000;

/** `column between` each longitude range of the box (two when it crosses the antimeridian). */
function lngCondition(sql: Sql, column: string, bbox: Bbox) {
  const [first, second] = lngRanges(bbox);
  const col = sql.unsafe(column);
  return second
    ? sql`(${col} between ${first![0]} and ${first![1]} or ${col} between ${second[0]} and ${second[1]})`
    : sql`${col} between ${first![0]} and ${first![1]}`;
}

/**
 * Counts per cell whose centre lies in the box, at one resolution, read from
 * the aggregates. Null when the box holds more than MAX_CELLS cells.
 */
export async function cellCounts(
  sql: Sql,
  input: { bbox: Bbox; resolution: number; kind?: string | undefined },
): Promise<MapCellCount[] | null> {
  const { bbox } = input;
  const rows = await sql<{ cell: string; count: number; lastAt: Date }[]>`
    select cell, sum(count)::int as count, max(last_at) as "lastAt"
    from map_cells
    where res = ${input.resolution}
      and center_lat between ${bbox.minLat} and ${bbox.maxLat}
      and ${lngCondition(sql, 'center_lng', bbox)}
      ${input.kind ? sql`and kind = ${input.kind}` : sql``}
    group by cell
    order by cell
    limit ${MAX_CELLS + 1}`;
  if (rows.length > MAX_CELLS) return null;
  return rows.map((r) => ({ cell: r.cell, count: r.count, lastAt: r.lastAt.toISOString() }));
}

export { lngCondition };
