import type { Bbox, MapCellCount } from '../../contract/index.ts';
import type { Sql, TxSql } from '../../core/db.ts';
import { cellCenter, lngRanges, MAP_RESOLUTIONS, mapCells } from './geo.ts';

export interface MapPoint {
  kind: string;
  cells: string[];
  createdAt: Date;
}

/** One row of map_cells a sync changes, by one sighting either way. */
interface CellChange {
  res: number;
  cell: string;
  kind: string;
  delta: 1 | -1;
  at: Date;
}

/**
 * The cell changes from one point to another, netted per (res, cell, kind): a
 * post moved within a coarse cell leaves that cell's count alone instead of
 * taking one off and putting it back (one statement may change a row only once).
 */
function cellChanges(before: MapPoint | undefined, after: MapPoint | undefined): CellChange[] {
  const changes = new Map<string, CellChange>();
  const add = (point: MapPoint, delta: 1 | -1) => {
    point.cells.forEach((cell, i) => {
      const res = MAP_RESOLUTIONS[i]!;
      const key = `${res} ${cell} ${point.kind}`;
      if (changes.has(key)) changes.delete(key);
      else changes.set(key, { res, cell, kind: point.kind, delta, at: point.createdAt });
    });
  };
  if (before) add(before, -1);
  if (after) add(after, 1);
  return [...changes.values()];
}

/**
 * Every cell change of a sync in one statement. Each proposed row starts at
 * count 1 for a sighting arriving and 0 for one leaving; on conflict the row
 * gains or loses one, never going below 0 (the `count > 0` guard), and only an
 * arrival moves `last_at` (to the later of the two).
 * A leaving sighting's row that is missing is inserted at 0, and removed with
 * the other emptied rows by `deleteEmptyCells`.
 *
 * Rows are locked in (res, cell, kind) order, the same in every sync, so that
 * concurrent syncs of posts sharing cells cannot deadlock (the per-post lock is
 * taken first, and held by one sync only): INSERT … SELECT … ORDER BY inserts
 * (or locks and updates) the rows one at a time in the order the sorted SELECT
 * yields them. Increments and decrements as two statements would each lock in
 * order, but not both together: A↓ then B↑ against B↓ then A↑ (workers/map.test.ts
 * deadlocks when the rows are not sorted this way).
 */
function writeCells(tx: TxSql, changes: CellChange[]) {
  const centres = changes.map((c) => cellCenter(c.cell));
  return tx`
    insert into map_cells as m (res, cell, kind, count, last_at, center_lat, center_lng)
    select * from unnest(
      ${changes.map((c) => c.res)}::smallint[],
      ${changes.map((c) => c.cell)}::text[],
      ${changes.map((c) => c.kind)}::text[],
      ${changes.map((c) => (c.delta > 0 ? 1 : 0))}::int[],
      ${changes.map((c) => c.at.toISOString())}::timestamptz[],
      ${centres.map(([lat]) => lat)}::float8[],
      ${centres.map(([, lng]) => lng)}::float8[]
    ) as c(res, cell, kind, count, last_at, center_lat, center_lng)
    order by res, cell, kind
    on conflict (res, cell, kind) do update set
      count = case when excluded.count = 1 then m.count + 1 else greatest(m.count - 1, 0) end,
      last_at = case when excluded.count = 1 then greatest(m.last_at, excluded.last_at)
                else m.last_at end`;
}

/** Removes the rows a sync's decrements emptied (only rows this transaction holds). */
function deleteEmptyCells(tx: TxSql, leaving: CellChange[]) {
  return tx`
    delete from map_cells where count = 0 and (res, cell, kind) in (
      select * from unnest(
        ${leaving.map((c) => c.res)}::smallint[],
        ${leaving.map((c) => c.cell)}::text[],
        ${leaving.map((c) => c.kind)}::text[]))`;
}

/** What the live map pushes when a sync changes a post's place (see syncMapPoint). */
export interface MapPush<T> {
  /**
   * Read under the lock in the same round trip as the map's own reads (postgres.js
   * pipelines statements issued together in a transaction): what the pushes show.
   */
  read?: (tx: TxSql) => Promise<T>;
  /**
   * Called under the lock once the change is known, before the aggregates are
   * written (so watchers need not wait for them), with what `read` read. Not
   * called when nothing changed.
   */
  onChange: (
    before: MapPoint | undefined,
    after: MapPoint | undefined,
    tx: TxSql,
    read: T | undefined,
  ) => Promise<void>;
}

/**
 * Brings a post's place on the map in line with the post as it is now: counted
 * in its public point's cells if it is located and not private, nowhere
 * otherwise. Events for one post may be handled in any order and any number of
 * times: each call converges on the current state (an advisory lock per post
 * serialises concurrent calls). Returns the point before and after.
 *
 * Four round trips whatever the number of map resolutions: BEGIN; the lock with
 * the reads; the writes (cells, emptied cells, the point) together; COMMIT.
 */
export async function syncMapPoint<T = undefined>(
  sql: Sql,
  postId: string,
  push?: MapPush<T>,
): Promise<{ before: MapPoint | undefined; after: MapPoint | undefined }> {
  return sql.begin(async (tx) => {
    // Pipelined: the lock is taken before the reads run. postgres.js sends a query
    // when it is first awaited, so the map's reads are awaited (by Promise.all) before
    // `read` is called: an async `read` sends its query as soon as it is called.
    const reads = Promise.all([
      tx`select pg_advisory_xact_lock(hashtext(${`map:${postId}`}))`,
      tx<MapPoint[]>`
        select kind, cells, created_at as "createdAt" from map_points where post_id = ${postId}`,
      tx<{ kind: string; pubLat: number | null; pubLng: number | null; createdAt: Date }[]>`
        select kind, pub_lat as "pubLat", pub_lng as "pubLng", created_at as "createdAt"
        from posts where id = ${postId}`,
    ]);
    const [[, [old], [post]], read] = await Promise.all([reads, push?.read?.(tx)]);
    const next: MapPoint | undefined =
      post && post.pubLat !== null && post.pubLng !== null
        ? { kind: post.kind, cells: mapCells(post.pubLat, post.pubLng), createdAt: post.createdAt }
        : undefined;
    const same =
      old && next && old.kind === next.kind && old.cells.every((c, i) => c === next.cells[i]);
    if (same || (!old && !next)) return { before: old, after: next };
    await push?.onChange(old, next, tx, read);
    // The writes, pipelined: they run in this order, after the pushes went out.
    const changes = cellChanges(old, next);
    const leaving = changes.filter((c) => c.delta < 0);
    await Promise.all([
      changes.length > 0 ? writeCells(tx, changes) : undefined,
      leaving.length > 0 ? deleteEmptyCells(tx, leaving) : undefined,
      next
        ? tx`
          insert into map_points (post_id, kind, cells, created_at)
          values (${postId}, ${next.kind}, ${next.cells}, ${next.createdAt})
          on conflict (post_id) do update set kind = excluded.kind, cells = excluded.cells`
        : tx`delete from map_points where post_id = ${postId}`,
    ]);
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
