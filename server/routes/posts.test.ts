import { latLngToCell } from 'h3-js';
import { describe, expect, it } from 'vitest';
import { buildPost, createPost, follow, signup } from '../../test/helpers/builders.ts';
import { useTestContext } from '../../test/helpers/context.ts';

const ctx = useTestContext();
const UNKNOWN = '01a21392-0000-7000-8000-000000000000';

const outboxCount = async (type: string, postId: string) => {
  const [row] = await ctx.deps.sql`
    select count(*)::int as n from outbox where type = ${type} and payload->>'postId' = ${postId}`;
  return row!.n as number;
};

describe('creating posts', () => {
  it('creates a located sighting with its H3 cell, author and counts, and records post.created', async () => {
    const a = await signup(ctx);
    const res = await ctx.request('POST', '/api/v1/posts', {
      token: a.accessToken,
      body: {
        kind: 'wild',
        body: 'A red fox crossing the park at dawn.',
        species: 'Vulpes vulpes',
        location: { lat: 51.5074, lng: -0.1278, accuracyM: 25 },
        observedAt: '2026-11-20T06:30:00Z',
      },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      kind: 'wild',
      species: 'Vulpes vulpes',
      body: 'A red fox crossing the park at dawn.',
      location: { lat: 51.5074, lng: -0.1278, accuracyM: 25 },
      geoprivacy: 'open',
      cell: latLngToCell(51.5074, -0.1278, 9),
      photos: [],
      observedAt: '2026-11-20T06:30:00.000Z',
      commentCount: 0,
      likeCount: 0,
      likedByMe: false,
      author: { id: a.id, handle: a.input.handle, postCount: 1 },
    });
    expect(await outboxCount('post.created', res.body.id)).toBe(1);
    const [event] = await ctx.deps
      .sql`select payload from outbox where payload->>'postId' = ${res.body.id}`;
    expect(event!.payload).toMatchObject({
      authorId: a.id,
      kind: 'wild',
      publicCell: res.body.cell,
    });
  });

  it('accepts a post without a location and defaults observedAt to now', async () => {
    const a = await signup(ctx);
    const before = Date.now();
    const res = await ctx.request('POST', '/api/v1/posts', {
      token: a.accessToken,
      body: { kind: 'pet', body: 'My dog, Biscuit.' },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ location: null, cell: null, species: null });
    expect(Date.parse(res.body.observedAt)).toBeGreaterThanOrEqual(before - 1000);
  });

  it('returns the first post for a repeated clientId, also when the retries race', async () => {
    const a = await signup(ctx);
    const body = buildPost({ clientId: 'phone-42' });
    const first = await ctx.request('POST', '/api/v1/posts', { token: a.accessToken, body });
    const again = await ctx.request('POST', '/api/v1/posts', {
      token: a.accessToken,
      body: { ...body, body: 'edited text on retry' },
    });
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    expect(again.body.body).toBe(first.body.body);

    const racing = buildPost({ clientId: 'flaky-connection' });
    const results = await Promise.all(
      Array.from({ length: 6 }, () =>
        ctx.request('POST', '/api/v1/posts', { token: a.accessToken, body: racing }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 201]);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    const [row] = await ctx.deps.sql`
      select count(*)::int as n, (select post_count from users where id = ${a.id}) as "postCount"
      from posts where author_id = ${a.id}`;
    expect(row).toEqual({ n: 2, postCount: 2 });
    expect(await outboxCount('post.created', results[0]!.body.id)).toBe(1);

    // The same clientId from someone else is someone else's post.
    const b = await signup(ctx);
    const theirs = await ctx.request('POST', '/api/v1/posts', { token: b.accessToken, body });
    expect(theirs.status).toBe(201);
    expect(theirs.body.id).not.toBe(first.body.id);
  });

  it.each([
    ['latitude out of range', { location: { lat: 91, lng: 0 } }, 'location.lat'],
    ['longitude out of range', { location: { lat: 0, lng: -180.5 } }, 'location.lng'],
    ['coordinates as strings', { location: { lat: '38.7', lng: '-9.1' } }, 'location.lat'],
    ['negative accuracy', { location: { lat: 1, lng: 1, accuracyM: -5 } }, 'location.accuracyM'],
    ['unknown kind', { kind: 'dragon' }, 'kind'],
    ['oversized body', { body: 'x'.repeat(2001) }, 'body'],
    ['empty body without photos', { body: '   ' }, 'body'],
    [
      'observation in the future',
      { observedAt: new Date(Date.now() + 86_400_000).toISOString() },
      'observedAt',
    ],
    ['observation that is not a date', { observedAt: 'yesterday' }, 'observedAt'],
    ['unknown geoprivacy', { geoprivacy: 'secret' }, 'geoprivacy'],
    ['too many photos', { photoIds: Array.from({ length: 11 }, (_, i) => `p${i}`) }, 'photoIds'],
    ['a photo that does not exist', { photoIds: [UNKNOWN] }, 'photoIds'],
    ['an over-long species', { species: 's'.repeat(101) }, 'species'],
    ['a NUL in the body', { body: 'a\u0000b' }, 'body'],
    ['a bidirectional override in the body', { body: 'cat \u202Egnp.exe' }, 'body'],
    ['a NUL in the clientId', { clientId: '\u0000' }, 'clientId'],
  ])('rejects %s with 400', async (_name, patch, field) => {
    const a = await signup(ctx);
    const res = await ctx.request('POST', '/api/v1/posts', {
      token: a.accessToken,
      body: { ...buildPost(), ...patch },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.details.fields.map((f: { field: string }) => f.field)).toContain(field);
    const [row] = await ctx.deps
      .sql`select count(*)::int as n from posts where author_id = ${a.id}`;
    expect(row!.n).toBe(0);
  });
});

describe('text', () => {
  it('keeps emoji sequences, right-to-left and Persian text as written', async () => {
    const a = await signup(ctx);
    const body = 'Black cat 🐈\u200D⬛ again 🏳️\u200D🌈 — گربه\u200Cی سیاه — \u200Fقطة';
    const res = await ctx.request('POST', '/api/v1/posts', {
      token: a.accessToken,
      body: { ...buildPost(), body },
    });
    expect(res.status).toBe(201);
    expect(res.body.body).toBe(body);
    const comment = await ctx.request('POST', `/api/v1/posts/${res.body.id}/comments`, {
      token: a.accessToken,
      body: { body: '👨\u200D👩\u200D👧' },
    });
    expect(comment.status).toBe(201);
    const me = await ctx.request('PATCH', '/api/v1/me', {
      token: a.accessToken,
      body: {
        displayName: 'گربه\u200Cها 🐈\u200D⬛',
        bio: 'line one\nline two 🏴\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}',
      },
    });
    expect(me.status).toBe(200);
    expect(me.body.displayName).toBe('گربه\u200Cها 🐈\u200D⬛');
  });
});

describe('reading, editing and deleting posts', () => {
  it('lets only the author edit; recomputes cells when the location changes', async () => {
    const a = await signup(ctx);
    const b = await signup(ctx);
    const post = await createPost(ctx, a);
    const denied = await ctx.request('PATCH', `/api/v1/posts/${post.id}`, {
      token: b.accessToken,
      body: { body: 'mine now' },
    });
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe('forbidden');
    const edited = await ctx.request('PATCH', `/api/v1/posts/${post.id}`, {
      token: a.accessToken,
      body: { body: 'Actually two cats.', location: { lat: 48.8566, lng: 2.3522 }, species: null },
    });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({
      body: 'Actually two cats.',
      species: null,
      location: { lat: 48.8566, lng: 2.3522 },
      cell: latLngToCell(48.8566, 2.3522, 9),
      kind: post.kind,
    });
    expect(Date.parse(edited.body.updatedAt)).toBeGreaterThan(Date.parse(post.updatedAt));
    const [row] = await ctx.deps.sql`select pub_r6, pub_r7 from posts where id = ${post.id}`;
    expect(row).toEqual({
      pub_r6: latLngToCell(48.8566, 2.3522, 6),
      pub_r7: latLngToCell(48.8566, 2.3522, 7),
    });
    expect(await outboxCount('post.updated', post.id)).toBe(1);
    const bad = await ctx.request('PATCH', `/api/v1/posts/${post.id}`, {
      token: a.accessToken,
      body: { clientId: 'x' },
    });
    expect(bad.status).toBe(400);
    const removed = await ctx.request('PATCH', `/api/v1/posts/${post.id}`, {
      token: a.accessToken,
      body: { location: null },
    });
    expect(removed.body).toMatchObject({ location: null, cell: null });
  });

  it('lets only the author delete; comments and likes go with the post', async () => {
    const a = await signup(ctx);
    const b = await signup(ctx);
    const post = await createPost(ctx, a);
    await ctx.request('POST', `/api/v1/posts/${post.id}/comments`, {
      token: b.accessToken,
      body: { body: 'Cute!' },
    });
    await ctx.request('PUT', `/api/v1/posts/${post.id}/like`, { token: b.accessToken });
    expect(
      (await ctx.request('DELETE', `/api/v1/posts/${post.id}`, { token: b.accessToken })).status,
    ).toBe(403);
    expect(
      (await ctx.request('DELETE', `/api/v1/posts/${post.id}`, { token: a.accessToken })).status,
    ).toBe(204);
    expect(
      (await ctx.request('GET', `/api/v1/posts/${post.id}`, { token: a.accessToken })).status,
    ).toBe(404);
    expect(
      (await ctx.request('DELETE', `/api/v1/posts/${post.id}`, { token: a.accessToken })).status,
    ).toBe(404);
    const [row] = await ctx.deps.sql`
      select (select count(*)::int from comments where post_id = ${post.id}) as comments,
        (select count(*)::int from likes where post_id = ${post.id}) as likes,
        (select post_count from users where id = ${a.id}) as "postCount"`;
    expect(row).toEqual({ comments: 0, likes: 0, postCount: 0 });
    expect(await outboxCount('post.deleted', post.id)).toBe(1);
  });

  it('answers unknown and malformed ids with 404', async () => {
    const a = await signup(ctx);
    for (const [method, path] of [
      ['GET', `/api/v1/posts/${UNKNOWN}`],
      ['GET', '/api/v1/posts/123'],
      ['PATCH', `/api/v1/posts/${UNKNOWN}`],
      ['DELETE', `/api/v1/posts/${UNKNOWN}`],
      ['GET', `/api/v1/users/${UNKNOWN}/posts`],
    ] as const) {
      const res = await ctx.request(method, path, {
        token: a.accessToken,
        body: method === 'PATCH' ? { body: 'x' } : undefined,
      });
      expect(res.status, `${method} ${path}`).toBe(404);
    }
  });

  it("shows an author's posts newest first and keeps author null once the account is gone", async () => {
    const a = await signup(ctx);
    const reader = await signup(ctx);
    const posts = [];
    for (let i = 0; i < 3; i++) posts.push(await createPost(ctx, a));
    const list = await ctx.request('GET', `/api/v1/users/${a.id}/posts?limit=2`, {
      token: reader.accessToken,
    });
    expect(list.body.items.map((p: { id: string }) => p.id)).toEqual([posts[2]!.id, posts[1]!.id]);
    const rest = await ctx.request(
      'GET',
      `/api/v1/users/${a.id}/posts?limit=2&cursor=${list.body.nextCursor}`,
      {
        token: reader.accessToken,
      },
    );
    expect(rest.body).toMatchObject({ items: [{ id: posts[0]!.id }], nextCursor: null });
    const deleted = await ctx.request('DELETE', '/api/v1/me', {
      token: a.accessToken,
      body: { password: a.input.password },
    });
    expect(deleted.status).toBe(202);
    const orphan = await ctx.request('GET', `/api/v1/posts/${posts[0]!.id}`, {
      token: reader.accessToken,
    });
    expect(orphan.status).toBe(200);
    expect(orphan.body.author).toBeNull();
  });
});

describe('feed', () => {
  it('shows posts of followed users, newest first, with pages that new posts never shift', async () => {
    const me = await signup(ctx);
    const friend = await signup(ctx);
    const other = await signup(ctx);
    const stranger = await signup(ctx);
    await follow(ctx, me, friend);
    await follow(ctx, me, other);
    const expected = [];
    for (let i = 0; i < 5; i++) {
      expected.push((await createPost(ctx, i % 2 ? friend : other)).id);
      await createPost(ctx, stranger);
    }
    await createPost(ctx, me); // my own posts are not in my feed
    const first = await ctx.request('GET', '/api/v1/feed?limit=2', { token: me.accessToken });
    expect(first.status).toBe(200);
    // New posts arrive between pages: they are on top, later pages neither repeat nor skip.
    await createPost(ctx, friend);
    await createPost(ctx, other);
    const ids = first.body.items.map((p: { id: string }) => p.id);
    let cursor = first.body.nextCursor;
    while (cursor) {
      const next = await ctx.request('GET', `/api/v1/feed?limit=2&cursor=${cursor}`, {
        token: me.accessToken,
      });
      ids.push(...next.body.items.map((p: { id: string }) => p.id));
      cursor = next.body.nextCursor;
    }
    expect(ids).toEqual(expected.reverse());
  });

  it('is empty for someone who follows nobody, and rejects bad cursors', async () => {
    const me = await signup(ctx);
    expect((await ctx.request('GET', '/api/v1/feed', { token: me.accessToken })).body).toEqual({
      items: [],
      nextCursor: null,
    });
    const bad = await ctx.request('GET', '/api/v1/feed?cursor=%%%', { token: me.accessToken });
    expect(bad.status).toBe(400);
    expect((await ctx.request('GET', '/api/v1/feed')).status).toBe(401);
  });
});
