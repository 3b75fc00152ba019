import exifReader from 'exif-reader';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { allKeys, originalKey, variantKey } from '../../domain/photos/processing.ts';
import { deleteOrphans } from '../../domain/photos/queries.ts';
import { buildPost, createPost, type SignedUpUser, signup } from '../../test/helpers/builders.ts';
import { type ApiResponse, useTestContext } from '../../test/helpers/context.ts';
import { image, multipart, noisyJpeg, phoneJpeg } from '../../test/helpers/images.ts';
import { sweepStorageDeletions } from '../../workers/storage.ts';

const MAX_BYTES = 300_000;
const ctx = useTestContext({ PHOTO_MAX_BYTES: String(MAX_BYTES), PHOTO_MAX_PIXELS: '4000000' });
const UNKNOWN = '01a21392-0000-7000-8000-000000000000';

async function upload(
  user: SignedUpUser,
  bytes: Buffer,
  type = 'image/jpeg',
  name = 'photo.jpg',
): Promise<ApiResponse> {
  const form = multipart('file', name, type, bytes);
  return ctx.request('POST', '/api/v1/photos', {
    token: user.accessToken,
    raw: form.body,
    headers: { 'content-type': form.contentType },
  });
}

async function uploaded(user: SignedUpUser): Promise<Record<string, any>> {
  const res = await upload(user, await image('jpeg'));
  if (res.status !== 201) throw new Error(`upload failed: ${res.status} ${res.text}`);
  return res.body;
}

/** Asks for a presigned URL declaring `declaredSize`, PUTs `bytes` to it, and completes. */
async function presignedUpload(
  user: SignedUpUser,
  bytes: Buffer,
  type: string,
  declaredSize: number,
) {
  const ticket = await ctx.request('POST', '/api/v1/photos/uploads', {
    token: user.accessToken,
    body: { contentType: type, size: declaredSize },
  });
  // As a browser sends it: Content-Length is the body's own (a browser may not set it).
  await fetch(ticket.body.uploadUrl, {
    method: 'PUT',
    body: new Uint8Array(bytes),
    headers: { 'content-type': ticket.body.headers['content-type'] },
  });
  return ctx.request('POST', `/api/v1/photos/${ticket.body.photoId}/complete`, {
    token: user.accessToken,
  });
}

/** Reads a stored object back through the media route, as a browser would. */
async function fetchMedia(
  url: string,
): Promise<{ status: number; type: string | null; bytes: Buffer }> {
  const path = url.replace('http://media.test/m', '/media');
  const res = await ctx.app.request(path);
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    bytes: Buffer.from(await res.arrayBuffer()),
  };
}

const exists = async (key: string) => (await ctx.deps.storage.head(key)) !== undefined;

