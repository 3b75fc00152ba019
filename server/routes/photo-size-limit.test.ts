import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { signup } from '../../test/helpers/builders.ts';
import { useTestContext } from '../../test/helpers/context.ts';
import { multipart } from '../../test/helpers/images.ts';

/** The default limit (PHOTO_MAX_BYTES unset): 10 MiB, the same for both upload paths. */
const ctx = useTestContext();
const LIMIT = 10 * 1024 * 1024;

/** A real JPEG padded after its end marker to exactly `size` bytes (decoders stop at EOI). */
async function jpegOfSize(size: number): Promise<Buffer> {
  const jpeg = await sharp({
    create: { width: 64, height: 48, channels: 3, background: { r: 90, g: 60, b: 30 } },
  })
    .jpeg()
    .toBuffer();
  return Buffer.concat([jpeg, Buffer.alloc(size - jpeg.length)]);
}

async function direct(token: string, bytes: Buffer) {
  const form = multipart('file', 'big.jpg', 'image/jpeg', bytes);
  return ctx.request('POST', '/api/v1/photos', {
    token,
    raw: form.body,
    headers: { 'content-type': form.contentType },
  });
}

async function presigned(token: string, bytes: Buffer, declared = bytes.length) {
  const ticket = await ctx.request('POST', '/api/v1/photos/uploads', {
    token,
    body: { contentType: 'image/jpeg', size: declared },
  });
  if (ticket.status !== 201) return ticket;
  const put = await fetch(ticket.body.uploadUrl, {
    method: 'PUT',
    body: new Uint8Array(bytes),
    headers: { 'content-type': 'image/jpeg' },
  });
  expect(put.status).toBe(200);
  return ctx.request('POST', `/api/v1/photos/${ticket.body.photoId}/complete`, { token });
}

describe('one size limit for both upload paths', () => {
  it('is the default PHOTO_MAX_BYTES of 10 MiB', () => {
    expect(ctx.deps.config.photos.maxBytes).toBe(LIMIT);
  });

  it('accepts a photo of exactly 10 MiB both ways', async () => {
    const user = await signup(ctx);
    const bytes = await jpegOfSize(LIMIT);
    const viaForm = await direct(user.accessToken, bytes);
    expect(viaForm.status, viaForm.text).toBe(201);
    const viaUrl = await presigned(user.accessToken, bytes);
    expect(viaUrl.status, viaUrl.text).toBe(200);
  });

  it('refuses 10 MiB + 1 byte both ways', async () => {
    const user = await signup(ctx);
    const bytes = await jpegOfSize(LIMIT + 1);
    expect((await direct(user.accessToken, bytes)).status).toBe(413);
    // Declared honestly: refused before any URL is given.
    expect((await presigned(user.accessToken, bytes)).status).toBe(413);
    // Declared as 10 MiB and sent to a store that does not check sizes: refused on completion.
    expect((await presigned(user.accessToken, bytes, LIMIT)).status).toBe(413);
  });
});
