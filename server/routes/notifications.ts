import { z } from '@hono/zod-openapi';
import { Notification } from '../../contract/index.ts';
import { cacheScopes } from '../../core/cache-scopes.ts';
import type { Deps } from '../../core/deps.ts';
import { AppError } from '../../core/errors.ts';
import { authedRoute, createRouter, errorResponses, jsonBody } from '../../core/http/openapi.ts';
import { decodeCursor, listOf, PageQuery, page } from '../../core/http/pagination.ts';
import { isId } from '../../core/http/params.ts';
import { markInboxRead } from '../../domain/notifications/inbox.ts';
import { listNotifications, toNotification } from '../../domain/notifications/queries.ts';
import { readUnreadCount } from '../../domain/notifications/unread-cache.ts';

const NotificationList = listOf(Notification, 'NotificationList');
const SeqCursor = z.object({ seq: z.number().int().min(0) });
const idList = z.array(z.string().max(64)).max(500);
const ReadBody = z
  .object({ ids: idList.optional(), upTo: z.string().max(64).optional() })
  .refine((b) => b.ids !== undefined || b.upTo !== undefined, 'give ids, upTo, or both')
  .openapi('MarkRead');

const routes = {
  list: authedRoute({
    method: 'get',
    path: '/',
    tags: ['notifications'],
    summary: 'My notifications, newest first',
    request: {
      query: PageQuery.extend({
        unread: z
          .enum(['true', 'false'])
          .optional()
          .transform((v) => v === 'true'),
      }),
    },
    responses: {
      200: {
        description: 'a page of notifications',
        content: { 'application/json': { schema: NotificationList } },
      },
      ...errorResponses(400, 401, 503),
    },
  }),
  count: authedRoute({
    method: 'get',
    path: '/unread-count',
    tags: ['notifications'],
    summary: 'How many of my notifications are unread',
    responses: {
      200: {
        description: 'the count',
        content: { 'application/json': { schema: z.object({ count: z.number().int() }) } },
      },
      ...errorResponses(401, 503),
    },
  }),
  read: authedRoute({
    method: 'post',
    path: '/read',
    tags: ['notifications'],
    summary: 'Mark notifications read: by ids, and/or everything up to an id',
    request: { body: jsonBody(ReadBody) },
    responses: { 204: { description: 'marked' }, ...errorResponses(400, 401, 413, 415, 503) },
  }),
};

export function createNotificationRoutes(deps: Deps) {
  const { sql } = deps;
  const router = createRouter();

  router.openapi(routes.list, async (c) => {
    const { limit, cursor, unread } = c.req.valid('query');
    const beforeSeq = decodeCursor(cursor, SeqCursor)?.seq;
    const rows = await listNotifications(sql, c.get('auth').userId, { unread, limit, beforeSeq });
    return c.json(
      page(rows, limit, toNotification, (r) => ({ seq: r.seq })),
      200,
    );
  });

  router.openapi(routes.count, async (c) =>
    c.json({ count: await readUnreadCount(deps, c.get('auth').userId) }, 200),
  );

  router.openapi(routes.read, async (c) => {
    const { ids, upTo } = c.req.valid('json');
    const bad = [...(ids ?? []), ...(upTo ? [upTo] : [])].filter((id) => !isId(id));
    if (bad.length > 0) {
      throw new AppError(
        'validation_failed',
        `not notification ids: ${bad.slice(0, 5).join(', ')}`,
        {
          details: {
            in: 'json',
            fields: [{ field: ids?.some((i) => !isId(i)) ? 'ids' : 'upTo', message: 'not an id' }],
          },
        },
      );
    }
    const me = c.get('auth').userId;
    // Only the written rows' part of the count is cached (see readUnreadCount).
    if ((await markInboxRead(sql, me, { ids, upTo })).written > 0)
      await deps.cache.invalidate([cacheScopes.unread(me)]);
    return c.body(null, 204);
  });

  return router;
}
