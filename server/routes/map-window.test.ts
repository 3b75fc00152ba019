import { cellToLatLng, latLngToCell } from 'h3-js';
import { describe, expect, it } from 'vitest';
import type { Bbox } from '../../contract/index.ts';
import { syncMap } from '../../domain/map/cell-cache.ts';
import { resolutionForZoom } from '../../domain/map/geo.ts';
import { createPost, type SignedUpUser, signup } from '../../test/helpers/builders.ts';
import { type ApiResponse, useTestContext } from '../../test/helpers/context.ts';
import { bboxParam, bruteForceCounts, scatter } from '../../test/helpers/map-counts.ts';

// The map's time window (`since`): the cell counts and the sightings list of only the
// posts posted at or after an instant.
const ctx = useTestContext();

const DAY = 86_400_000;

/** Dates a post back, before the map reads it (its point copies the post's created_at). */
async function postedAt(postId: string, at: Date) {
  await ctx.deps.sql`update posts set created_at = ${at} where id = ${postId}`;
}

async function cells(as: SignedUpUser, query: string) {
  return ctx.request('GET', `/api/v1/map/cells?${query}`, { token: as.accessToken });
}

const total = (body: { cells: Array<{ count: number }> }) =>
  body.cells.reduce((s, c) => s + c.count, 0);

