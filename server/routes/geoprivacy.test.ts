import { cellToLatLng, gridDistance, latLngToCell } from 'h3-js';
import { describe, expect, it } from 'vitest';
import { MAX_NEARBY_RADIUS_KM, OBSCURE_RESOLUTION } from '../../domain/board/geoprivacy.ts';
import { createPost, follow, signup } from '../../test/helpers/builders.ts';
import { type ApiResponse, useTestContext } from '../../test/helpers/context.ts';

const ctx = useTestContext();

// Coordinates with digits that cannot appear by accident in any other field.
const SECRET = { lat: 38.713917, lng: -9.133651 };

/** Every digit string of the exact point that a leak would contain. */
const leaks = (text: string) =>
  ['38.713917', '-9.133651', '38.71391', '-9.13365', '713917', '133651'].filter((s) =>
    text.includes(s),
  );

describe('geoprivacy', () => {
  it('never lets the exact point of an obscured post reach another user, in any response', async () => {
    const author = await signup(ctx);
    const reader = await signup(ctx);
    await follow(ctx, reader, author);
    const post = await createPost(ctx, author, {
      geoprivacy: 'obscured',
      location: { ...SECRET, accuracyM: 3 },
    });
    // The author sees the exact point.
    expect(post.location).toEqual({ ...SECRET, accuracyM: 3 });
    expect(post.cell).toBe(latLngToCell(SECRET.lat, SECRET.lng, 9));

    const coarse = latLngToCell(SECRET.lat, SECRET.lng, OBSCURE_RESOLUTION);
    const [clat, clng] = cellToLatLng(coarse);
    const responses = [
      await ctx.request('GET', `/api/v1/posts/${post.id}`, { token: reader.accessToken }),
      await ctx.request('GET', `/api/v1/users/${author.id}/posts`, { token: reader.accessToken }),
      await ctx.request('GET', '/api/v1/feed', { token: reader.accessToken }),
      await ctx.request(
        'GET',
        `/api/v1/posts/nearby?lat=${SECRET.lat}&lng=${SECRET.lng}&radiusKm=1`,
        {
          token: reader.accessToken,
        },
      ),
      await ctx.request('GET', `/api/v1/posts/nearby?lat=${clat}&lng=${clng}&radiusKm=20`, {
        token: reader.accessToken,
      }),
      await ctx.request('POST', `/api/v1/posts/${post.id}/comments`, {
        token: reader.accessToken,
        body: { body: 'hi' },
      }),
    ];
    for (const res of responses) {
      expect(res.status).toBeLessThan(300);
      expect(leaks(res.text)).toEqual([]);
    }
    const single = responses[0]!.body;
    expect(single.location).toEqual({ lat: clat, lng: clng });
    expect(single.cell).toBe(coarse);
    // Found by a search around its public (coarse) point, with nothing finer than that.
    const around = responses[4]!.body.items.find((p: { id: string }) => p.id === post.id);
    expect(around).toMatchObject({ location: { lat: clat, lng: clng }, cell: coarse });
    expect(Object.keys(around).sort()).toEqual(Object.keys(single).sort());

    // After an edit the guarantee still holds.
    await ctx.request('PATCH', `/api/v1/posts/${post.id}`, {
      token: author.accessToken,
      body: { body: 'still here' },
    });
    const edited = await ctx.request('GET', `/api/v1/posts/${post.id}`, {
      token: reader.accessToken,
    });
    expect(leaks(edited.text)).toEqual([]);
  });

  it('shows no location at all of a private post to others, and keeps it out of nearby', async () => {
    const author = await signup(ctx);
    const reader = await signup(ctx);
    const post = await createPost(ctx, author, { geoprivacy: 'private', location: SECRET });
    const res = await ctx.request('GET', `/api/v1/posts/${post.id}`, { token: reader.accessToken });
    expect(res.body).toMatchObject({ location: null, cell: null, geoprivacy: 'private' });
    expect(leaks(res.text)).toEqual([]);
    const nearby = await ctx.request(
      'GET',
      `/api/v1/posts/nearby?lat=${SECRET.lat}&lng=${SECRET.lng}&radiusKm=5`,
      {
        token: reader.accessToken,
      },
    );
    expect(nearby.body.items.map((p: { id: string }) => p.id)).not.toContain(post.id);
    const own = await ctx.request('GET', `/api/v1/posts/${post.id}`, { token: author.accessToken });
    expect(own.body.location).toEqual(SECRET);
  });

  it('switching an open post to obscured hides the point from then on', async () => {
    const author = await signup(ctx);
    const reader = await signup(ctx);
    const post = await createPost(ctx, author, { location: SECRET });
    expect(
      leaks(
        (await ctx.request('GET', `/api/v1/posts/${post.id}`, { token: reader.accessToken })).text,
      ),
    ).not.toEqual([]);
    await ctx.request('PATCH', `/api/v1/posts/${post.id}`, {
      token: author.accessToken,
      body: { geoprivacy: 'obscured' },
    });
    const after = await ctx.request('GET', `/api/v1/posts/${post.id}`, {
      token: reader.accessToken,
    });
    expect(leaks(after.text)).toEqual([]);
    expect(after.body.cell).toBe(latLngToCell(SECRET.lat, SECRET.lng, OBSCURE_RESOLUTION));
  });
});

