import { pipeline, Readable, Transform } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import type { Deps } from '../../core/deps.ts';
import { isId } from '../../core/http/params.ts';
import type { AppEnv } from '../../core/http/types.ts';
import { originalKey } from '../../domain/photos/processing.ts';
import { enqueueObjectDeletion, findPhoto } from '../../domain/photos/queries.ts';
import { exceedsPhotoLimit } from '../../domain/photos/spool.ts';

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
  const { storage, sql, config, logger } = deps;
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
    const key = originalKey(id);
    let received = 0;
    // Set only when the client's body failed (cut off, short or long), not the store.
    let bodyFailed = false;
    const counted = new Transform({
      transform(chunk: Buffer, _enc, done) {
        received += chunk.length;
        if (received > check.length) {
          bodyFailed = true;
          done(new Error('the body is longer than its Content-Length'));
        } else done(null, chunk);
      },
      flush(done) {
        if (received === check.length) return done();
        bodyFailed = true;
        done(new Error('the body is shorter than its Content-Length'));
      },
    });
    // Whatever fails on the way (a client cutting the upload off mid-body), the error
    // is handled here, never thrown, and the request to the store ends with it.
    const abort = new AbortController();
    let body: Readable = Readable.from([]);
    if (raw) {
      const source = Readable.fromWeb(raw as unknown as WebReadableStream);
      // The client's stream failing first (and not torn down after the store failed).
      source.once('error', () => {
        if (!counted.destroyed) bodyFailed = true;
      });
      body = pipeline(source, counted, (err) => {
        if (err) abort.abort(err);
      });
    }
    try {
      await storage.put(key, body, row.declaredType, check.length, abort.signal);
    } catch (err) {
      body.destroy();
      if (bodyFailed) {
        return s3Error(400, 'IncompleteBody', 'the body does not match its Content-Length');
      }
      if ((err as Error).name === 'TimeoutError' && received < check.length) {
        // The client stopped sending: the store's request went idle and was dropped.
        return s3Error(400, 'RequestTimeout', 'the body stopped coming before its end');
      }
      logger.error({ err, photoId: id }, 'the embedded store refused an upload');
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      return status !== undefined && status < 500
        ? s3Error(500, 'InternalError', 'the upload could not be stored')
        : s3Error(503, 'ServiceUnavailable', 'the store is not available; try again');
    }
    // Completed or deleted while the body came in: what was just written is not wanted
    // (an original, with its EXIF GPS, that nothing would remove otherwise).
    const after = await findPhoto(sql, id);
    if (after?.status !== 'pending') {
      await enqueueObjectDeletion(sql, [key]);
      return s3Error(403, 'AccessDenied', 'this upload is no longer expected');
    }
    return c.body(null, 200);
  });

  const denied = () => s3Error(403, 'AccessDenied', 'Access Denied');
  routes.all('/', denied);
  routes.all('*', denied);
  return routes;
}
