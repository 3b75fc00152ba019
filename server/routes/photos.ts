import pLimit from 'p-limit';
import type { Deps } from '../../core/deps.ts';
import { AppError, conflict, forbidden, notFound } from '../../core/errors.ts';
import { authedRoute, createRouter, errorResponses } from '../../core/http/openapi.ts';
import { IdParam, requireId } from '../../core/http/params.ts';
import { isEmptyPost } from '../../domain/board/post-reads.ts';
import { postOwner } from '../../domain/board/post-writes.ts';
import {
  allKeys,
  originalKey,
  processImage,
  VARIANTS,
  type VariantName,
  variantKey,
} from '../../domain/photos/processing.ts';
import {
  deletePhotos,
  enqueueObjectDeletion,
  findPhoto,
  insertPendingPhoto,
  markReady,
} from '../../domain/photos/queries.ts';
import {
  CreateUploadBody,
  PhotoSchema,
  toPhoto,
  UploadTicketSchema,
} from '../../domain/photos/schema.ts';
import { exceedsPhotoLimit, receiveMultipartFile, spoolStream } from './photo-upload.ts';

const photoResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: PhotoSchema } },
});

const routes = {
  upload: authedRoute({
    method: 'post',
    path: '/',
    tags: ['photos'],
    summary: 'Upload a photo (multipart field `file`; JPEG, PNG or WebP)',
    description:
      'The type is judged by the bytes. Orientation is applied and all metadata (EXIF GPS above ' +
      'all) is stripped; the stored variants are WebP: `thumb` 256×256 square, `small` and ' +
      '`large` within 640 and 1600 px.',
    request: {
      body: {
        required: true,
        content: {
          'multipart/form-data': {
            schema: {
              type: 'object',
              properties: { file: { type: 'string', format: 'binary' } },
              required: ['file'],
            },
          },
        },
      },
    },
    responses: { 201: photoResponse('stored'), ...errorResponses(400, 401, 413, 415, 503) },
  }),
  createUpload: authedRoute({
    method: 'post',
    path: '/uploads',
    tags: ['photos'],
    summary: 'Get a presigned URL to PUT a photo straight to storage',
    description:
      'PUT the bytes to `uploadUrl` with `headers`, then call `/photos/{photoId}/complete`.',
    request: {
      body: { content: { 'application/json': { schema: CreateUploadBody } }, required: true },
    },
    responses: {
      201: {
        description: 'upload ticket',
        content: { 'application/json': { schema: UploadTicketSchema } },
      },
      ...errorResponses(400, 401, 413, 415, 503),
    },
  }),
  complete: authedRoute({
    method: 'post',
    path: '/{id}/complete',
    tags: ['photos'],
    summary: 'Process a presigned upload into a photo',
    description: 'Idempotent: completing a processed photo returns it again.',
    request: { params: IdParam },
    responses: {
      200: photoResponse('processed'),
      ...errorResponses(400, 401, 403, 404, 409, 413, 415, 503),
    },
  }),
  get: authedRoute({
    method: 'get',
    path: '/{id}',
    tags: ['photos'],
    summary: 'A processed photo',
    request: { params: IdParam },
    responses: { 200: photoResponse('the photo'), ...errorResponses(401, 404, 503) },
  }),
  remove: authedRoute({
    method: 'delete',
    path: '/{id}',
    tags: ['photos'],
    summary: 'Delete a photo (its owner), also from the post it is on',
    request: { params: IdParam },
    responses: { 204: { description: 'deleted' }, ...errorResponses(401, 403, 404, 409, 503) },
  }),
};

