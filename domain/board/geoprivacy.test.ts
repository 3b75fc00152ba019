import {
  cellToBoundary,
  cellToLatLng,
  getResolution,
  gridDisk,
  gridDistance,
  latLngToCell,
} from 'h3-js';
import { describe, expect, it } from 'vitest';
import { FINE_RESOLUTION, geoFor, nearbyRings, OBSCURE_RESOLUTION } from './geoprivacy.ts';

const SECRET = { lat: 38.713917, lng: -9.133651, accuracyM: 12 };

describe('geoFor', () => {
  it('stores nothing without a location, whatever the geoprivacy', () => {
    for (const g of ['open', 'obscured', 'private'] as const) {
      expect(Object.values(geoFor(null, g)).every((v) => v === null)).toBe(true);
      expect(Object.values(geoFor(undefined, g)).every((v) => v === null)).toBe(true);
    }
  });

  it('open: the public point is the exact point, with its cells', () => {
    const geo = geoFor(SECRET, 'open');
    expect(geo).toMatchObject({ lat: SECRET.lat, lng: SECRET.lng, accuracyM: 12 });
    expect(geo.pubLat).toBe(SECRET.lat);
    expect(geo.pubLng).toBe(SECRET.lng);
    expect(geo.cell).toBe(latLngToCell(SECRET.lat, SECRET.lng, FINE_RESOLUTION));
    expect(geo.pubCell).toBe(geo.cell);
    expect(geo.pubR9).toBe(geo.cell);
    expect(geo.pubR6).toBe(latLngToCell(SECRET.lat, SECRET.lng, 6));
    expect(geo.pubR7).toBe(latLngToCell(SECRET.lat, SECRET.lng, 7));
  });

  it('obscured: readers get the centre of the r6 cell, and every public cell comes from that centre', () => {
    const geo = geoFor(SECRET, 'obscured');
    const coarse = latLngToCell(SECRET.lat, SECRET.lng, OBSCURE_RESOLUTION);
    const [lat, lng] = cellToLatLng(coarse);
    expect(geo).toMatchObject({ lat: SECRET.lat, lng: SECRET.lng, accuracyM: 12 });
    expect([geo.pubLat, geo.pubLng]).toEqual([lat, lng]);
    expect(geo.pubLat).not.toBe(SECRET.lat);
    expect(geo.pubCell).toBe(coarse);
    expect(geo.pubR6).toBe(coarse);
    expect(geo.pubR7).toBe(latLngToCell(lat, lng, 7));
    expect(geo.pubR9).toBe(latLngToCell(lat, lng, 9));
    // No public field is derived from the exact point.
    const exactCells = [7, 9].map((r) => latLngToCell(SECRET.lat, SECRET.lng, r));
    expect([geo.pubR7, geo.pubR9]).not.toEqual(exactCells);
    expect(JSON.stringify({ ...geo, lat: 0, lng: 0, cell: null })).not.toContain('713917');
  });

  it('obscured: every point of one r6 cell is published as the same point', () => {
    const a = geoFor({ lat: 38.7139, lng: -9.1336 }, 'obscured');
    const b = geoFor({ lat: 38.7141, lng: -9.1338 }, 'obscured');
    expect([a.pubLat, a.pubLng]).toEqual([b.pubLat, b.pubLng]);
  });

  it('private: the author keeps the point, nothing is public', () => {
    const geo = geoFor(SECRET, 'private');
    expect(geo).toMatchObject({ lat: SECRET.lat, lng: SECRET.lng, accuracyM: 12 });
    expect(geo.cell).toBe(latLngToCell(SECRET.lat, SECRET.lng, FINE_RESOLUTION));
    for (const key of ['pubLat', 'pubLng', 'pubCell', 'pubR6', 'pubR7', 'pubR9'] as const) {
      expect(geo[key], key).toBeNull();
    }
  });

  it('stores a missing accuracy as null', () => {
    expect(geoFor({ lat: 1, lng: 2 }, 'open').accuracyM).toBeNull();
    expect(geoFor({ lat: 1, lng: 2, accuracyM: null }, 'obscured').accuracyM).toBeNull();
  });
});

describe('nearbyRings', () => {
  it('picks a finer resolution for a smaller radius', () => {
    expect(nearbyRings(38.72, -9.14, 1).resolution).toBe(9);
    expect(nearbyRings(38.72, -9.14, 2).resolution).toBe(9);
    expect(nearbyRings(38.72, -9.14, 5).resolution).toBe(7);
    expect(nearbyRings(38.72, -9.14, 10).resolution).toBe(7);
    expect(nearbyRings(38.72, -9.14, 50).resolution).toBe(6);
  });

  it('starts at the point’s own cell (ring 0) and numbers each cell by its grid distance', () => {
    const { resolution, rings } = nearbyRings(38.72, -9.14, 3);
    const origin = latLngToCell(38.72, -9.14, resolution);
    expect(rings.filter((r) => r.ring === 0)).toEqual([{ cell: origin, ring: 0 }]);
    for (const { cell, ring } of rings) {
      expect(getResolution(cell)).toBe(resolution);
      expect(ring).toBe(gridDistance(origin, cell));
    }
    expect(new Set(rings.map((r) => r.cell)).size).toBe(rings.length);
  });

  it('covers the radius: a point that far away falls in one of the cells', () => {
    const { resolution, rings } = nearbyRings(38.72, -9.14, 10);
    // About 9.9 km north.
    const far = latLngToCell(38.72 + 0.089, -9.14, resolution);
    expect(rings.map((r) => r.cell)).toContain(far);
  });

  it('leaves out the cells wholly beyond the radius, and only those', () => {
    const [lat, lng, radiusKm] = [38.72, -9.14, 5];
    const { resolution, rings } = nearbyRings(lat, lng, radiusKm);
    const kept = new Set(rings.map((r) => r.cell));
    const km = ([a, b]: number[]) => {
      const rad = Math.PI / 180;
      const h =
        Math.sin(((a! - lat) * rad) / 2) ** 2 +
        Math.cos(lat * rad) * Math.cos(a! * rad) * Math.sin(((b! - lng) * rad) / 2) ** 2;
      return 6371 * 2 * Math.asin(Math.sqrt(h));
    };
    const disk = gridDisk(latLngToCell(lat, lng, resolution), 3);
    const dropped = disk.filter((c) => !kept.has(c));
    expect(dropped.length).toBeGreaterThan(0);
    for (const cell of dropped) {
      // Centre and corners all beyond the radius (an edge could only come nearer by a hair).
      for (const p of [cellToLatLng(cell), ...cellToBoundary(cell)]) {
        expect(km(p)).toBeGreaterThan(radiusKm);
      }
    }
    // Every cell with its centre within the radius is kept.
    for (const cell of disk) {
      if (km(cellToLatLng(cell)) <= radiusKm) expect(kept.has(cell)).toBe(true);
    }
  });
});