describe('map cells since an instant', () => {
  it('match a brute-force count of the recent posts at every zoom, by kind, with geoprivacy held', async () => {
    const author = await signup(ctx);
    const since = new Date(Date.now() - 2 * DAY);
    const kinds = ['pet', 'stray', 'wild'] as const;
    const recentOpen: Array<{ lat: number; lng: number }> = [];
    let i = 0;
    // Around Lisbon, across the antimeridian (Fiji), and near the pole (Svalbard), spread
    // wide enough that the edges of every box below cut through cells at every zoom.
    for (const [lat, lng, spread] of [
      [38.72, -9.14, 3],
      [-17.7, 179.8, 3],
      [78.2, 15.6, 4],
    ] as const) {
      for (const p of scatter(31 + i, lat, lng, spread, 24)) {
        const geoprivacy = p.r < 0.15 ? 'private' : p.r < 0.4 ? 'obscured' : 'open';
        const post = await createPost(ctx, author, {
          kind: kinds[i % 3],
          location: { lat: p.lat, lng: ((p.lng + 540) % 360) - 180 },
          geoprivacy,
        });
        // Every other post is older than the window, the rest spread over it; one sits
        // exactly at its start (counted) and one a millisecond before (not counted).
        const at =
          i === 0
            ? since
            : i === 1
              ? new Date(since.getTime() - 1)
              : i % 2 === 0
                ? new Date(since.getTime() + (i % 7) * 3_600_000)
                : new Date(since.getTime() - (1 + (i % 9)) * DAY);
        await postedAt(post.id, at);
        await syncMap(ctx.deps, post.id);
        if (geoprivacy === 'open' && at >= since) recentOpen.push(post.location);
        i += 1;
      }
    }
    // In the window for sure: an obscured and a private post, side by side in Lisbon.
    const secret = { lat: 38.70123, lng: -9.17456 };
    const obscured = await createPost(ctx, author, { location: secret, geoprivacy: 'obscured' });
    const hidden = await createPost(ctx, author, { location: secret, geoprivacy: 'private' });
    await syncMap(ctx.deps, obscured.id);
    await syncMap(ctx.deps, hidden.id);

    const boxes: Bbox[] = [
      { minLng: -10, minLat: 37, maxLng: -7, maxLat: 40 },
      { minLng: -9.3, minLat: 38.6, maxLng: -9.0, maxLat: 38.85 },
      { minLng: 178.5, minLat: -19.5, maxLng: -178.8, maxLat: -16.2 },
      { minLng: 12, minLat: 77, maxLng: 19, maxLat: 79.5 },
      { minLng: -180, minLat: -90, maxLng: 180, maxLat: 90 },
      // Tiny boxes round the centres of some recent posts' coarse cells: the posts lie
      // outside them, and count in them at the coarsest zoom.
      ...recentOpen.slice(0, 4).map((p) => {
        const [clat, clng] = cellToLatLng(latLngToCell(p.lat, p.lng, resolutionForZoom(2)));
        return {
          minLng: clng - 0.01,
          minLat: clat - 0.01,
          maxLng: clng + 0.01,
          maxLat: clat + 0.01,
        };
      }),
    ];
    const sinceParam = encodeURIComponent(since.toISOString());
    let nonEmpty = 0;
    let outside = 0;
    for (const b of boxes) {
      for (const zoom of [2, 5, 8, 11, 13]) {
        for (const kind of [undefined, 'stray'] as const) {
          const expected = await bruteForceCounts(ctx.deps.sql, b, zoom, { kind, since });
          const res = await cells(
            author,
            `bbox=${bboxParam(b)}&zoom=${zoom}&since=${sinceParam}${kind ? `&kind=${kind}` : ''}`,
          );
          const label = `${bboxParam(b)} z${zoom} ${kind ?? ''}`;
          expect(res.status, label).toBe(200);
          expect(res.body.resolution).toBe(resolutionForZoom(zoom));
          expect(res.body.cells, label).toEqual(
            expected.map(({ cell, count, lastAt }) => ({ cell, count, lastAt })),
          );
          if (expected.length > 0) nonEmpty += 1;
          outside += expected.reduce((s, c) => s + c.outside, 0);
        }
      }
    }
    expect(nonEmpty).toBeGreaterThan(20);
    // Some counted posts lie outside their box (their cell's centre is inside): the
    // margin around the box was needed, not merely harmless.
    expect(outside).toBeGreaterThan(0);

    // Private never, obscured at its coarse point only.
    const [clat, clng] = cellToLatLng(latLngToCell(secret.lat, secret.lng, 6));
    const around = `${clng - 0.5},${clat - 0.5},${clng + 0.5},${clat + 0.5}`;
    const fine = await cells(author, `bbox=${around}&zoom=14&since=${sinceParam}`);
    expect(
      fine.body.cells.find((c: { cell: string }) => c.cell === latLngToCell(clat, clng, 9)),
    ).toMatchObject({ count: 1 });
    expect(fine.body.cells.map((c: { cell: string }) => c.cell)).not.toContain(
      latLngToCell(secret.lat, secret.lng, 9),
    );

    // The window's answer is part of the all-time one.
    const world = await cells(author, 'bbox=-180,-90,180,90&zoom=0');
    const windowed = await cells(author, `bbox=-180,-90,180,90&zoom=0&since=${sinceParam}`);
    expect(total(windowed.body)).toBeGreaterThan(0);
    expect(total(windowed.body)).toBeLessThan(total(world.body));
  });

  it('takes any offset, answers a future window with nothing, and refuses what is not a datetime', async () => {
    const author = await signup(ctx);
    const post = await createPost(ctx, author, { location: { lat: -34.9, lng: -56.16 } });
    await syncMap(ctx.deps, post.id);
    const box = 'bbox=-57,-35.5,-55.5,-34.5&zoom=8';
    const hour = new Date(Date.now() - 3_600_000);
    // The same instant an hour ago, written at +02:00 (the + percent-encoded).
    const local = new Date(hour.getTime() + 2 * 3_600_000).toISOString().slice(0, 19);
    const offset = await cells(author, `${box}&since=${local}%2B02:00`);
    expect(offset.status).toBe(200);
    expect(total(offset.body)).toBe(1);
    const future = await cells(author, `${box}&since=2999-01-01T00:00:00Z`);
    expect(future.status).toBe(200);
    expect(future.body.cells).toEqual([]);
    const farFuture = await cells(author, `${box}&since=9999-12-31T23:59:59-12:00`);
    expect(farFuture.body.cells).toEqual([]);
    const farPast = await cells(author, `${box}&since=0000-01-01T00:00:00Z`);
    expect(total(farPast.body)).toBe(1);
    for (const since of [
      'yesterday',
      '2025-06-01',
      '2025-06-01T00:00:00',
      // An unencoded + reaches the server as a space.
      `${local}+02:00`,
      '1717200000',
      '',
    ]) {
      const res = await cells(author, `${box}&since=${since}`);
      expect(res.status, since).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
      expect(JSON.stringify(res.body.error.details), since).toContain('since');
      const list = await ctx.request(
        'GET',
        `/api/v1/map/sightings?bbox=-57,-35.5,-55.5,-34.5&since=${since}`,
        { token: author.accessToken },
      );
      expect(list.status, since).toBe(400);
      expect(JSON.stringify(list.body.error.details), since).toContain('since');
    }
  });

  it('keys cached views by their window: an all-time view never answers a windowed read', async () => {
    await expect.poll(() => ctx.deps.cache.usable).toBe(true);
    const author = await signup(ctx);
    const at = { lat: -1.2921, lng: 36.8219 };
    const old = await createPost(ctx, author, { location: at });
    const recent = await createPost(ctx, author, { location: { lat: -1.29, lng: 36.82 } });
    await postedAt(old.id, new Date(Date.now() - 10 * DAY));
    await syncMap(ctx.deps, old.id);
    await syncMap(ctx.deps, recent.id);
    const box = 'bbox=36.5,-1.6,37.1,-1.0&zoom=9';
    const week = encodeURIComponent(new Date(Date.now() - 7 * DAY).toISOString());
    const month = encodeURIComponent(new Date(Date.now() - 30 * DAY).toISOString());
    const hits = async () =>
      (await ctx.deps.metrics.cacheLookups.get()).values
        .filter((v) => v.labels.kind === 'map-cells' && v.labels.outcome === 'hit')
        .reduce((s, v) => s + v.value, 0);

    // The all-time view, read twice: the second from the cache.
    const before = await hits();
    expect(total((await cells(author, box)).body)).toBe(2);
    expect(total((await cells(author, box)).body)).toBe(2);
    expect(await hits()).toBeGreaterThan(before);
    // The same box since a week ago is another view, cached in turn; a month back another.
    expect(total((await cells(author, `${box}&since=${week}`)).body)).toBe(1);
    expect(total((await cells(author, `${box}&since=${week}`)).body)).toBe(1);
    expect(total((await cells(author, `${box}&since=${month}`)).body)).toBe(2);
    expect(total((await cells(author, box)).body)).toBe(2);
    // The same instant written otherwise is the same view.
    const weekAt = new Date(decodeURIComponent(week));
    const weekLocal = new Date(weekAt.getTime() + 3_600_000).toISOString().replace('Z', '');
    const hitsBefore = await hits();
    expect(total((await cells(author, `${box}&since=${weekLocal}%2B01:00`)).body)).toBe(1);
    expect(await hits()).toBe(hitsBefore + 1);

    // A new sighting reaches the windowed views too (the map scope's invalidation).
    const another = await createPost(ctx, author, { location: { lat: -1.3, lng: 36.83 } });
    await syncMap(ctx.deps, another.id);
    expect(total((await cells(author, `${box}&since=${week}`)).body)).toBe(2);
    expect(total((await cells(author, box)).body)).toBe(3);
  });
});