describe('direct upload', () => {
  it('stores three metadata-free variants of a phone photo, orientation applied', async () => {
    const user = await signup(ctx);
    const original = await phoneJpeg();
    // The fixture does carry GPS, so the test below can fail.
    expect(exifReader((await sharp(original).metadata()).exif!).GPSInfo?.GPSLatitude).toEqual([
      38, 43, 12.34,
    ]);

    const res = await upload(user, original);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ width: 100, height: 200 });
    expect(Object.keys(res.body.urls).sort()).toEqual(['large', 'small', 'thumb']);
    for (const [name, url] of Object.entries(res.body.urls as Record<string, string>)) {
      expect(url).toBe(`http://media.test/m/photos/${res.body.id}/${name}.webp`);
      const media = await fetchMedia(url);
      expect(media.status).toBe(200);
      expect(media.type).toBe('image/webp');
      const meta = await sharp(media.bytes).metadata();
      expect(meta.format).toBe('webp');
      expect(meta.exif, `${name} carries EXIF`).toBeUndefined();
      expect(meta.xmp).toBeUndefined();
      expect(meta.icc).toBeUndefined();
      expect(media.bytes.includes(Buffer.from('GPS'))).toBe(false);
      expect(media.bytes.includes(Buffer.from('PhoneCo'))).toBe(false);
      if (name === 'thumb') expect([meta.width, meta.height]).toEqual([256, 256]);
      // Portrait after orientation: taller than wide.
      else expect(meta.height).toBeGreaterThan(meta.width!);
    }
  });

  it('accepts PNG and WebP, judged by their bytes whatever the declared type', async () => {
    const user = await signup(ctx);
    const png = await upload(user, await image('png'), 'application/octet-stream', 'x.bin');
    expect(png.status).toBe(201);
    expect(png.body).toMatchObject({ width: 120, height: 80 });
    expect((await upload(user, await image('webp'), 'image/jpeg')).status).toBe(201);
  });

  it.each([
    [
      'a text file named .jpg',
      async () => Buffer.from('hello, this is not an image at all'),
      'image/jpeg',
    ],
    ['a GIF', async () => image('gif'), 'image/gif'],
    ['a truncated JPEG', async () => (await noisyJpeg(200, 200)).subarray(0, 4000), 'image/jpeg'],
    [
      'an SVG',
      async () => Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'),
      'image/svg+xml',
    ],
  ])('refuses %s with 415 and stores nothing', async (_name, make, type) => {
    const user = await signup(ctx);
    const res = await upload(user, await make(), type);
    expect(res.status).toBe(415);
    expect(res.body.error.code).toBe('unsupported_media_type');
    const [row] = await ctx.deps
      .sql`select count(*)::int as n from photos where owner_id = ${user.id}`;
    expect(row!.n).toBe(0);
  });

  it('refuses files over the size limit with 413', async () => {
    const user = await signup(ctx);
    const big = await noisyJpeg(700, 700);
    expect(big.length).toBeGreaterThan(MAX_BYTES);
    const res = await upload(user, big);
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
  });

  it('refuses decompression bombs (too many pixels) before decoding them', async () => {
    const user = await signup(ctx);
    const bomb = await sharp({
      create: { width: 3000, height: 3000, channels: 3, background: '#000' },
    })
      .png({ compressionLevel: 9 })
      .toBuffer();
    expect(bomb.length).toBeLessThan(MAX_BYTES);
    const res = await upload(user, bomb, 'image/png');
    expect(res.status).toBe(413);
    expect(res.body.error.message).toMatch(/pixels/);
  });

  it('answers a missing file, a JSON body and malformed multipart with clear errors', async () => {
    const user = await signup(ctx);
    const wrongField = multipart('picture', 'a.jpg', 'image/jpeg', await image('jpeg'));
    const missing = await ctx.request('POST', '/api/v1/photos', {
      token: user.accessToken,
      raw: wrongField.body,
      headers: { 'content-type': wrongField.contentType },
    });
    expect(missing.status).toBe(400);
    expect(missing.body.error.details.fields[0].field).toBe('file');
    const json = await ctx.request('POST', '/api/v1/photos', {
      token: user.accessToken,
      body: { file: 'x' },
    });
    expect(json.status).toBe(415);
    const broken = await ctx.request('POST', '/api/v1/photos', {
      token: user.accessToken,
      raw: '--abc\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nxxxx',
      headers: { 'content-type': 'multipart/form-data; boundary=abc' },
    });
    expect([400, 415]).toContain(broken.status);
    expect((await ctx.request('POST', '/api/v1/photos', { raw: wrongField.body })).status).toBe(
      401,
    );
  });
});

