import { getHexagonEdgeLengthAvg } from 'h3-js';
import type { Bbox, MapCellCount } from '../../contract/index.ts';
import type { Sql } from '../../core/db.ts';
import { MAP_RESOLUTIONS } from './geo.ts';
import { lngCondition, MAX_CELLS } from './queries.ts';

const EARTH_RADIUS_KM = 6371.0088;
const DEG = Math.PI / 180;

/**
 * How far a point may lie from its cell's centre, in km, with room to spare: across all
 * cells of a resolution the farthest vertex is at most 1.1 average edge lengths from the
 * centre (measured over every cell at r0–r4; the ratio settles there), so a margin of
 * one cell's width (two edges) holds every point of every cell whose centre is in a box.
 */
export const marginKm = (resolution: number) => 2 * getHexagonEdgeLengthAvg(resolution, 'km');

/**
 * The box widened by `km` on every side, so that it holds every point within that
 * distance of the box. Longitude widens by the most a parallel at the box's highest
 * latitude allows; a box that comes that close to a pole, or that wraps the whole globe
 * once widened, takes every longitude. The result may cross the antimeridian
 * (minLng > maxLng), as boxes do.
 */
export function widenBox(b: Bbox, km: number): Bbox {
  const dLat = km / 110.57; // the shortest degree of latitude, at the equator
  const minLat = Math.max(-90, b.minLat - dLat);
  const maxLat = Math.min(90, b.maxLat + dLat);
  const highest = Math.max(Math.abs(minLat), Math.abs(maxLat));
  // The widest longitude span of a circle of radius km centred on that parallel.
  const spread = Math.sin(km / EARTH_RADIUS_KM) / Math.cos(highest * DEG);
  const width = b.minLng <= b.maxLng ? b.maxLng - b.minLng : 360 - (b.minLng - b.maxLng);
  const dLng = spread < 1 ? Math.asin(spread) / DEG : 180;
  if (width + 2 * dLng >= 360) return { minLng: -180, minLat, maxLng: 180, maxLat };
  const wrap = (lng: number) => (lng < -180 ? lng + 360 : lng > 180 ? lng - 360 : lng);
  return { minLng: wrap(b.minLng - dLng), minLat, maxLng: wrap(b.maxLng + dLng), maxLat };
}

/**
 * cellCounts for a time window: the sightings posted at or after `since`, per cell whose
 * centre lies in the box, at one resolution. The aggregates have no time, so this reads
 * the points: the recent posts whose public point lies in the box widened by one cell
 * (every point of a cell whose centre is inside lies there), grouped by their cell at
 * this resolution from map_points, and the cells whose centre is in the box kept. The
 * centres are map_cells' (every cell of a point has its row, written in the same
 * transaction as the point), so the answer is exactly the aggregates' minus what is
 * older: same cells, same obscured and private rules, same refusal past MAX_CELLS.
 *
 * The window is walked from its start on the (created_at, pub_lat, pub_lng) index alone
 * (sql/0011), and the box is tested on what it yields: the work grows with the posts in
 * the window, however many years of posts the box holds. The subquery is kept apart
 * (offset 0) so that the box's condition cannot reach the posts scan: with it there, the
 * generic plan of this prepared statement, priced without the values, took the
 * (pub_lat, pub_lng) index for any box and read a whole world view's posts for "today"
 * (1 s and more at 1,000,000 posts, against 40 ms this way).
 * posts.created_at and map_points.created_at are one instant (the point copies the
 * post's); the post's is read, where the index is.
 */
export async function cellCountsSince(
  sql: Sql,
  input: { bbox: Bbox; resolution: number; kind?: string | undefined; since: Date },
): Promise<MapCellCount[] | null> {
  const { bbox, resolution } = input;
  const position = MAP_RESOLUTIONS.indexOf(resolution as (typeof MAP_RESOLUTIONS)[number]);
  if (position < 0) throw new Error(`not a map resolution: ${resolution}`);
  const wide = widenBox(bbox, marginKm(resolution));
  const rows = await sql<{ cell: string; count: number; lastAt: Date }[]>`
    select g.cell, g.count, g."lastAt"
    from (
      select mp.cells[${position + 1}] as cell, count(*)::int as count,
        max(mp.created_at) as "lastAt"
      from (
        select id, pub_lat, pub_lng from posts
        where pub_lat is not null and created_at >= ${input.since}
        offset 0
      ) p
      join map_points mp on mp.post_id = p.id
      where p.pub_lat between ${wide.minLat} and ${wide.maxLat}
        and ${lngCondition(sql, 'p.pub_lng', wide)}
        ${input.kind ? sql`and mp.kind = ${input.kind}` : sql``}
      group by 1
    ) g
    where exists (
      select 1 from map_cells c
      where c.res = ${resolution} and c.cell = g.cell
        and c.center_lat between ${bbox.minLat} and ${bbox.maxLat}
        and ${lngCondition(sql, 'c.center_lng', bbox)}
    )
    order by g.cell
    limit ${MAX_CELLS + 1}`;
  if (rows.length > MAX_CELLS) return null;
  return rows.map((r) => ({ cell: r.cell, count: r.count, lastAt: r.lastAt.toISOString() }));
}
