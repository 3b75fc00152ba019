import { z } from '@hono/zod-openapi';
import { v7 as uuidv7 } from 'uuid';
import type { Sql, TxSql } from '../../core/db.ts';
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
    path: '/',
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
    request: { params: IdParam, body: json(UpdatePostBody) },
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
    const { row, created } = await createPost(sql, c.get('auth').userId, c.req.valid('json'));
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
    return c.json(asPost(await readPost(sql, id, c.get('auth').userId)), 200);
  });

  router.openapi(routes.update, async (c) => {
    const id = requireId(c.req.valid('param').id, 'post');
    const me = c.get('auth').userId;
    await sql.begin((tx) => editPost(tx, id, me, c.req.valid('json')));
    return c.json(asPost(await readPost(sql, id, me)), 200);
  });

  router.openapi(routes.remove, async (c) => {
    const id = requireId(c.req.valid('param').id, 'post');
    await sql.begin((tx) => removePost(tx, id, c.get('auth').userId));
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
    if (!(await findActiveUser(deps.sql, userId))) throw notFound('user');
    const rows = await listPostsByAuthor(deps.sql, userId, c.get('auth').userId, limit, before);
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

async function readPost(sql: Sql, id: string, viewerId: string): Promise<PostRow> {
  const row = await findPost(sql, id, viewerId);
  if (!row) throw notFound('post');
  return row;
}

// What the routes do to posts. Not HTTP: candidates for domain/board/.

type NewPostInput = z.infer<typeof CreatePostBody>;
type PostChanges = z.infer<typeof UpdatePostBody>;
type Owner = NonNullable<Awaited<ReturnType<typeof postOwner>>>;

function newPost(authorId: string, input: NewPostInput) {
  const geo = geoFor(input.location, input.geoprivacy);
  return { id: uuidv7(), createdAt: new Date(), authorId, input, geo };
}

function postCreated(post: ReturnType<typeof newPost>) {
  return {
    type: 'post.created',
    postId: post.id,
    authorId: post.authorId,
    kind: post.input.kind,
    geoprivacy: post.input.geoprivacy,
    publicCell: post.geo.pubCell,
    createdAt: post.createdAt.toISOString(),
  } as const;
}

/**
 * Creates a post with its photos and its post.created event. A retry with a `clientId`
 * already used by the author changes nothing and gives back the first post (`created`
 * false).
 */
async function createPost(
  sql: Sql,
  authorId: string,
  input: NewPostInput,
): Promise<{ row: PostRow; created: boolean }> {
  const post = newPost(authorId, input);
  const event = postCreated(post);
  const photoIds = input.photoIds.map((p) => p.toLowerCase());
  if (photoIds.length === 0) {
    // Most posts: one statement, one round trip.
    const row = await createPostAtOnce(sql, post, event);
    return row ? { row, created: true } : { row: await firstOfRetry(sql, post), created: false };
  }
  return sql.begin(async (tx) => {
    // One round trip: insert, count, event, photos and the read-back, pipelined in order.
    const [created, attached, row] = await Promise.all([
      insertPost(tx, post, event),
      attachPhotos(tx, post.id, authorId, photoIds.filter(isId)),
      findPost(tx, post.id, authorId),
    ]);
    if (!created) return { row: await firstOfRetry(tx, post), created };
    rejectUnattached([...photoIds.filter((p) => !isId(p)), ...attached.rejected]);
    return { row: row!, created };
  });
}

/** The post an earlier request with this one's `clientId` created. */
async function firstOfRetry(sql: Sql | TxSql, post: ReturnType<typeof newPost>): Promise<PostRow> {
  const id = await findByClientId(sql, post.authorId, post.input.clientId!);
  return (await findPost(sql, id, post.authorId))!;
}

/** Applies the author's edit: fields, location and its cells, photos, and post.updated. */
async function editPost(tx: TxSql, id: string, me: string, changes: PostChanges) {
  const owner = await lockOwnPost(tx, id, me, 'edit');
  const updated = await updatePost(tx, id, changes, await changedGeo(tx, id, owner, changes));
  if (changes.photoIds) await replacePhotos(tx, id, me, changes.photoIds);
  await recordEvent(tx, {
    type: 'post.updated',
    postId: id,
    authorId: me,
    kind: updated.kind,
    geoprivacy: updated.geoprivacy,
    publicCell: updated.pubCell,
    createdAt: updated.createdAt.toISOString(),
  });
}

/** Deletes the author's post (its comments and likes with it) and says so with post.deleted. */
async function removePost(tx: TxSql, id: string, me: string) {
  const owner = await lockOwnPost(tx, id, me, 'delete');
  await deletePost(tx, id, me);
  await recordEvent(tx, {
    type: 'post.deleted',
    postId: id,
    authorId: me,
    publicCell: owner.pubCell,
  });
}

/** Locks the post for the rest of the transaction, and lets only its author go on. */
async function lockOwnPost(tx: TxSql, id: string, me: string, action: 'edit' | 'delete') {
  const owner = await postOwner(tx, id, true);
  if (!owner) throw notFound('post');
  if (owner.authorId !== me) throw forbidden(`only the author can ${action} a post`);
  return owner;
}

/** The stored geo after an edit, or undefined when neither the location nor its privacy changes. */
async function changedGeo(tx: TxSql, id: string, owner: Owner, changes: PostChanges) {
  if (changes.location === undefined && changes.geoprivacy === undefined) return undefined;
  const location = changes.location === undefined ? await exactLocation(tx, id) : changes.location;
  return geoFor(location, changes.geoprivacy ?? owner.geoprivacy);
}

/** Replaces the post's photos with the given ones; the post must keep a body or a photo. */
async function replacePhotos(tx: TxSql, postId: string, me: string, given: string[]) {
  const photoIds = given.map((p) => p.toLowerCase());
  rejectUnattached(photoIds.filter((p) => !isId(p)));
  await replacePostPhotos(tx, postId, photoIds);
  await attachOrFail(tx, postId, me, photoIds);
  if (await isEmptyPost(tx, postId)) {
    throw new AppError('validation_failed', 'a post needs a body or at least one photo', {
      details: {
        in: 'json',
        fields: [{ field: 'photoIds', message: 'a post needs a body or at least one photo' }],
      },
    });
  }
}

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
