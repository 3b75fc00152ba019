import { z } from '@hono/zod-openapi';
import { cacheScopes } from '../../core/cache-scopes.ts';
import type { Deps } from '../../core/deps.ts';
import { notFound } from '../../core/errors.ts';
import { authedRoute, createRouter, errorResponses, jsonBody } from '../../core/http/openapi.ts';
import { decodeCursor, IdCursor, listOf, PageQuery, page } from '../../core/http/pagination.ts';
import { IdParam, requireId } from '../../core/http/params.ts';
import { nearbyRings } from '../../domain/board/geoprivacy.ts';
import { authorFirstPageView, readPostView } from '../../domain/board/post-cache.ts';
import {
  listFeed,
  listNearby,
  listPostsByAuthor,
  type PostRow,
  toPost,
} from '../../domain/board/post-reads.ts';
import { createPost, editPost, readPost, removePost } from '../../domain/board/posts.ts';
import {
  CreatePostBody,
  NearbyQuery,
  PostSchema,
  UpdatePostBody,
} from '../../domain/board/schema.ts';
import { readProfile } from '../../domain/users/index.ts';

const PostList = listOf(PostSchema, 'PostList');
const NearbyCursor = z.object({ ring: z.number().int().min(0).max(10_000), id: z.uuid() });
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
    path: '/',
    tags: ['board'],
    summary: 'Post a sighting',
    description: 'A repeated `clientId` from the same author returns the first post with 200.',
    request: { body: jsonBody(CreatePostBody) },
    responses: {
      201: postResponse('created'),
      200: postResponse('already created with this clientId'),
      ...errorResponses(400, 401, 413, 415, 503),
    },
  }),
  nearby: authedRoute({
    method: 'get',
    path: '/nearby',
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
    path: '/{id}',
    tags: ['board'],
    summary: 'One post',
    request: { params: IdParam },
    responses: { 200: postResponse('the post'), ...errorResponses(401, 404, 503) },
  }),
  update: authedRoute({
    method: 'patch',
    path: '/{id}',
    tags: ['board'],
    summary: 'Edit a post (author only)',
    request: { params: IdParam, body: jsonBody(UpdatePostBody) },
    responses: {
      200: postResponse('the edited post'),
      ...errorResponses(400, 401, 403, 404, 413, 415, 503),
    },
  }),
  remove: authedRoute({
    method: 'delete',
    path: '/{id}',
    tags: ['board'],
    summary: 'Delete a post (author only), with its comments and likes',
    request: { params: IdParam },
    responses: { 204: { description: 'deleted' }, ...errorResponses(401, 403, 404, 503) },
  }),
  byUser: authedRoute({
    method: 'get',
    path: '/{id}/posts',
    tags: ['board'],
    summary: "A user's posts, newest first",
    request: { params: IdParam, query: PageQuery },
    responses: { 200: listResponse, ...errorResponses(400, 401, 404, 503) },
  }),
  feed: authedRoute({
    method: 'get',
    path: '/',
    tags: ['board'],
    summary: 'Posts by people I follow, newest first',
    description:
      'Keyset-paginated: posts that arrive while paging never shift or repeat later pages.',
    request: { query: PageQuery },
    responses: { 200: listResponse, ...errorResponses(400, 401, 503) },
  }),
};

/** Posts themselves, under /posts. */
export function createPostRoutes(deps: Deps) {
  const { sql } = deps;
  const asPost = postView(deps);
  const router = createRouter();

  router.openapi(routes.create, async (c) => {
    const me = c.get('auth').userId;
    const { row, created } = await createPost(sql, me, c.req.valid('json'));
    if (created)
      await deps.cache.invalidate([
        cacheScopes.post(row.id),
        cacheScopes.authorPosts(me),
        cacheScopes.user(me),
      ]);
    return c.json(asPost(row), created ? 201 : 200);
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
    return c.json(await readPostView(deps, id, c.get('auth').userId), 200);
  });

  router.openapi(routes.update, async (c) => {
    const id = requireId(c.req.valid('param').id, 'post');
    const me = c.get('auth').userId;
    await sql.begin((tx) => editPost(tx, id, me, c.req.valid('json')));
    await deps.cache.invalidate([cacheScopes.post(id)]);
    return c.json(asPost(await readPost(sql, id, me)), 200);
  });

  router.openapi(routes.remove, async (c) => {
    const id = requireId(c.req.valid('param').id, 'post');
    const me = c.get('auth').userId;
    const unread = await sql.begin((tx) => removePost(tx, id, me));
    await deps.cache.invalidate([
      cacheScopes.post(id),
      cacheScopes.authorPosts(me),
      cacheScopes.user(me),
      ...unread.map(cacheScopes.unread),
    ]);
    return c.body(null, 204);
  });

  return router;
}

/** A user's posts, under /users beside the social graph's routes. */
export function createUserPostRoutes(deps: Deps) {
  const asPost = postView(deps);
  const router = createRouter();

  router.openapi(routes.byUser, async (c) => {
    const userId = requireId(c.req.valid('param').id, 'user');
    const { limit, cursor } = c.req.valid('query');
    const before = decodeCursor(cursor, IdCursor)?.id;
    const me = c.get('auth').userId;
    // The first page as another viewer sees it comes from the cache; deeper pages, the
    // author's own list (exact locations), and every page when the cache is off, from
    // PostgreSQL in one statement.
    if (!before && userId !== me && deps.cache.enabled) {
      const posts = await authorFirstPageView(deps, userId, me, limit);
      if (!posts) throw notFound('user');
      return c.json(
        page(
          posts,
          limit,
          (p) => p,
          (p) => ({ id: p.id }),
        ),
        200,
      );
    }
    if (!(await readProfile(deps, userId))) throw notFound('user');
    const rows = await listPostsByAuthor(deps.sql, userId, me, limit, before);
    return c.json(
      page(rows, limit, asPost, (r) => ({ id: r.id })),
      200,
    );
  });

  return router;
}

/** The posts of the people I follow, under /feed. */
export function createFeedRoutes(deps: Deps) {
  const asPost = postView(deps);
  const router = createRouter();

  router.openapi(routes.feed, async (c) => {
    const { limit, cursor } = c.req.valid('query');
    const before = decodeCursor(cursor, IdCursor)?.id;
    const rows = await listFeed(deps.sql, c.get('auth').userId, limit, before);
    return c.json(
      page(rows, limit, asPost, (r) => ({ id: r.id })),
      200,
    );
  });

  return router;
}

/** A stored post as clients see it, its photos at this deployment's media URL. */
const postView = (deps: Pick<Deps, 'config'>) => (row: PostRow) =>
  toPost(row, deps.config.mediaPublicUrl);
