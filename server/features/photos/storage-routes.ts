import { Readable, Transform } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import type { Deps } from '../../../core/deps.ts';
import { isId } from '../../../core/http/params.ts';
import type { AppEnv } from '../../../core/http/types.ts';
import { originalKey } from './processing.ts';
import { findPhoto } from './queries.ts';
import { exceedsPhotoLimit } from './upload.ts';

const escapeXml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** Errors as S3 answers them, so S3 clients (and browsers' upload code) read them as usual. */
function s3Error(status: number, code: string, message: string): Response {
  return new Response(
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error>`,
    { status, headers: { 'content-type': 'application/xml' } },
  );
}

/**
 * `/storage/<bucket>/uploads/<photoId>`: the embedded store as clients see it. One thing
 * only is allowed: the presigned PUT of a pending photo's original, exactly as this
 * server signed it (method, key, content type, size, before expiry), checked with the
 * SDK's signer before a byte is written. Everything else (listing, reading, any other
 * key, deleting, unsigned or edited requests) is 403: the store itself listens on no
 * port, and originals (with their EXIF GPS) are never readable by anyone but the server.
 */
export function createStorageRoutes(deps: Deps) {
  const { storage, sql, config } = deps;
  const routes = new Hono<AppEnv>();
  if (config.corsOrigins.length > 0) {
    routes.use(
      '*',
      cors({
        origin: config.corsOrigins,
        allowMethods: ['PUT'],
        allowHeaders: ['content-type'],
        maxAge: 600,
      }),
    );
  }

  routes.put('/:bucket/uploads/:id', async (c) => {
    const id = c.req.param('id');
    const verify = storage.verifyPresignedPut;
    if (
      !verify ||
      c.req.param('bucket') !== storage.bucket ||
      !isId(id) ||
      id !== id.toLowerCase()
    ) {
      return s3Error(403, 'AccessDenied', 'Access Denied');
    }
    const contentType = c.req.header('content-type');
    const check = await verify({
      key: originalKey(id),
      query: new URL(c.req.url).searchParams,
      contentType,
      contentLength: c.req.header('content-length'),
    });
    if (!check.ok) return s3Error(check.status, check.code, check.message);
    if (exceedsPhotoLimit(check.length, config.photos.maxBytes)) {
      return s3Error(400, 'EntityTooLarge', `the upload exceeds ${config.photos.maxBytes} bytes`);
    }
    // The signature says this server asked for this upload; the row says it still wants it.
    const row = await findPhoto(sql, id);
    if (row?.status !== 'pending') {
      return s3Error(403, 'AccessDenied', 'this upload is no longer expected');
    }
    if (row.declaredType !== contentType || row.declaredSize !== check.length) {
      return s3Error(403, 'SignatureDoesNotMatch', 'the upload is not the one declared');
    }
    const raw = c.req.raw.body;
    if (!raw && check.length > 0) return s3Error(400, 'IncompleteBody', 'the body is missing');
    let received = 0;
    const counted = new Transform({
      transform(chunk: Buffer, _enc, done) {
        received += chunk.length;
        if (received > check.length) done(new Error('the body is longer than its Content-Length'));
        else done(null, chunk);
      },
    });
    let body: Readable = Readable.from([]);
    if (raw) {
      const source = Readable.fromWeb(raw as unknown as WebReadableStream);
      source.on('error', (err) => counted.destroy(err));
      body = source.pipe(counted);
    }
    try {
      await storage.put(originalKey(id), body, row.declaredType, check.length);
    } catch (err) {
      if (received !== check.length) {
        return s3Error(400, 'IncompleteBody', 'the body does not match its Content-Length');
      }
      throw err;
    }
    return c.body(null, 200);
  });

  const denied = () => s3Error(403, 'AccessDenied', 'Access Denied');
  routes.all('/', denied);
  routes.all('*', denied);
  return routes;
}
