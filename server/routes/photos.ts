import { cacheScopes } from '../../core/cache-scopes.ts';
import type { Deps } from '../../core/deps.ts';
import { conflict, forbidden, notFound } from '../../core/errors.ts';
import { authedRoute, createRouter, errorResponses, jsonBody } from '../../core/http/openapi.ts';
import { IdParam, requireId } from '../../core/http/params.ts';
import { isEmptyPost } from '../../domain/board/post-reads.ts';
import { postOwner } from '../../domain/board/post-writes.ts';
import { createPhotoPipeline } from '../../domain/photos/pipeline.ts';
import { deletePhotos, findPhoto } from '../../domain/photos/queries.ts';
import {
  CreateUploadBody,
  PhotoSchema,
  toPhoto,
  UploadTicketSchema,
} from '../../domain/photos/schema.ts';
import { receiveMultipartFile } from './photo-upload.ts';

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
      body: jsonBody(CreateUploadBody),
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
  const { sql, config } = deps;
  const pipeline = createPhotoPipeline(deps);
  const router = createRouter();

  router.openapi(routes.upload, async (c) => {
    const file = await receiveMultipartFile(c.req.raw, {
      field: 'file',
      maxBytes: config.photos.maxBytes,
    });
    try {
      return c.json(await pipeline.fromFile(c.get('auth').userId, file), 201);
    } finally {
      await file.cleanup();
    }
  });

  router.openapi(routes.createUpload, async (c) => {
    return c.json(await pipeline.startUpload(c.get('auth').userId, c.req.valid('json')), 201);
  });

  router.openapi(routes.complete, async (c) => {
    const id = requireId(c.req.valid('param').id, 'photo');
    return c.json(await pipeline.complete(c.get('auth').userId, id), 200);
  });

  router.openapi(routes.get, async (c) => {
    const row = await findPhoto(sql, requireId(c.req.valid('param').id, 'photo'));
    if (row?.status !== 'ready') throw notFound('photo');
    return c.json(toPhoto(row, config.mediaPublicUrl), 200);
  });

  router.openapi(routes.remove, async (c) => {
    const id = requireId(c.req.valid('param').id, 'photo');
    const postId = await sql.begin(async (tx) => {
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
      return row.postId;
    });
    // The post it was attached to shows one photo fewer.
    if (postId) await deps.cache.invalidate([cacheScopes.post(postId)]);
    return c.body(null, 204);
  });

  return router;
}
