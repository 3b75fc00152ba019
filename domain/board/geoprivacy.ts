import {
  cellToBoundary,
  cellToLatLng,
  getHexagonEdgeLengthAvg,
  gridDisk,
  gridDistance,
  latLngToCell,
} from 'h3-js';
import type { Geoprivacy } from '../../contract/index.ts';

/**
 * H3 resolutions used by the board (README, "Locations and geoprivacy"):
 *
 * - r6 (≈ 36 km², ≈ 7 km across): the coarse cell of an obscured post. Readers
 *   other than the author see the centre of this cell, never the point.
 * - r7 (≈ 5 km²) and r9 (≈ 0.1 km²): the finer cells for nearby search rings.
 * - r9 is also the `cell` of an open post.
 *
 * Every cell is stored for the *public* point (the one readers may see), so
 * that searches and orderings can never reveal more than the response does.
 */
export const OBSCURE_RESOLUTION = 6;
export const FINE_RESOLUTION = 9;
export const NEARBY_RESOLUTIONS = [9, 7, 6] as const;
export const MAX_NEARBY_RADIUS_KM = 50;

export interface Location {
  lat: number;
  lng: number;
  accuracyM?: number | null;
}

export interface StoredGeo {
  lat: number | null;
  lng: number | null;
  accuracyM: number | null;
  /** r9 cell of the exact point: shown to the author only. */
  cell: string | null;
  pubLat: number | null;
  pubLng: number | null;
  /** The `cell` readers other than the author see. */
  pubCell: string | null;
  pubR6: string | null;
  pubR7: string | null;
  pubR9: string | null;
}

const NONE: StoredGeo = {
  lat: null,
  lng: null,
  accuracyM: null,
  cell: null,
  pubLat: null,
  pubLng: null,
  pubCell: null,
  pubR6: null,
  pubR7: null,
  pubR9: null,
};

/** Everything stored for a post's location under its geoprivacy. */
export function geoFor(location: Location | null | undefined, geoprivacy: Geoprivacy): StoredGeo {
  if (!location) return NONE;
  const exact = {
    lat: location.lat,
    lng: location.lng,
    accuracyM: location.accuracyM ?? null,
    cell: latLngToCell(location.lat, location.lng, FINE_RESOLUTION),
  };
  if (geoprivacy === 'private') return { ...NONE, ...exact };
  if (geoprivacy === 'obscured') {
    const coarse = latLngToCell(location.lat, location.lng, OBSCURE_RESOLUTION);
    const [lat, lng] = cellToLatLng(coarse);
    return {
      ...exact,
      pubLat: lat,
      pubLng: lng,
      pubCell: coarse,
      pubR6: coarse,
      pubR7: latLngToCell(lat, lng, 7),
      pubR9: latLngToCell(lat, lng, 9),
    };
  }
  return {
    ...exact,
    pubLat: location.lat,
    pubLng: location.lng,
    pubCell: exact.cell,
    pubR6: latLngToCell(location.lat, location.lng, 6),
    pubR7: latLngToCell(location.lat, location.lng, 7),
    pubR9: exact.cell,
  };
}

/** Great-circle distance in km, by the haversine formula listNearby's SQL uses. */
function distanceKm(a: readonly [number, number], b: readonly [number, number]): number {
  const rad = Math.PI / 180;
  const h =
    Math.sin(((b[0] - a[0]) * rad) / 2) ** 2 +
    Math.cos(a[0] * rad) * Math.cos(b[0] * rad) * Math.sin(((b[1] - a[1]) * rad) / 2) ** 2;
  return 6371 * 2 * Math.asin(Math.sqrt(Math.min(1, h)));
}

/**
 * Whether some point of the cell may lie within the radius: no point of a cell is further
 * from its centre than its furthest vertex, so a cell whose centre is further than the
 * radius plus that is out of reach (a metre of slack for rounding).
 */
function withinReach(cell: string, origin: readonly [number, number], radiusKm: number) {
  const centre = cellToLatLng(cell);
  const size = Math.max(...cellToBoundary(cell).map((v) => distanceKm(centre, v)));
  return distanceKm(origin, centre) - size <= radiusKm + 0.001;
}

/**
 * The rings of cells around a point that cover a radius, with the resolution
 * chosen so the disk stays within a few hundred cells. `k` is the ring number:
 * the ordering key of "nearest cells first". Cells wholly outside the radius are left
 * out: none of their posts is near, and a search would read all of them to find that.
 */
export function nearbyRings(lat: number, lng: number, radiusKm: number) {
  const resolution = radiusKm <= 2 ? 9 : radiusKm <= 10 ? 7 : 6;
  // Neighbouring centres are ~1.5 edges apart at the least; the margin covers
  // cells smaller than average and the corners of the circle.
  const spacing = getHexagonEdgeLengthAvg(resolution, 'km') * 1.2;
  const k = Math.ceil(radiusKm / spacing) + 1;
  const origin = latLngToCell(lat, lng, resolution);
  const cells = gridDisk(origin, k).filter((cell) => withinReach(cell, [lat, lng], radiusKm));
  const rings = cells.map((cell) => {
    let ring: number;
    try {
      ring = gridDistance(origin, cell);
    } catch {
      // Distances across a pentagon are undefined in H3; such cells go last.
      ring = k + 1;
    }
    return { cell, ring };
  });
  return { resolution: resolution as (typeof NEARBY_RESOLUTIONS)[number], rings };
}
