import { cellToLatLng, latLngToCell } from 'h3-js';
import type { Bbox } from '../../contract/index.ts';
import type { Sql } from '../../core/db.ts';
import { lngRanges, resolutionForZoom } from '../../domain/map/geo.ts';

/** A deterministic scatter of points (no Math.random: failures must be reproducible). */
export function* scatter(seed: number, lat: number, lng: number, spread: number, n: number) {
  let x = seed;
  const next = () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
  for (let i = 0; i < n; i++)
    yield { lat: lat + (next() - 0.5) * spread, lng: lng + (next() - 0.5) * spread, r: next() };
}

export const inBox = (b: Bbox, lat: number, lng: number) =>
  lat >= b.minLat && lat <= b.maxLat && lngRanges(b).some(([w, e]) => lng >= w && lng <= e);

export const bboxParam = (b: Bbox) => `${b.minLng},${b.minLat},${b.maxLng},${b.maxLat}`;

export interface BruteCount {
  cell: string;
  count: number;
  /** The newest counted post's created_at (ISO). */
  lastAt: string;
  /** How many of the counted posts have their public point outside the box. */
  outside: number;
}

/**
 * The map's counts computed the slow way: every public point (posted since `since`, when
 * given), its cell, the cell's centre in the box. Sorted by cell.
 */
export async function bruteForceCounts(
  sql: Sql,
  b: Bbox,
  zoom: number,
  options: { kind?: string | undefined; since?: Date | undefined } = {},
): Promise<BruteCount[]> {
  const res = resolutionForZoom(zoom);
  const rows = await sql<{ kind: string; lat: number; lng: number; createdAt: Date }[]>`
    select kind, pub_lat as lat, pub_lng as lng, created_at as "createdAt"
    from posts where pub_lat is not null`;
  const counts = new Map<string, BruteCount>();
  for (const r of rows) {
    if (options.kind && r.kind !== options.kind) continue;
    if (options.since && r.createdAt < options.since) continue;
    const cell = latLngToCell(r.lat, r.lng, res);
    const [clat, clng] = cellToLatLng(cell);
    if (!inBox(b, clat, clng)) continue;
    const c = counts.get(cell) ?? { cell, count: 0, lastAt: '', outside: 0 };
    c.count += 1;
    const at = r.createdAt.toISOString();
    if (at > c.lastAt) c.lastAt = at;
    if (!inBox(b, r.lat, r.lng)) c.outside += 1;
    counts.set(cell, c);
  }
  return [...counts.values()].sort((x, y) => x.cell.localeCompare(y.cell));
}
