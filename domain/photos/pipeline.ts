import type { z } from '@hono/zod-openapi';
import pLimit from 'p-limit';
import type { Photo } from '../../contract/index.ts';
import type { Deps } from '../../core/deps.ts';
import { AppError, conflict, forbidden, notFound } from '../../core/errors.ts';
import {
  allKeys,
  originalKey,
  processImage,
  VARIANTS,
  type VariantName,
  variantKey,
} from './processing.ts';
import {
  deletePhotos,
  enqueueObjectDeletion,
  findPhoto,
  insertPendingPhoto,
  markReady,
} from './queries.ts';
import { toPhoto, type UploadTicketSchema } from './schema.ts';
import { exceedsPhotoLimit, type SpooledFile, spoolStream } from './spool.ts';

/**
 * A photo's way in: straight from a file (a multipart upload), or through the store
 * (a presigned PUT, then `complete`). Either way the image is decoded, its variants
 * stored, and only then is it ready; the original, which may carry GPS, is never kept.
 *
 * Processing runs inline, bounded: at most PHOTO_CONCURRENCY images decode at once and
 * a short queue waits; past that the answer is 503 rather than a pile-up of memory.
 */
export function createPhotoPipeline(deps: Pick<Deps, 'sql' | 'storage' | 'config'>) {
  const { sql, storage, config } = deps;
  const { photos } = config;
  const limit = pLimit(photos.concurrency);
  const bounded = <T>(work: () => Promise<T>): Promise<T> => {
    if (limit.pendingCount >= photos.concurrency * 4) {
      throw new AppError('unavailable', 'photo processing is busy, try again shortly', {
        retryAfter: 2,
      });
    }
    return limit(work);
  };
  const view = (row: Parameters<typeof toPhoto>[0]) => toPhoto(row, config.mediaPublicUrl);

  const storeVariants = async (photoId: string, variants: Record<VariantName, Buffer>) => {
    await Promise.all(
      (Object.keys(VARIANTS) as VariantName[]).map((name) =>
        storage.put(variantKey(photoId, name), variants[name], 'image/webp'),
      ),
    );
  };

  /** The image of an upload that went through the store, checked against what was declared. */
  const processOriginal = async (id: string, declaredSize: number | null) => {
    const head = await storage.head(originalKey(id));
    if (!head) throw conflict('nothing was uploaded for this photo yet');
    if (exceedsPhotoLimit(head.length, photos.maxBytes)) {
      await storage.remove([originalKey(id)]);
      throw new AppError('payload_too_large', `the upload exceeds ${photos.maxBytes} bytes`);
    }
    if (declaredSize !== null && head.length !== declaredSize) {
      await storage.remove([originalKey(id)]);
      throw new AppError(
        'validation_failed',
        `the upload has ${head.length} bytes, ${declaredSize} were declared; upload it again`,
      );
    }
    return bounded(async () => {
      const original = await storage.get(originalKey(id));
      if (!original) throw conflict('nothing was uploaded for this photo yet');
      const file = await spoolStream(original.body, photos.maxBytes);
      try {
        return await processImage(file.path, photos.maxPixels);
      } finally {
        await file.cleanup();
      }
    });
  };

  return {
    /** A photo from an uploaded file: processed, stored, ready. */
    async fromFile(ownerId: string, file: SpooledFile): Promise<Photo> {
      const image = await bounded(() => processImage(file.path, photos.maxPixels));
      const row = await insertPendingPhoto(sql, ownerId);
      try {
        await storeVariants(row.id, image.variants);
        return view(await markReady(sql, row.id, image.width, image.height));
      } catch (err) {
        await deletePhotos(sql, [row.id]).catch(() => {});
        throw err;
      }
    },

    /** A pending photo and the presigned PUT that uploads its original. */
    async startUpload(
      ownerId: string,
      declared: { contentType: string; size: number },
    ): Promise<z.infer<typeof UploadTicketSchema>> {
      const { contentType, size } = declared;
      if (exceedsPhotoLimit(size, photos.maxBytes))
        throw new AppError('payload_too_large', `size exceeds ${photos.maxBytes} bytes`);
      const row = await insertPendingPhoto(sql, ownerId, { type: contentType, size });
      const uploadUrl = await storage.presignPut(
        originalKey(row.id),
        contentType,
        size,
        photos.uploadUrlTtlMs,
      );
      return {
        photoId: row.id,
        uploadUrl,
        // Both are signed: a PUT of another type or size is refused by the store.
        headers: { 'content-type': contentType, 'content-length': String(size) },
        expiresAt: new Date(Date.now() + photos.uploadUrlTtlMs).toISOString(),
      };
    },

    /**
     * Processes the uploaded original of the owner's pending photo. No transaction is
     * held while the original downloads and decodes (that would tie up a database
     * connection for seconds). Completing is idempotent instead: concurrent completes of
     * one photo may both process it, and whichever marks it ready first wins.
     */
    async complete(ownerId: string, id: string): Promise<Photo> {
      const row = await findPhoto(sql, id);
      if (!row) throw notFound('photo');
      if (row.ownerId !== ownerId) throw forbidden('not your photo');
      if (row.status === 'ready') return view(row);
      const image = await processOriginal(id, row.declaredSize);
      await storeVariants(id, image.variants);
      const ready = await sql.begin(async (tx) => {
        const marked = await markReady(tx, id, image.width, image.height, { ifPending: true });
        // The original may carry GPS: it goes as soon as the variants exist.
        if (marked) await enqueueObjectDeletion(tx, [originalKey(id)]);
        return marked;
      });
      if (ready) return view(ready);
      // Another complete got there first, or the photo was deleted meanwhile (then the
      // variants just written go the way of its other objects).
      const now = await findPhoto(sql, id);
      if (now?.status === 'ready') return view(now);
      await enqueueObjectDeletion(sql, allKeys(id));
      throw notFound('photo');
    },
  };
}