describe('map sightings since an instant', () => {
  it('lists only the posts of the window, newest first, page by page, with geoprivacy held', async () => {
    const author = await signup(ctx);
    const reader = await signup(ctx);
    // Cape Town: only this test posts there.
    const point = (k: number) => ({ lat: -33.92 + k * 0.001, lng: 18.42 });
    const made: Array<{ id: string; recent: boolean }> = [];
    for (let k = 0; k < 7; k++) {
      const post = await createPost(ctx, author, {
        location: point(k),
        kind: k % 2 === 0 ? 'wild' : 'pet',
      });
      const recent = k % 3 !== 0;
      if (!recent) await postedAt(post.id, new Date(Date.now() - (3 + k) * DAY));
      made.push({ id: post.id, recent });
    }
    const secret = { lat: -33.91234, lng: 18.41567 };
    const obscured = await createPost(ctx, author, { location: secret, geoprivacy: 'obscured' });
    await createPost(ctx, author, { location: point(9), geoprivacy: 'private' });
    const since = encodeURIComponent(new Date(Date.now() - 2 * DAY).toISOString());
    const bbox = '18.3,-34.1,18.6,-33.8';

    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const res: ApiResponse = await ctx.request(
        'GET',
        `/api/v1/map/sightings?bbox=${bbox}&since=${since}&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        { token: reader.accessToken },
      );
      expect(res.status).toBe(200);
      pages.push(res.body.items.map((p: { id: string }) => p.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    const expected = [...made.filter((p) => p.recent).map((p) => p.id), obscured.id]
      .sort()
      .reverse();
    expect(pages.flat()).toEqual(expected);
    expect(pages.length).toBe(Math.ceil(expected.length / 2));

    const all = await ctx.request('GET', `/api/v1/map/sightings?bbox=${bbox}&limit=100`, {
      token: reader.accessToken,
    });
    expect(all.body.items).toHaveLength(made.length + 1);
    const windowed = await ctx.request(
      'GET',
      `/api/v1/map/sightings?bbox=${bbox}&since=${since}&limit=100`,
      { token: reader.accessToken },
    );
    const shown = windowed.body.items.find((p: { id: string }) => p.id === obscured.id);
    const [clat, clng] = cellToLatLng(latLngToCell(secret.lat, secret.lng, 6));
    expect(shown.location).toEqual({ lat: clat, lng: clng });
    expect(windowed.text).not.toContain('91234');

    const wild = await ctx.request(
      'GET',
      `/api/v1/map/sightings?bbox=${bbox}&since=${since}&kind=wild&limit=100`,
      { token: reader.accessToken },
    );
    expect(wild.body.items.map((p: { id: string }) => p.id).sort()).toEqual(
      made
        .filter((p, k) => p.recent && k % 2 === 0)
        .map((p) => p.id)
        .sort(),
    );
    const future = await ctx.request(
      'GET',
      `/api/v1/map/sightings?bbox=${bbox}&since=2999-01-01T00:00:00Z`,
      { token: reader.accessToken },
    );
    expect(future.status).toBe(200);
    expect(future.body).toEqual({ items: [], nextCursor: null });
  });
});
