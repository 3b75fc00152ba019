import { z } from '@hono/zod-openapi';
import { v7 as uuidv7 } from 'uuid';
import type { TxSql } from '../../core/db.ts';
import type { Deps } from '../../core/deps.ts';
import { AppError, forbidden, notFound } from '../../core/errors.ts';
import { authedRoute, createRouter, errorResponses } from '../../core/http/openapi.ts';
import { decodeCursor, listOf, PageQuery, page } from '../../core/http/pagination.ts';
import { IdParam, isId, requireId } from '../../core/http/params.ts';
import { geoFor, nearbyRings } from '../../domain/board/geoprivacy.ts';
import {
  exactLocation,
  findPost,
  isEmptyPost,
  listFeed,
  listNearby,
  listPostsByAuthor,
  type PostRow,
  toPost,
} from '../../domain/board/post-reads.ts';
import {
  createPostAtOnce,
  deletePost,
  findByClientId,
  insertPost,
  postOwner,
  updatePost,
} from '../../domain/board/post-writes.ts';
import {
  CreatePostBody,
  NearbyQuery,
  PostSchema,
  UpdatePostBody,
} from '../../domain/board/schema.ts';
import { recordEvent } from '../../domain/events/outbox.ts';
import { attachPhotos, replacePostPhotos } from '../../domain/photos/queries.ts';
import { findActiveUser } from '../../domain/users/queries.ts';

const PostList = listOf(PostSchema, 'PostList');
const IdCursor = z.object({ id: z.uuid() });
const NearbyCursor = z.object({ ring: z.number().int().min(0).max(10_000), id: z.uuid() });
const json = <T>(schema: T) => ({ content: { 'application/json': { schema } }, required: true });
const postResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: PostSchema } },
});
const listResponse = {
  description: 'a page of posts',
  content: { 'application/json': { schema: PostList } },
};

const routes = {
  create: authedRoute({
    method: 'post',
    path: '/posts',
    tags: ['board'],
    summary: 'Post a sighting',
    description: 'A repeated `clientId` from the same author returns the first post with 200.',
    request: { body: json(CreatePostBody) },
    responses: {
      201: postResponse('created'),
      200: postResponse('already created with this clientId'),
      ...errorResponses(400, 401, 413, 415, 503),
    },
  }),
  nearby: authedRoute({
    method: 'get',
    path: '/posts/nearby',
    tags: ['board'],
    summary: 'Posts near a point, nearest cells first',
    description:
      'Rings of H3 cells around the point, nearest ring first and newest first within a ring. ' +
      'Obscured posts count at their public (coarse) position; private posts never appear.',
    request: { query: NearbyQuery.extend(PageQuery.shape) },
    responses: { 200: listResponse, ...errorResponses(400, 401, 503) },
  }),
  get: authedRoute({
    method: 'get',
    path: '/posts/{id}',
    tags: ['board'],
    summary: 'One post',
    request: { params: IdParam },
    responses: { 200: postResponse('the post'), ...errorResponses(401, 404, 503) },
  }),
  update: authedRoute({
    method: 'patch',
    path: '/posts/{id}',
    tags: ['board'],
    summary: 'Edit a post (author only)',
    request: { params: IdParam, body: json(UpdatePostBody) },
    responses: {
      200: postResponse('the edited post'),
      ...errorResponses(400, 401, 403, 404, 413, 415, 503),
    },
  }),
  remove: authedRoute({
    method: 'delete',
    path: '/posts/{id}',
    tags: ['board'],
    summary: 'Delete a post (author only), with its comments and likes',
    request: { params: IdParam },
    responses: { 204: { description: 'deleted' }, ...errorResponses(401, 403, 404, 503) },
  }),
  byUser: authedRoute({
    method: 'get',
    path: '/users/{id}/posts',
    tags: ['board'],
    summary: "A user's posts, newest first",
    request: { params: IdParam, query: PageQuery },
    responses: { 200: listResponse, ...errorResponses(400, 401, 404, 503) },
  }),
  feed: authedRoute({
    method: 'get',
    path: '/feed',
    tags: ['board'],
    summary: 'Posts by people I follow, newest first',
    description:
      'Keyset-paginated: posts that arrive while paging never shift or repeat later pages.',
    request: { query: PageQuery },
    responses: { 200: listResponse, ...errorResponses(400, 401, 503) },
  }),
};

/** Attaches photos or fails the whole transaction, naming the ids that cannot be attached. */
async function attachOrFail(tx: TxSql, postId: string, ownerId: string, given: string[]) {
  const photoIds = given.map((id) => id.toLowerCase());
  const invalid = photoIds.filter((id) => !isId(id));
  const { rejected } = await attachPhotos(tx, postId, ownerId, photoIds.filter(isId));
  rejectUnattached([...invalid, ...rejected]);
}

function rejectUnattached(bad: string[]) {
  if (bad.length > 0) {
    throw new AppError('validation_failed', `photoIds: ${bad.join(', ')} cannot be attached`, {
      details: {
        in: 'json',
        fields: [
          {
            field: 'photoIds',
            message:
              'each photo must be one of your own processed photos, not attached to another post',
          },
        ],
        photoIds: bad,
      },
    });
  }
}

