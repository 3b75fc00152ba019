import {
  cellToLatLng,
  cellToParent,
  getHexagonEdgeLengthAvg,
  latLngToCell,
  polygonToCells,
} from 'h3-js';
import { type Bbox, mapRoom } from '../../contract/index.ts';

/**
 * Map zoom → H3 resolution (web-mercator zoom levels; a cell spans a few dozen
 * screen pixels at each):
 *
 * | zoom | ≤ 3 | 4 | 5–6 | 7 | 8–9 | 10–11 | 12–13 | ≥ 14 |
 * | res  |  2  | 3 |  4  | 5 |  6  |   7   |   8   |  9   |
 */
export const MAP_RESOLUTIONS = [2, 3, 4, 5, 6, 7, 8, 9] as const;
export type MapResolution = (typeof MAP_RESOLUTIONS)[number];

export function resolutionForZoom(zoom: number): MapResolution {
  if (zoom <= 3) return 2;
  if (zoom <= 4) return 3;
  if (zoom <= 6) return 4;
  if (zoom <= 7) return 5;
  if (zoom <= 9) return 6;
  if (zoom <= 11) return 7;
  if (zoom <= 13) return 8;
  return 9;
}

/** The public point's cell at every map resolution, in MAP_RESOLUTIONS order. */
export function mapCells(lat: number, lng: number): string[] {
  return MAP_RESOLUTIONS.map((r) => latLngToCell(lat, lng, r));
}

export const cellCenter = (cell: string) => cellToLatLng(cell);

/**
 * Longitude ranges of a box: one, or two when it crosses the antimeridian
 * (minLng > maxLng, as map libraries report such a view).
 */
export function lngRanges(b: Bbox): Array<[number, number]> {
  return b.minLng <= b.maxLng
    ? [[b.minLng, b.maxLng]]
    : [
        [b.minLng, 180],
        [-180, b.maxLng],
      ];
}

/**
 * Resolutions a live subscription may use: the map's, and two coarser ones so
 * that a view of the whole world can still be followed (122 cells at r0).
 */
export const SUBSCRIPTION_RESOLUTIONS = [0, 1, ...MAP_RESOLUTIONS] as const;

/** The rooms a post at these map cells (MAP_RESOLUTIONS order) is pushed to, at every subscription resolution. */
export function roomsForCells(cells: string[]): string[] {
  const coarse = cells[0] ? [cellToParent(cells[0], 0), cellToParent(cells[0], 1)] : [];
  return [
    ...coarse.map((cell, r) => mapRoom(r, cell)),
    ...cells.map((cell, i) => mapRoom(MAP_RESOLUTIONS[i]!, cell)),
  ];
}

/** Most cell rooms one socket may join: a wider view is followed at a coarser resolution. */
export const MAX_SUBSCRIPTION_CELLS = 400;

/**
 * Roughly how many cells of this resolution cover a box, from its sides rather
 * than its area: a thin strip across the world has almost no area but needs a
 * cell every few km along it. Errs high, so a box is never listed at a
 * resolution that would take long to list.
 */
function cellsToCover(b: Bbox, resolution: number): number {
  const edge = getHexagonEdgeLengthAvg(resolution, 'km');
  const widthDeg = lngRanges(b).reduce((sum, [a, z]) => sum + (z - a), 0);
  // The widest parallel in the box (the one nearest the equator).
  const widest =
    b.minLat <= 0 && b.maxLat >= 0 ? 0 : Math.min(Math.abs(b.minLat), Math.abs(b.maxLat));
  const widthKm = widthDeg * 111.32 * Math.cos(widest * (Math.PI / 180));
  const heightKm = (b.maxLat - b.minLat) * 110.57;
  return (widthKm / (1.5 * edge) + 2) * (heightKm / (1.5 * edge) + 2);
}

/** Pieces at most 90° wide: H3 polygons must not span half the globe. */
function narrowRanges(b: Bbox): Array<[number, number]> {
  const pieces: Array<[number, number]> = [];
  for (const [west, east] of lngRanges(b)) {
    for (let w = west; w < east; w += 90) pieces.push([w, Math.min(east, w + 90)]);
    if (west === east) pieces.push([west, east]);
  }
  return pieces;
}

/**
 * The cells a subscription joins: at the zoom's resolution, or coarser until
 * the box needs at most MAX_SUBSCRIPTION_CELLS cells; null when even the
 * coarsest resolution needs more (the caller refuses the subscription).
 */
export function subscriptionCells(
  b: Bbox,
  zoom: number,
): { resolution: number; cells: string[] } | null {
  const levels = SUBSCRIPTION_RESOLUTIONS;
  let index = levels.indexOf(resolutionForZoom(zoom));
  for (; index > 0; index--) {
    const res = levels[index]!;
    if (cellsToCover(b, res) <= MAX_SUBSCRIPTION_CELLS) break;
  }
  for (; index >= 0; index--) {
    const resolution = levels[index]!;
    const cells = new Set<string>();
    for (const [west, east] of narrowRanges(b)) {
      const ring = [
        [b.minLat, west],
        [b.minLat, east],
        [b.maxLat, east],
        [b.maxLat, west],
        [b.minLat, west],
      ];
      if (b.minLat < b.maxLat && west < east) {
        for (const c of polygonToCells(ring, resolution)) cells.add(c);
      }
      // A box smaller than one cell still lies in some cell: its corners'.
      for (const [lat, lng] of ring) cells.add(latLngToCell(lat!, lng!, resolution));
    }
    if (cells.size <= MAX_SUBSCRIPTION_CELLS) return { resolution, cells: [...cells] };
  }
  return null;
}
