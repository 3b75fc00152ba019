import { z } from '@hono/zod-openapi';
import { cacheScopes } from '../../core/cache-scopes.ts';
import type { Deps } from '../../core/deps.ts';
import { AppError, notFound } from '../../core/errors.ts';
import { authedRoute, createRouter, errorResponses } from '../../core/http/openapi.ts';
import { decodeCursor, listOf, PageQuery, page } from '../../core/http/pagination.ts';
import { IdParam, requireId } from '../../core/http/params.ts';
import { recordEvent } from '../../domain/events/outbox.ts';
import { followBroadcastRoom } from '../../domain/notifications/index.ts';
import { follow, listEdges, unfollow } from '../../domain/social/queries.ts';
import { readProfile } from '../../domain/users/index.ts';
import { UserSchema } from '../../domain/users/schema.ts';
import { toUser } from '../../domain/users/user-rows.ts';

const UserList = listOf(UserSchema, 'UserList');
const EdgeCursor = z.object({
  // The edge's creation time in microseconds since the epoch: exact, unlike a JS Date.
  us: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  id: z.uuid(),
});

const followRoute = (method: 'put' | 'delete') =>
  authedRoute({
    method,
    path: '/{id}/follow',
    tags: ['social'],
    summary: method === 'put' ? 'Follow a user (idempotent)' : 'Unfollow a user (idempotent)',
    request: { params: IdParam },
    responses: {
      204: { description: method === 'put' ? 'following' : 'not following' },
      ...errorResponses(...(method === 'put' ? [400, 401, 404, 503] : [401, 404, 503])),
    },
  });

const edgesRoute = (direction: 'followers' | 'following') =>
  authedRoute({
    method: 'get',
    path: `/{id}/${direction}`,
    tags: ['social'],
    summary: direction === 'followers' ? 'Who follows this user' : 'Whom this user follows',
    description: 'Newest edge first.',
    request: { params: IdParam, query: PageQuery },
    responses: {
      200: {
        description: 'a page of users',
        content: { 'application/json': { schema: UserList } },
      },
      ...errorResponses(400, 401, 404, 503),
    },
  });

const getUserRoute = authedRoute({
  method: 'get',
  path: '/{id}',
  tags: ['social'],
  summary: 'A user profile',
  request: { params: IdParam },
  responses: {
    200: { description: 'the user', content: { 'application/json': { schema: UserSchema } } },
    ...errorResponses(401, 404, 503),
  },
});

export function createSocialRoutes(deps: Deps) {
  const { sql } = deps;
  const router = createRouter();

  router.openapi(getUserRoute, async (c) => {
    const user = await readProfile(deps, requireId(c.req.valid('param').id, 'user'));
    if (!user) throw notFound('user');
    return c.json(user, 200);
  });

  router.openapi(followRoute('put'), async (c) => {
    const me = c.get('auth').userId;
    const target = requireId(c.req.valid('param').id, 'user');
    if (target === me) throw new AppError('validation_failed', 'you cannot follow yourself');
    // The room changes inside the transaction, under the lock follow() holds on the
    // author's row: no broadcast post of theirs commits, and so none is pushed, before the
    // follower's sockets are in the room. Undone if the transaction fails after it.
    let joined = false;
    try {
      await sql.begin(async (tx) => {
        const result = await follow(tx, me, target);
        if (!result.found) throw notFound('user');
        if (result.createdAt) {
          await recordEvent(tx, {
            type: 'follow.created',
            followerId: me,
            followeeId: target,
            createdAt: result.createdAt.toISOString(),
          });
        }
        joined = await followBroadcastRoom({ sql: tx, emitter: deps.emitter }, me, target, 'join');
      });
    } catch (err) {
      if (joined) await followBroadcastRoom(deps, me, target, 'leave');
      throw err;
    }
    // Both counts moved: my following, their followers.
    await deps.cache.invalidate([cacheScopes.user(me), cacheScopes.user(target)]);
    return c.body(null, 204);
  });

  router.openapi(followRoute('delete'), async (c) => {
    const me = c.get('auth').userId;
    const target = requireId(c.req.valid('param').id, 'user');
    if (target !== me) {
      // As for a follow: out of the room before any later post of the author can commit.
      let left = false;
      const result = await sql
        .begin(async (tx) => {
          const removed = await unfollow(tx, me, target);
          left = await followBroadcastRoom({ sql: tx, emitter: deps.emitter }, me, target, 'leave');
          return removed;
        })
        .catch(async (err: unknown) => {
          if (left) await followBroadcastRoom(deps, me, target, 'join');
          throw err;
        });
      await deps.cache.invalidate([cacheScopes.user(me), cacheScopes.user(target)]);
      if (!result.found) throw notFound('user');
    }
    return c.body(null, 204);
  });

  for (const direction of ['followers', 'following'] as const) {
    router.openapi(edgesRoute(direction), async (c) => {
      const userId = requireId(c.req.valid('param').id, 'user');
      const { limit, cursor } = c.req.valid('query');
      const after = decodeCursor(cursor, EdgeCursor);
      if (!(await readProfile(deps, userId))) throw notFound('user');
      const rows = await listEdges(sql, userId, direction, limit, after);
      return c.json(
        page(rows, limit, toUser, (r) => ({ us: r.edgeKey, id: r.id })),
        200,
      );
    });
  }

  return router;
}
