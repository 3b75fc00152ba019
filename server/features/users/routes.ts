import { createRoute } from '@hono/zod-openapi';
import type { Deps } from '../../../core/deps.ts';
import { unauthorized } from '../../../core/errors.ts';
import { bearerSecurity, createRouter, errorResponses } from '../../../core/http/openapi.ts';
import { requireAuth } from '../auth/authenticate.ts';
import { findActiveUser, toMe, updateProfile } from './queries.ts';
import { MeSchema, UpdateMeBody } from './schema.ts';

const getMeRoute = createRoute({
  method: 'get',
  path: '/me',
  tags: ['me'],
  summary: 'The signed-in user',
  security: bearerSecurity,
  responses: {
    200: { description: 'the user', content: { 'application/json': { schema: MeSchema } } },
    ...errorResponses(401, 503),
  },
});

const patchMeRoute = createRoute({
  method: 'patch',
  path: '/me',
  tags: ['me'],
  summary: 'Change display name or bio',
  security: bearerSecurity,
  request: { body: { content: { 'application/json': { schema: UpdateMeBody } }, required: true } },
  responses: {
    200: { description: 'the updated user', content: { 'application/json': { schema: MeSchema } } },
    ...errorResponses(400, 401, 413, 415, 503),
  },
});

export function createUserRoutes(deps: Deps) {
  const router = createRouter();
  const auth = requireAuth(deps);
  router.use('/me', auth);

  router.openapi(getMeRoute, async (c) => {
    const user = await findActiveUser(deps.sql, c.get('auth').userId);
    // The session check passed a moment ago; a concurrent deletion can still win.
    if (!user) throw unauthorized('account no longer exists');
    return c.json(toMe(user), 200);
  });

  router.openapi(patchMeRoute, async (c) => {
    const changes = c.req.valid('json');
    const user = await updateProfile(deps.sql, c.get('auth').userId, changes);
    if (!user) throw unauthorized('account no longer exists');
    return c.json(toMe(user), 200);
  });

  return router;
}