describe('presigned upload', () => {
  it('works end to end against the real S3-compatible server, and the original goes', async () => {
    const user = await signup(ctx);
    const bytes = await phoneJpeg();
    const ticket = await ctx.request('POST', '/api/v1/photos/uploads', {
      token: user.accessToken,
      body: { contentType: 'image/jpeg', size: bytes.length },
    });
    expect(ticket.status).toBe(201);
    expect(ticket.body.uploadUrl).toMatch(/X-Amz-Signature=/);
    expect(ticket.body.headers).toEqual({
      'content-type': 'image/jpeg',
      'content-length': String(bytes.length),
    });
    // Type and size are signed, so S3 and MinIO refuse a PUT of anything else.
    const signed = new URL(ticket.body.uploadUrl).searchParams.get('X-Amz-SignedHeaders');
    expect(signed?.split(';')).toEqual(['content-length', 'content-type', 'host']);

    const early = await ctx.request('POST', `/api/v1/photos/${ticket.body.photoId}/complete`, {
      token: user.accessToken,
    });
    expect(early.status).toBe(409);

    const put = await fetch(ticket.body.uploadUrl, {
      method: 'PUT',
      body: new Uint8Array(bytes),
      headers: ticket.body.headers,
    });
    expect(put.status).toBe(200);
    const other = await signup(ctx);
    const stolen = await ctx.request('POST', `/api/v1/photos/${ticket.body.photoId}/complete`, {
      token: other.accessToken,
    });
    expect(stolen.status).toBe(403);

    const [done, again] = await Promise.all([
      ctx.request('POST', `/api/v1/photos/${ticket.body.photoId}/complete`, {
        token: user.accessToken,
      }),
      ctx.request('POST', `/api/v1/photos/${ticket.body.photoId}/complete`, {
        token: user.accessToken,
      }),
    ]);
    expect(done.status).toBe(200);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(done.body);
    expect(done.body).toMatchObject({ id: ticket.body.photoId, width: 100, height: 200 });
    const large = await fetchMedia(done.body.urls.large);
    expect((await sharp(large.bytes).metadata()).exif).toBeUndefined();

    // The original (with its GPS) is queued for deletion and gone after a sweep.
    expect(await exists(originalKey(done.body.id))).toBe(true);
    await sweepStorageDeletions(ctx.deps);
    expect(await exists(originalKey(done.body.id))).toBe(false);
    expect(await exists(variantKey(done.body.id, 'large'))).toBe(true);
  });

  it('holds no database transaction while the original downloads and decodes', async () => {
    const user = await signup(ctx);
    const bytes = await phoneJpeg();
    const storage = ctx.deps.storage;
    const get = storage.get;
    const openTransactions: number[] = [];
    // Looks at the database at the moment the original is fetched (from the real store).
    storage.get = async (key) => {
      const [row] = await ctx.deps.sql`
        select count(*)::int as n from pg_stat_activity
        where datname = current_database() and state like 'idle in transaction%'`;
      openTransactions.push(row!.n);
      return get.call(storage, key);
    };
    try {
      const res = await presignedUpload(user, bytes, 'image/jpeg', bytes.length);
      expect(res.status).toBe(200);
    } finally {
      storage.get = get;
    }
    expect(openTransactions).toEqual([0]);
  });

  it('a photo deleted while it completes leaves no object behind', async () => {
    const user = await signup(ctx);
    const bytes = await phoneJpeg();
    const ticket = await ctx.request('POST', '/api/v1/photos/uploads', {
      token: user.accessToken,
      body: { contentType: 'image/jpeg', size: bytes.length },
    });
    const id = ticket.body.photoId as string;
    await fetch(ticket.body.uploadUrl, {
      method: 'PUT',
      body: new Uint8Array(bytes),
      headers: ticket.body.headers,
    });
    const storage = ctx.deps.storage;
    const get = storage.get;
    // The owner deletes it just as the original is being fetched.
    storage.get = async (key) => {
      const gone = await ctx.request('DELETE', `/api/v1/photos/${id}`, { token: user.accessToken });
      expect(gone.status).toBe(204);
      return get.call(storage, key);
    };
    try {
      const res = await ctx.request('POST', `/api/v1/photos/${id}/complete`, {
        token: user.accessToken,
      });
      expect(res.status).toBe(404);
    } finally {
      storage.get = get;
    }
    expect(await exists(variantKey(id, 'large'))).toBe(true); // written, then queued
    await sweepStorageDeletions(ctx.deps);
    for (const key of allKeys(id)) expect(await exists(key), key).toBe(false);
  });

  it('refuses a declared size over the limit, a bad type, and an upload of another size', async () => {
    const user = await signup(ctx);
    const tooBig = await ctx.request('POST', '/api/v1/photos/uploads', {
      token: user.accessToken,
      body: { contentType: 'image/jpeg', size: MAX_BYTES + 1 },
    });
    expect(tooBig.status).toBe(413);
    const gif = await ctx.request('POST', '/api/v1/photos/uploads', {
      token: user.accessToken,
      body: { contentType: 'image/gif', size: 100 },
    });
    expect(gif.status).toBe(400);
    const bytes = await image('jpeg');
    const res = await presignedUpload(user, bytes, 'image/jpeg', bytes.length + 10);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/declared/);
    expect(
      (await ctx.request('POST', `/api/v1/photos/${UNKNOWN}/complete`, { token: user.accessToken }))
        .status,
    ).toBe(404);
  });

  it('refuses a presigned upload that is not an image', async () => {
    const user = await signup(ctx);
    const bytes = Buffer.from('#!/bin/sh\necho not a picture\n');
    const res = await presignedUpload(user, bytes, 'image/png', bytes.length);
    expect(res.status).toBe(415);
  });
});