describe('nearby', () => {
  it('finds posts within the radius, nearest cells first, and pages through them', async () => {
    const author = await signup(ctx);
    const reader = await signup(ctx);
    // A line of posts going north from a point in Porto, ~1.1 km apart.
    const origin = { lat: 41.1496, lng: -8.611 };
    const ids = [];
    for (let i = 0; i < 5; i++) {
      ids.push(
        (
          await createPost(ctx, author, {
            location: { lat: origin.lat + i * 0.01, lng: origin.lng },
          })
        ).id,
      );
    }
    const far = await createPost(ctx, author, {
      location: { lat: origin.lat + 0.2, lng: origin.lng },
    }); // ~22 km
    const q = `lat=${origin.lat}&lng=${origin.lng}&radiusKm=5`;
    const all = await ctx.request('GET', `/api/v1/posts/nearby?${q}&limit=100`, {
      token: reader.accessToken,
    });
    expect(all.status).toBe(200);
    const found = all.body.items.map((p: { id: string }) => p.id);
    expect([...found].sort()).toEqual([...ids].sort());
    expect(found).not.toContain(far.id);
    // Nearest cells first: at this radius the rings are r7 cells around the origin.
    const originCell = latLngToCell(origin.lat, origin.lng, 7);
    const rings = all.body.items.map((p: { location: { lat: number; lng: number } }) =>
      gridDistance(originCell, latLngToCell(p.location.lat, p.location.lng, 7)),
    );
    expect(rings).toEqual([...rings].sort((x, y) => x - y));
    expect(rings[0]).toBe(0);
    expect(rings.at(-1)).toBeGreaterThan(1);

    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const res: ApiResponse = await ctx.request(
        'GET',
        `/api/v1/posts/nearby?${q}&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        {
          token: reader.accessToken,
        },
      );
      paged.push(...res.body.items.map((p: { id: string }) => p.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(paged).toEqual(found);

    const wide = await ctx.request(
      'GET',
      `/api/v1/posts/nearby?lat=${origin.lat}&lng=${origin.lng}&radiusKm=30`,
      {
        token: reader.accessToken,
      },
    );
    expect(wide.body.items.map((p: { id: string }) => p.id)).toContain(far.id);
    const small = await ctx.request(
      'GET',
      `/api/v1/posts/nearby?lat=${origin.lat}&lng=${origin.lng}&radiusKm=0.5`,
      {
        token: reader.accessToken,
      },
    );
    expect(small.body.items.map((p: { id: string }) => p.id)).toEqual([ids[0]]);
    const pets = await ctx.request('GET', `/api/v1/posts/nearby?${q}&kind=pet`, {
      token: reader.accessToken,
    });
    expect(pets.body.items).toEqual([]);
  });

  it('works across the antimeridian', async () => {
    const author = await signup(ctx);
    const east = await createPost(ctx, author, { location: { lat: -16.5, lng: 179.99 } });
    const west = await createPost(ctx, author, { location: { lat: -16.5, lng: -179.99 } });
    const res = await ctx.request('GET', '/api/v1/posts/nearby?lat=-16.5&lng=180&radiusKm=5', {
      token: author.accessToken,
    });
    expect(res.body.items.map((p: { id: string }) => p.id).sort()).toEqual(
      [east.id, west.id].sort(),
    );
  });

  it('bounds the radius and validates the point', async () => {
    const a = await signup(ctx);
    for (const q of [
      `lat=1&lng=1&radiusKm=${MAX_NEARBY_RADIUS_KM + 1}`,
      'lat=1&lng=1&radiusKm=0',
      'lat=91&lng=1',
      'lat=1&lng=-181',
      'lat=abc&lng=1',
      'lng=1',
      'lat=1&lng=1&kind=dragon',
      'lat=1&lng=1&cursor=bad',
    ]) {
      const res = await ctx.request('GET', `/api/v1/posts/nearby?${q}`, { token: a.accessToken });
      expect(res.status, q).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
    }
  });
});
