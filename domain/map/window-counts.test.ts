import { cellToBoundary, cellToLatLng, latLngToCell } from 'h3-js';
import { describe, expect, it } from 'vitest';
import type { Bbox } from '../../contract/index.ts';
import { lngRanges, MAP_RESOLUTIONS } from './geo.ts';
import { marginKm, widenBox } from './window-counts.ts';

const inBox = (b: Bbox, lat: number, lng: number) =>
  lat >= b.minLat && lat <= b.maxLat && lngRanges(b).some(([w, e]) => lng >= w && lng <= e);

/** A deterministic sequence in [0, 1) (failures must be reproducible). */
function sequence(seed: number) {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

describe('widenBox', () => {
  it('holds every vertex of every cell whose centre is in the box, at every map resolution', () => {
    const next = sequence(11);
    const boxes: Bbox[] = [
      { minLng: -9.3, minLat: 38.6, maxLng: -9.0, maxLat: 38.85 },
      { minLng: 178, minLat: -20, maxLng: -178, maxLat: -15 },
      { minLng: 10, minLat: 76, maxLng: 25, maxLat: 80 },
      { minLng: -170, minLat: -60, maxLng: -160, maxLat: -55 },
      { minLng: 0, minLat: 0, maxLng: 0, maxLat: 0 },
    ];
    let checked = 0;
    for (const b of boxes) {
      for (const res of MAP_RESOLUTIONS) {
        const wide = widenBox(b, marginKm(res));
        // Points in and around the box: their cells' centres either side of its edges.
        const spanLng = lngRanges(b).reduce((s, [w, e]) => s + (e - w), 0) + 1;
        const spanLat = b.maxLat - b.minLat + 1;
        for (let i = 0; i < 300; i++) {
          const lat = Math.max(-89.9, Math.min(89.9, b.minLat - 0.5 + next() * spanLat));
          const lng = ((b.minLng - 0.5 + next() * spanLng + 540) % 360) - 180;
          const cell = latLngToCell(lat, lng, res);
          const [clat, clng] = cellToLatLng(cell);
          if (!inBox(b, clat, clng)) continue;
          checked++;
          for (const [vlat, vlng] of cellToBoundary(cell)) {
            expect(inBox(wide, vlat!, vlng!), `${cell} of ${JSON.stringify(b)}`).toBe(true);
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it('crosses the antimeridian when the widened box does, and takes every longitude near a pole', () => {
    const east = widenBox({ minLng: 179.5, minLat: 0, maxLng: 179.9, maxLat: 1 }, 100);
    expect(east.minLng).toBeGreaterThan(east.maxLng);
    expect(inBox(east, 0.5, -179.5)).toBe(true);
    const west = widenBox({ minLng: -179.9, minLat: 0, maxLng: -179.5, maxLat: 1 }, 100);
    expect(inBox(west, 0.5, 179.5)).toBe(true);
    expect(inBox(west, 0.5, 170)).toBe(false);
    const polar = widenBox({ minLng: 10, minLat: 88, maxLng: 11, maxLat: 89 }, 200);
    expect(polar).toMatchObject({ minLng: -180, maxLng: 180, maxLat: 90 });
    const wrapped = widenBox({ minLng: -179, minLat: 0, maxLng: 179, maxLat: 1 }, 500);
    expect(wrapped).toMatchObject({ minLng: -180, maxLng: 180 });
  });
});