describe('photos on posts', () => {
  it('attaches own photos in order; the post shows them with their URLs', async () => {
    const user = await signup(ctx);
    const p1 = await uploaded(user);
    const p2 = await uploaded(user);
    const res = await ctx.request('POST', '/api/v1/posts', {
      token: user.accessToken,
      body: { ...buildPost(), body: '', photoIds: [p2.id, p1.id] },
    });
    expect(res.status).toBe(201);
    expect(res.body.photos).toEqual([p2, p1]);
    const reader = await signup(ctx);
    const read = await ctx.request('GET', `/api/v1/posts/${res.body.id}`, {
      token: reader.accessToken,
    });
    expect(read.body.photos.map((p: { id: string }) => p.id)).toEqual([p2.id, p1.id]);
  });

  it("refuses someone else's photo, a photo already on a post, unknown ids and pending uploads", async () => {
    const user = await signup(ctx);
    const other = await signup(ctx);
    const theirs = await uploaded(other);
    const mine = await uploaded(user);
    await createPost(ctx, user, { photoIds: [mine.id] });
    const pending = await ctx.request('POST', '/api/v1/photos/uploads', {
      token: user.accessToken,
      body: { contentType: 'image/jpeg', size: 10 },
    });
    for (const photoIds of [[theirs.id], [mine.id], [UNKNOWN], [pending.body.photoId], ['nope']]) {
      const res = await ctx.request('POST', '/api/v1/posts', {
        token: user.accessToken,
        body: { ...buildPost(), photoIds },
      });
      expect(res.status, photoIds[0]).toBe(400);
      expect(res.body.error.details.photoIds).toEqual([photoIds[0]!.toLowerCase()]);
    }
    const [row] = await ctx.deps
      .sql`select count(*)::int as n from posts where author_id = ${user.id}`;
    expect(row!.n).toBe(1);
    const dup = await ctx.request('POST', '/api/v1/posts', {
      token: user.accessToken,
      body: { ...buildPost(), photoIds: [theirs.id, theirs.id] },
    });
    expect(dup.status).toBe(400);
    const eleven = await ctx.request('POST', '/api/v1/posts', {
      token: user.accessToken,
      body: { ...buildPost(), photoIds: Array.from({ length: 11 }, () => UNKNOWN) },
    });
    expect(eleven.status).toBe(400);
  });

  it('deleting a post removes its photos and, after the sweep, their objects', async () => {
    const user = await signup(ctx);
    const photo = await uploaded(user);
    const post = await createPost(ctx, user, { photoIds: [photo.id] });
    expect(await exists(variantKey(photo.id, 'thumb'))).toBe(true);
    expect(
      (await ctx.request('DELETE', `/api/v1/posts/${post.id}`, { token: user.accessToken })).status,
    ).toBe(204);
    expect(
      (await ctx.request('GET', `/api/v1/photos/${photo.id}`, { token: user.accessToken })).status,
    ).toBe(404);
    await sweepStorageDeletions(ctx.deps);
    for (const key of allKeys(photo.id)) expect(await exists(key), key).toBe(false);
    expect((await fetchMedia(photo.urls.small)).status).toBe(404);
  });

  it('editing photoIds replaces the set and deletes the left-out photos', async () => {
    const user = await signup(ctx);
    const a = await uploaded(user);
    const b = await uploaded(user);
    const c = await uploaded(user);
    const post = await createPost(ctx, user, { photoIds: [a.id, b.id] });
    const res = await ctx.request('PATCH', `/api/v1/posts/${post.id}`, {
      token: user.accessToken,
      body: { photoIds: [c.id, a.id] },
    });
    expect(res.status).toBe(200);
    expect(res.body.photos.map((p: { id: string }) => p.id)).toEqual([c.id, a.id]);
    expect(
      (await ctx.request('GET', `/api/v1/photos/${b.id}`, { token: user.accessToken })).status,
    ).toBe(404);
  });

  it('never leaves a post with neither text nor photo, and refuses malformed photo ids on edit', async () => {
    const user = await signup(ctx);
    const photo = await uploaded(user);
    const post = await createPost(ctx, user, { body: '', photoIds: [photo.id] });
    const edit = (body: unknown) =>
      ctx.request('PATCH', `/api/v1/posts/${post.id}`, { token: user.accessToken, body });
    const emptied = await edit({ photoIds: [] });
    expect(emptied.status).toBe(400);
    expect(emptied.body.error.details.fields[0].field).toBe('photoIds');
    const malformed = await edit({ photoIds: ['not-a-uuid'] });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.message).toContain('not-a-uuid');
    const removed = await ctx.request('DELETE', `/api/v1/photos/${photo.id}`, {
      token: user.accessToken,
    });
    expect(removed.status).toBe(409);
    expect(removed.body.error.code).toBe('conflict');
    // Nothing changed; with a body, the photo may go.
    const read = await ctx.request('GET', `/api/v1/posts/${post.id}`, { token: user.accessToken });
    expect(read.body.photos.map((p: { id: string }) => p.id)).toEqual([photo.id]);
    expect((await edit({ body: 'A heron' })).status).toBe(200);
    expect(
      (await ctx.request('DELETE', `/api/v1/photos/${photo.id}`, { token: user.accessToken }))
        .status,
    ).toBe(204);
  });

  it('two photos of a post without text deleted at once: one goes, the last one stays', async () => {
    const user = await signup(ctx);
    const [a, b] = [await uploaded(user), await uploaded(user)];
    const post = await createPost(ctx, user, { body: '', photoIds: [a.id, b.id] });
    const statuses = (
      await Promise.all(
        [a, b].map((p) =>
          ctx.request('DELETE', `/api/v1/photos/${p.id}`, { token: user.accessToken }),
        ),
      )
    ).map((r) => r.status);
    expect(statuses.sort()).toEqual([204, 409]);
    const read = await ctx.request('GET', `/api/v1/posts/${post.id}`, { token: user.accessToken });
    expect(read.body.photos).toHaveLength(1);
  });

  it('lets only the owner delete a photo; it leaves the post it was on', async () => {
    const user = await signup(ctx);
    const other = await signup(ctx);
    const photo = await uploaded(user);
    const post = await createPost(ctx, user, { photoIds: [photo.id] });
    expect(
      (await ctx.request('DELETE', `/api/v1/photos/${photo.id}`, { token: other.accessToken }))
        .status,
    ).toBe(403);
    expect(
      (await ctx.request('DELETE', `/api/v1/photos/${photo.id}`, { token: user.accessToken }))
        .status,
    ).toBe(204);
    expect(
      (await ctx.request('DELETE', `/api/v1/photos/${photo.id}`, { token: user.accessToken }))
        .status,
    ).toBe(404);
    const read = await ctx.request('GET', `/api/v1/posts/${post.id}`, { token: user.accessToken });
    expect(read.body.photos).toEqual([]);
  });
});

