import { cellToParent, getResolution, isValidCell, latLngToCell } from 'h3-js';
import { describe, expect, it } from 'vitest';
import { mapRoom } from '../../contract/index.ts';
import {
  lngRanges,
  MAP_RESOLUTIONS,
  MAX_SUBSCRIPTION_CELLS,
  mapCells,
  resolutionForZoom,
  roomsForCells,
  subscriptionCells,
} from './geo.ts';

const LISBON = { minLng: -9.2, minLat: 38.69, maxLng: -9.1, maxLat: 38.76 };

describe('resolutionForZoom', () => {
  it('follows the table, boundaries included', () => {
    const table: Array<[number, number]> = [
      [0, 2],
      [3, 2],
      [3.5, 3],
      [4, 3],
      [5, 4],
      [6, 4],
      [7, 5],
      [8, 6],
      [9, 6],
      [10, 7],
      [11, 7],
      [12, 8],
      [13, 8],
      [13.01, 9],
      [14, 9],
      [24, 9],
    ];
    for (const [zoom, res] of table) expect(resolutionForZoom(zoom), `zoom ${zoom}`).toBe(res);
  });

  it('never leaves the map resolutions, whatever the zoom', () => {
    for (const zoom of [-5, 0, 2.5, 7.9, 100, Number.POSITIVE_INFINITY]) {
      expect(MAP_RESOLUTIONS).toContain(resolutionForZoom(zoom));
    }
  });
});

describe('mapCells and roomsForCells', () => {
  it('gives the point’s cell at every map resolution, each the parent of the next', () => {
    const cells = mapCells(38.72, -9.15);
    expect(cells.map(getResolution)).toEqual([...MAP_RESOLUTIONS]);
    expect(cells.at(-1)).toBe(latLngToCell(38.72, -9.15, 9));
    for (let i = 0; i < cells.length - 1; i++) {
      expect(cellToParent(cells[i + 1]!, MAP_RESOLUTIONS[i]!)).toBe(cells[i]);
    }
  });

  it('names a room per subscription resolution: r0 and r1 above the map cells', () => {
    const cells = mapCells(38.72, -9.15);
    const rooms = roomsForCells(cells);
    expect(rooms).toHaveLength(MAP_RESOLUTIONS.length + 2);
    expect(rooms[0]).toBe(`map:0:${cellToParent(cells[0]!, 0)}`);
    expect(rooms[1]).toBe(`map:1:${cellToParent(cells[0]!, 1)}`);
    expect(rooms.slice(2)).toEqual(cells.map((c, i) => mapRoom(MAP_RESOLUTIONS[i]!, c)));
    expect(mapRoom(8, 'abc')).toBe('map:8:abc');
  });

  it('has no rooms for a post without cells', () => {
    expect(roomsForCells([])).toEqual([]);
  });
});

describe('lngRanges', () => {
  it('is one range, or two when the box crosses the antimeridian', () => {
    expect(lngRanges(LISBON)).toEqual([[-9.2, -9.1]]);
    expect(lngRanges({ minLng: 170, minLat: -10, maxLng: -170, maxLat: 10 })).toEqual([
      [170, 180],
      [-180, -170],
    ]);
  });
});

describe('subscriptionCells', () => {
  it('covers a city at the zoom’s resolution, including the cells of its corners', () => {
    const sub = subscriptionCells(LISBON, 12)!;
    expect(sub.resolution).toBe(8);
    expect(sub.cells.length).toBeGreaterThan(1);
    expect(sub.cells.length).toBeLessThanOrEqual(MAX_SUBSCRIPTION_CELLS);
    expect(sub.cells.every((c) => isValidCell(c) && getResolution(c) === 8)).toBe(true);
    expect(sub.cells).toContain(latLngToCell(38.72, -9.15, 8));
    expect(sub.cells).toContain(latLngToCell(LISBON.minLat, LISBON.minLng, 8));
    expect(sub.cells).toContain(latLngToCell(LISBON.maxLat, LISBON.maxLng, 8));
  });

  it('goes coarser until the box needs at most the cap, down to r0 for the whole world', () => {
    const world = subscriptionCells({ minLng: -180, minLat: -90, maxLng: 180, maxLat: 90 }, 1)!;
    // Every base cell: a view of the world is followed in its 122 r0 rooms.
    expect(world).toMatchObject({ resolution: 0, cells: expect.any(Array) });
    expect(world.cells).toHaveLength(122);
    const country = subscriptionCells({ minLng: -9.5, minLat: 37, maxLng: -6.2, maxLat: 42 }, 14)!;
    expect(country.resolution).toBeLessThan(9);
    expect(country.cells.length).toBeLessThanOrEqual(MAX_SUBSCRIPTION_CELLS);
  });

  it('answers degenerate boxes with the cell they lie in', () => {
    const point = subscriptionCells({ minLng: 0, minLat: 0, maxLng: 0, maxLat: 0 }, 24)!;
    expect(point).toEqual({ resolution: 9, cells: [latLngToCell(0, 0, 9)] });
    for (const strip of [
      { minLng: 0, minLat: -90, maxLng: 0.00001, maxLat: 90 },
      { minLng: -180, minLat: 0, maxLng: 180, maxLat: 0.00001 },
    ]) {
      const sub = subscriptionCells(strip, 24)!;
      expect(sub.cells.length).toBeGreaterThan(0);
      expect(sub.cells.length).toBeLessThanOrEqual(MAX_SUBSCRIPTION_CELLS);
    }
  });

  it('covers both sides of the antimeridian', () => {
    const sub = subscriptionCells(
      { minLng: 179.9, minLat: -16.9, maxLng: -179.9, maxLat: -16.8 },
      12,
    )!;
    expect(sub.cells).toContain(latLngToCell(-16.85, 179.95, sub.resolution));
    expect(sub.cells).toContain(latLngToCell(-16.85, -179.95, sub.resolution));
    expect(sub.cells).not.toContain(latLngToCell(-16.85, 0, sub.resolution));
  });
});