export function createPostRoutes(deps: Deps) {
  const { sql } = deps;
  const router = createRouter();

  const asPost = (row: PostRow) => toPost(row, deps.config.mediaPublicUrl);
  const readPost = async (id: string, viewerId: string) => {
    const row = await findPost(sql, id, viewerId);
    if (!row) throw notFound('post');
    return asPost(row);
  };

  router.openapi(routes.create, async (c) => {
    const input = c.req.valid('json');
    const me = c.get('auth').userId;
    const geo = geoFor(input.location, input.geoprivacy);
    const id = uuidv7();
    const createdAt = new Date();
    const photoIds = input.photoIds.map((p) => p.toLowerCase());
    const event = {
      type: 'post.created',
      postId: id,
      authorId: me,
      kind: input.kind,
      geoprivacy: input.geoprivacy,
      publicCell: geo.pubCell,
      createdAt: createdAt.toISOString(),
    } as const;
    if (photoIds.length === 0) {
      // Most posts: one statement, one round trip.
      const row = await createPostAtOnce(sql, { id, createdAt, authorId: me, input, geo }, event);
      if (row) return c.json(asPost(row), 201);
      // A retry of a post that exists: answer with that one, change nothing.
      const first = await findPost(sql, await findByClientId(sql, me, input.clientId!), me);
      return c.json(asPost(first!), 200);
    }
    const result = await sql.begin(async (tx) => {
      // One round trip: insert, count, event, photos and the read-back, pipelined in order.
      const [created, attached, row] = await Promise.all([
        insertPost(tx, { id, createdAt, authorId: me, input, geo }, event),
        attachPhotos(tx, id, me, photoIds.filter(isId)),
        findPost(tx, id, me),
      ]);
      if (!created) {
        // A retry of a post that exists: answer with that one, change nothing.
        const first = await findPost(tx, await findByClientId(tx, me, input.clientId!), me);
        return { created, row: first! };
      }
      rejectUnattached([...photoIds.filter((p) => !isId(p)), ...attached.rejected]);
      return { created, row: row! };
    });
    return c.json(asPost(result.row), result.created ? 201 : 200);
  });

  router.openapi(routes.nearby, async (c) => {
    const q = c.req.valid('query');
    const after = decodeCursor(q.cursor, NearbyCursor);
    const { resolution, rings } = nearbyRings(q.lat, q.lng, q.radiusKm);
    const rows = await listNearby(sql, {
      viewerId: c.get('auth').userId,
      lat: q.lat,
      lng: q.lng,
      radiusKm: q.radiusKm,
      resolution,
      rings,
      kind: q.kind,
      limit: q.limit,
      after,
    });
    return c.json(
      page(rows, q.limit, asPost, (r) => ({ ring: r.ring, id: r.id })),
      200,
    );
  });

  router.openapi(routes.get, async (c) => {
    const id = requireId(c.req.valid('param').id, 'post');
    return c.json(await readPost(id, c.get('auth').userId), 200);
  });

  router.openapi(routes.update, async (c) => {
    const id = requireId(c.req.valid('param').id, 'post');
    const changes = c.req.valid('json');
    const me = c.get('auth').userId;
    await sql.begin(async (tx) => {
      const owner = await postOwner(tx, id, true);
      if (!owner) throw notFound('post');
      if (owner.authorId !== me) throw forbidden('only the author can edit a post');
      const locationChanged = changes.location !== undefined || changes.geoprivacy !== undefined;
      const geo = locationChanged
        ? geoFor(
            changes.location === undefined ? await exactLocation(tx, id) : changes.location,
            changes.geoprivacy ?? owner.geoprivacy,
          )
        : undefined;
      const updated = await updatePost(tx, id, changes, geo);
      if (changes.photoIds) {
        const photoIds = changes.photoIds.map((p) => p.toLowerCase());
        rejectUnattached(photoIds.filter((p) => !isId(p)));
        await replacePostPhotos(tx, id, photoIds);
        await attachOrFail(tx, id, me, photoIds);
        if (await isEmptyPost(tx, id)) {
          throw new AppError('validation_failed', 'a post needs a body or at least one photo', {
            details: {
              in: 'json',
              fields: [{ field: 'photoIds', message: 'a post needs a body or at least one photo' }],
            },
          });
        }
      }
      await recordEvent(tx, {
        type: 'post.updated',
        postId: id,
        authorId: me,
        kind: updated.kind,
        geoprivacy: updated.geoprivacy,
        publicCell: updated.pubCell,
        createdAt: updated.createdAt.toISOString(),
      });
    });
    return c.json(await readPost(id, me), 200);
  });

  router.openapi(routes.remove, async (c) => {
    const id = requireId(c.req.valid('param').id, 'post');
    const me = c.get('auth').userId;
    await sql.begin(async (tx) => {
      const owner = await postOwner(tx, id, true);
      if (!owner) throw notFound('post');
      if (owner.authorId !== me) throw forbidden('only the author can delete a post');
      await deletePost(tx, id, me);
      await recordEvent(tx, {
        type: 'post.deleted',
        postId: id,
        authorId: me,
        publicCell: owner.pubCell,
      });
    });
    return c.body(null, 204);
  });

  router.openapi(routes.byUser, async (c) => {
    const userId = requireId(c.req.valid('param').id, 'user');
    const { limit, cursor } = c.req.valid('query');
    const before = decodeCursor(cursor, IdCursor)?.id;
    if (!(await findActiveUser(sql, userId))) throw notFound('user');
    const rows = await listPostsByAuthor(sql, userId, c.get('auth').userId, limit, before);
    return c.json(
      page(rows, limit, asPost, (r) => ({ id: r.id })),
      200,
    );
  });

  router.openapi(routes.feed, async (c) => {
    const { limit, cursor } = c.req.valid('query');
    const before = decodeCursor(cursor, IdCursor)?.id;
    const rows = await listFeed(sql, c.get('auth').userId, limit, before);
    return c.json(
      page(rows, limit, asPost, (r) => ({ id: r.id })),
      200,
    );
  });

  return router;
}