export function createPhotoRoutes(deps: Deps) {
  const { sql, storage, config } = deps;
  const { photos } = config;
  const router = createRouter();

  // Processing runs inline, bounded: at most `concurrency` images decode at once and
  // a short queue waits; past that the server answers 503 rather than pile up memory.
  const limit = pLimit(photos.concurrency);
  const bounded = <T>(work: () => Promise<T>): Promise<T> => {
    if (limit.pendingCount >= photos.concurrency * 4) {
      throw new AppError('unavailable', 'photo processing is busy, try again shortly', {
        retryAfter: 2,
      });
    }
    return limit(work);
  };

  const storeVariants = async (photoId: string, variants: Record<VariantName, Buffer>) => {
    await Promise.all(
      (Object.keys(VARIANTS) as VariantName[]).map((name) =>
        storage.put(variantKey(photoId, name), variants[name], 'image/webp'),
      ),
    );
  };

  router.openapi(routes.upload, async (c) => {
    const me = c.get('auth').userId;
    const file = await receiveMultipartFile(c.req.raw, {
      field: 'file',
      maxBytes: photos.maxBytes,
    });
    try {
      const image = await bounded(() => processImage(file.path, photos.maxPixels));
      const row = await insertPendingPhoto(sql, me);
      try {
        await storeVariants(row.id, image.variants);
        const ready = await markReady(sql, row.id, image.width, image.height);
        return c.json(toPhoto(ready, config.mediaPublicUrl), 201);
      } catch (err) {
        await deletePhotos(sql, [row.id]).catch(() => {});
        throw err;
      }
    } finally {
      await file.cleanup();
    }
  });

  router.openapi(routes.createUpload, async (c) => {
    const { contentType, size } = c.req.valid('json');
    if (exceedsPhotoLimit(size, photos.maxBytes))
      throw new AppError('payload_too_large', `size exceeds ${photos.maxBytes} bytes`);
    const row = await insertPendingPhoto(sql, c.get('auth').userId, { type: contentType, size });
    const uploadUrl = await storage.presignPut(
      originalKey(row.id),
      contentType,
      size,
      photos.uploadUrlTtlMs,
    );
    return c.json(
      {
        photoId: row.id,
        uploadUrl,
        // Both are signed: a PUT of another type or size is refused by the store.
        headers: { 'content-type': contentType, 'content-length': String(size) },
        expiresAt: new Date(Date.now() + photos.uploadUrlTtlMs).toISOString(),
      },
      201,
    );
  });

  router.openapi(routes.complete, async (c) => {
    const id = requireId(c.req.valid('param').id, 'photo');
    const me = c.get('auth').userId;
    // No transaction is held while the original downloads and decodes (that would tie up
    // a database connection for seconds). Completing is idempotent instead: concurrent
    // completes of one photo may both process it, and whichever marks it ready first wins.
    const row = await findPhoto(sql, id);
    if (!row) throw notFound('photo');
    if (row.ownerId !== me) throw forbidden('not your photo');
    if (row.status === 'ready') return c.json(toPhoto(row, config.mediaPublicUrl), 200);
    const head = await storage.head(originalKey(id));
    if (!head) throw conflict('nothing was uploaded for this photo yet');
    if (exceedsPhotoLimit(head.length, photos.maxBytes)) {
      await storage.remove([originalKey(id)]);
      throw new AppError('payload_too_large', `the upload exceeds ${photos.maxBytes} bytes`);
    }
    if (row.declaredSize !== null && head.length !== row.declaredSize) {
      await storage.remove([originalKey(id)]);
      throw new AppError(
        'validation_failed',
        `the upload has ${head.length} bytes, ${row.declaredSize} were declared; upload it again`,
      );
    }
    const image = await bounded(async () => {
      const original = await storage.get(originalKey(id));
      if (!original) throw conflict('nothing was uploaded for this photo yet');
      const file = await spoolStream(original.body, photos.maxBytes);
      try {
        return await processImage(file.path, photos.maxPixels);
      } finally {
        await file.cleanup();
      }
    });
    await storeVariants(id, image.variants);
    const ready = await sql.begin(async (tx) => {
      const marked = await markReady(tx, id, image.width, image.height, { ifPending: true });
      // The original may carry GPS: it goes as soon as the variants exist.
      if (marked) await enqueueObjectDeletion(tx, [originalKey(id)]);
      return marked;
    });
    if (ready) return c.json(toPhoto(ready, config.mediaPublicUrl), 200);
    // Another complete got there first, or the photo was deleted meanwhile (then the
    // variants just written go the way of its other objects).
    const now = await findPhoto(sql, id);
    if (now?.status === 'ready') return c.json(toPhoto(now, config.mediaPublicUrl), 200);
    await enqueueObjectDeletion(sql, allKeys(id));
    throw notFound('photo');
  });

  router.openapi(routes.get, async (c) => {
    const row = await findPhoto(sql, requireId(c.req.valid('param').id, 'photo'));
    if (row?.status !== 'ready') throw notFound('photo');
    return c.json(toPhoto(row, config.mediaPublicUrl), 200);
  });

  router.openapi(routes.remove, async (c) => {
    const id = requireId(c.req.valid('param').id, 'photo');
    await sql.begin(async (tx) => {
      const seen = await findPhoto(tx, id);
      if (!seen) throw notFound('photo');
      if (seen.ownerId !== c.get('auth').userId) throw forbidden('not your photo');
      // The post first, then the photo: the order in which an edit of the post locks them.
      // (The lock in a statement of its own: the check after it then sees what a
      // concurrent deletion that held the lock committed.)
      if (seen.postId) {
        await postOwner(tx, seen.postId, true);
        if (await isEmptyPost(tx, seen.postId, { without: id })) {
          throw conflict(
            'this is the only photo of a post without text: delete the post, or give it a body first',
          );
        }
      }
      const row = await findPhoto(tx, id, true);
      if (!row) throw notFound('photo');
      if (row.postId !== seen.postId) throw conflict('the photo was just attached; try again');
      await deletePhotos(tx, [id]);
    });
    return c.body(null, 204);
  });

  return router;
}