describe('storage lifecycle', () => {
  it('removes photos never attached within the TTL, objects included', async () => {
    const user = await signup(ctx);
    const old = await uploaded(user);
    const fresh = await uploaded(user);
    const kept = await uploaded(user);
    await createPost(ctx, user, { photoIds: [kept.id] });
    await ctx.deps
      .sql`update photos set created_at = now() - interval '2 days' where id in (${old.id}, ${kept.id})`;
    expect(await deleteOrphans(ctx.deps.sql, 24 * 3_600_000)).toBeGreaterThanOrEqual(1);
    const ids = (await ctx.deps.sql`select id from photos where owner_id = ${user.id}`)
      .map((r) => r.id)
      .sort();
    expect(ids).toEqual([fresh.id, kept.id].sort());
    await sweepStorageDeletions(ctx.deps);
    expect(await exists(variantKey(old.id, 'large'))).toBe(false);
    expect(await exists(variantKey(fresh.id, 'large'))).toBe(true);
  });

  it('retries deletions that fail, with backoff, until the store confirms', async () => {
    const user = await signup(ctx);
    const photo = await uploaded(user);
    await ctx.request('DELETE', `/api/v1/photos/${photo.id}`, { token: user.accessToken });
    const broken = {
      ...ctx.deps,
      storage: {
        ...ctx.deps.storage,
        remove: async () => Promise.reject(new Error('store is down')),
      },
    };
    const before = new Date();
    expect(await sweepStorageDeletions(broken)).toEqual({ deleted: 0, failed: 4 });
    // Put off by a backoff of a couple of seconds after the failure.
    const rows = await ctx.deps.sql`
      select attempts, last_error,
        next_attempt_at > ${before} and next_attempt_at <= now() + interval '2 seconds' as later
      from storage_deletions
      where key like ${`%${photo.id}%`}`;
    expect(rows).toHaveLength(4);
    expect(rows.every((r) => r.attempts === 1 && r.last_error === 'store is down' && r.later)).toBe(
      true,
    );
    expect(await exists(variantKey(photo.id, 'large'))).toBe(true);
    // Not due yet: nothing happens (pushed further out, so a slow moment cannot make them
    // due). Once due, the real store deletes them.
    await ctx.deps.sql`
      update storage_deletions set next_attempt_at = now() + interval '1 hour'
      where key like ${`%${photo.id}%`}`;
    expect((await sweepStorageDeletions(ctx.deps)).deleted).toBe(0);
    await ctx.deps
      .sql`update storage_deletions set next_attempt_at = now() where key like ${`%${photo.id}%`}`;
    expect((await sweepStorageDeletions(ctx.deps)).deleted).toBe(4);
    expect(await exists(variantKey(photo.id, 'large'))).toBe(false);
    // Deleting what is already gone is fine: the queue is idempotent.
    await ctx.deps
      .sql`insert into storage_deletions (key) values (${variantKey(photo.id, 'large')})`;
    expect((await sweepStorageDeletions(ctx.deps)).deleted).toBe(1);
  });

  it('serves only variants through the media route', async () => {
    const user = await signup(ctx);
    const photo = await uploaded(user);
    expect(
      (await ctx.app.request(`/media/photos/${photo.id}/large.webp`)).headers.get('cache-control'),
    ).toMatch(/immutable/);
    for (const path of [
      `/media/photos/${photo.id}/original.webp`,
      `/media/uploads/${photo.id}`,
      `/media/photos/${UNKNOWN}/large.webp`,
      '/media/photos/..%2F..%2Fetc/large.webp',
    ]) {
      expect((await ctx.app.request(path)).status, path).toBe(404);
    }
  });
});
