import { cellToLatLng, latLngToCell } from 'h3-js';
import { describe, expect, it } from 'vitest';
import type { Bbox } from '../../contract/index.ts';
import { syncMap } from '../../domain/map/cell-cache.ts';
import { MAP_RESOLUTIONS, resolutionForZoom, subscriptionCells } from '../../domain/map/geo.ts';
import { createPost, signup } from '../../test/helpers/builders.ts';
import { useTestContext } from '../../test/helpers/context.ts';
import { bboxParam, bruteForceCounts, scatter } from '../../test/helpers/map-counts.ts';

const ctx = useTestContext();

/** The counts computed the slow way, as the route answers them (cell and count). */
async function bruteForce(b: Bbox, zoom: number, kind?: string) {
  const counts = await bruteForceCounts(ctx.deps.sql, b, zoom, { kind });
  return counts.map(({ cell, count }) => ({ cell, count }));
}

describe('map aggregation', () => {
  it('matches a brute-force count at every zoom, by kind, with geoprivacy held', async () => {
    const author = await signup(ctx);
    const kinds = ['pet', 'stray', 'wild'] as const;
    const created: Array<{ id: string; private: boolean; lat: number; lng: number }> = [];
    let i = 0;
    for (const [lat, lng, spread] of [
      [38.72, -9.14, 0.2],
      [41.15, -8.61, 0.1],
      [52.52, 13.4, 1.5],
    ] as const) {
      for (const p of scatter(7 + i, lat, lng, spread, 25)) {
        const geoprivacy = p.r < 0.2 ? 'private' : p.r < 0.45 ? 'obscured' : 'open';
        const post = await createPost(ctx, author, {
          kind: kinds[i++ % 3],
          location: { lat: p.lat, lng: p.lng },
          geoprivacy,
        });
        created.push({ id: post.id, private: geoprivacy === 'private', lat: p.lat, lng: p.lng });
      }
    }
    for (const p of created) await syncMap(ctx.deps, p.id);

    const boxes: Bbox[] = [
      { minLng: -10, minLat: 37, maxLng: -7, maxLat: 43 },
      { minLng: -9.3, minLat: 38.6, maxLng: -9.0, maxLat: 38.85 },
      { minLng: -20, minLat: 30, maxLng: 30, maxLat: 60 },
      { minLng: 12, minLat: 51.5, maxLng: 14.5, maxLat: 53.5 },
    ];
    let nonEmpty = 0;
    for (const b of boxes) {
      for (const zoom of [2, 5, 8, 11, 13]) {
        for (const kind of [undefined, 'wild'] as const) {
          const expected = await bruteForce(b, zoom, kind);
          const res = await ctx.request(
            'GET',
            `/api/v1/map/cells?bbox=${bboxParam(b)}&zoom=${zoom}${kind ? `&kind=${kind}` : ''}`,
            { token: author.accessToken },
          );
          if (res.status === 400) {
            // Only a box too wide for a fine zoom may be refused.
            expect(expected.length, `${bboxParam(b)} z${zoom}`).toBeGreaterThan(0);
            continue;
          }
          expect(res.status).toBe(200);
          expect(res.body.resolution).toBe(resolutionForZoom(zoom));
          const got = res.body.cells
            .map((c: { cell: string; count: number }) => ({ cell: c.cell, count: c.count }))
            .sort((x: { cell: string }, y: { cell: string }) => x.cell.localeCompare(y.cell));
          expect(got, `${bboxParam(b)} z${zoom} ${kind ?? ''}`).toEqual(expected);
          if (got.length > 0) nonEmpty += 1;
        }
      }
    }
    expect(nonEmpty).toBeGreaterThan(10);
    // Private posts count nowhere: the total at the coarsest zoom is the non-private count.
    const world = await ctx.request('GET', '/api/v1/map/cells?bbox=-180,-90,180,90&zoom=0', {
      token: author.accessToken,
    });
    const total = world.body.cells.reduce((s: number, c: { count: number }) => s + c.count, 0);
    expect(total).toBe(created.filter((p) => !p.private).length);
  });

  it('counts an obscured post only at its coarse point, and shows it there in sightings', async () => {
    const author = await signup(ctx);
    const reader = await signup(ctx);
    const secret = { lat: -33.86531, lng: 151.20917 };
    const post = await createPost(ctx, author, { location: secret, geoprivacy: 'obscured' });
    const hidden = await createPost(ctx, author, { location: secret, geoprivacy: 'private' });
    await syncMap(ctx.deps, post.id);
    await syncMap(ctx.deps, hidden.id);
    const [clat, clng] = cellToLatLng(latLngToCell(secret.lat, secret.lng, 6));
    const around = `${clng - 0.5},${clat - 0.5},${clng + 0.5},${clat + 0.5}`;
    const fine = await ctx.request('GET', `/api/v1/map/cells?bbox=${around}&zoom=14`, {
      token: reader.accessToken,
    });
    expect(fine.body.cells.map((c: { cell: string }) => c.cell)).toEqual([
      latLngToCell(clat, clng, 9),
    ]);
    expect(fine.body.cells.map((c: { cell: string }) => c.cell)).not.toContain(
      latLngToCell(secret.lat, secret.lng, 9),
    );
    const sightings = await ctx.request('GET', `/api/v1/map/sightings?bbox=${around}`, {
      token: reader.accessToken,
    });
    expect(sightings.body.items).toHaveLength(1);
    expect(sightings.body.items[0]).toMatchObject({
      id: post.id,
      location: { lat: clat, lng: clng },
    });
    expect(sightings.text).not.toContain('86531');
    expect(sightings.text).not.toContain('20917');
  });

  it('follows edits and deletions, and converges however often or in whatever order it runs', async () => {
    const author = await signup(ctx);
    const post = await createPost(ctx, author, {
      location: { lat: 10.5, lng: 10.5 },
      kind: 'wild',
    });
    const box = (lat: number, lng: number) => `${lng - 0.3},${lat - 0.3},${lng + 0.3},${lat + 0.3}`;
    const count = async (lat: number, lng: number) =>
      (
        await ctx.request('GET', `/api/v1/map/cells?bbox=${box(lat, lng)}&zoom=9`, {
          token: author.accessToken,
        })
      ).body.cells.reduce((s: number, c: { count: number }) => s + c.count, 0);
    await Promise.all([1, 2, 3].map(() => syncMap(ctx.deps, post.id)));
    expect(await count(10.5, 10.5)).toBe(1);
    await ctx.request('PATCH', `/api/v1/posts/${post.id}`, {
      token: author.accessToken,
      body: { location: { lat: 20.5, lng: 20.5 } },
    });
    await syncMap(ctx.deps, post.id);
    expect([await count(10.5, 10.5), await count(20.5, 20.5)]).toEqual([0, 1]);
    await ctx.request('DELETE', `/api/v1/posts/${post.id}`, { token: author.accessToken });
    await syncMap(ctx.deps, post.id);
    await syncMap(ctx.deps, post.id);
    expect(await count(20.5, 20.5)).toBe(0);
    const [left] = await ctx.deps.sql`select count(*)::int as n from map_cells where count <= 0`;
    expect(left!.n).toBe(0);
  });

  it('handles boxes across the antimeridian, and refuses bad or too wide ones', async () => {
    const author = await signup(ctx);
    const east = await createPost(ctx, author, { location: { lat: -17.7, lng: 179.4 } });
    const west = await createPost(ctx, author, { location: { lat: -17.7, lng: -179.4 } });
    await syncMap(ctx.deps, east.id);
    await syncMap(ctx.deps, west.id);
    const across = await ctx.request('GET', '/api/v1/map/cells?bbox=179,-18.5,-179,-17&zoom=8', {
      token: author.accessToken,
    });
    expect(across.body.cells.reduce((s: number, c: { count: number }) => s + c.count, 0)).toBe(2);
    const sightings = await ctx.request('GET', '/api/v1/map/sightings?bbox=179,-18.5,-179,-17', {
      token: author.accessToken,
    });
    expect(sightings.body.items.map((p: { id: string }) => p.id).sort()).toEqual(
      [east.id, west.id].sort(),
    );
    for (const q of [
      'bbox=1,2,3&zoom=5',
      'bbox=a,b,c,d&zoom=5',
      'bbox=0,10,1,5&zoom=5',
      'bbox=0,0,200,1&zoom=5',
      'bbox=0,0,1,1',
      'bbox=0,0,1,1&zoom=99',
    ]) {
      const res = await ctx.request('GET', `/api/v1/map/cells?${q}`, { token: author.accessToken });
      expect(res.status, q).toBe(400);
    }
    // Lots of cells hold sightings worldwide at r9? No, but the refusal is about the box:
    // seed enough distinct fine cells, then ask for the world at the finest zoom.
    await ctx.deps.sql`
      insert into map_cells (res, cell, kind, count, last_at, center_lat, center_lng)
      select 9, 'x' || i, 'pet', 1, now(), (i % 170) - 85, (i % 350) - 175 from generate_series(1, 6000) as i`;
    const world = await ctx.request('GET', '/api/v1/map/cells?bbox=-180,-90,180,90&zoom=15', {
      token: author.accessToken,
    });
    expect(world.status).toBe(400);
    await ctx.deps.sql`delete from map_cells where cell like 'x%'`;
  });
});

describe('subscription cells', () => {
  it('coarsens a wide view to stay within the bound, down to the whole world', () => {
    const street = subscriptionCells(
      { minLng: -9.15, minLat: 38.71, maxLng: -9.12, maxLat: 38.73 },
      14,
    );
    expect(street?.resolution).toBe(9);
    const country = subscriptionCells({ minLng: -10, minLat: 37, maxLng: -6, maxLat: 42 }, 14);
    expect(country!.resolution).toBeLessThan(9);
    expect(country!.cells.length).toBeLessThanOrEqual(400);
    expect(MAP_RESOLUTIONS).toContain(country!.resolution);
    const world = subscriptionCells({ minLng: -180, minLat: -90, maxLng: 180, maxLat: 90 }, 14);
    expect(world!.resolution).toBe(0);
    expect(world!.cells.length).toBeLessThanOrEqual(400);
    const across = subscriptionCells({ minLng: 179, minLat: -18, maxLng: -179, maxLat: -17 }, 8);
    expect(across!.cells).toContain(latLngToCell(-17.5, 179.9, across!.resolution));
    expect(across!.cells).toContain(latLngToCell(-17.5, -179.9, across!.resolution));
  });
});
