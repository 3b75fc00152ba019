import { z } from '@hono/zod-openapi';
import { cacheScopes } from '../../core/cache-scopes.ts';
import type { Deps } from '../../core/deps.ts';
import { unauthorized } from '../../core/errors.ts';
import { clientIp } from '../../core/http/client-ip.ts';
import { authedRoute, createRouter, errorResponses, jsonBody } from '../../core/http/openapi.ts';
import { requestAccountDeletion } from '../../domain/account-deletion.ts';
import { createAccounts } from '../../domain/auth/accounts.ts';
import { findActiveUser, updateProfile } from '../../domain/users/queries.ts';
import { MeSchema, UpdateMeBody } from '../../domain/users/schema.ts';
import { toMe } from '../../domain/users/user-rows.ts';

const getMeRoute = authedRoute({
  method: 'get',
  path: '/',
  tags: ['me'],
  summary: 'The signed-in user',
  responses: {
    200: { description: 'the user', content: { 'application/json': { schema: MeSchema } } },
    ...errorResponses(401, 503),
  },
});

const patchMeRoute = authedRoute({
  method: 'patch',
  path: '/',
  tags: ['me'],
  summary: 'Change display name or bio',
  request: { body: jsonBody(UpdateMeBody) },
  responses: {
    200: { description: 'the updated user', content: { 'application/json': { schema: MeSchema } } },
    ...errorResponses(400, 401, 413, 415, 503),
  },
});

const deleteMeRoute = authedRoute({
  method: 'delete',
  path: '/',
  tags: ['me'],
  summary: 'Delete my account',
  description:
    'Needs the password again, so a stolen access token alone cannot delete an account. The ' +
    'account stops working at once (every session ends, live sockets close); each domain then ' +
    'removes or anonymises its part through the user.deleted event (see the README). Wrong ' +
    'passwords count as failed logins of the account from this IP, against the same limits ' +
    '(429).',
  request: {
    body: {
      content: {
        'application/json': { schema: z.object({ password: z.string().min(1).max(256) }) },
      },
      required: true,
    },
  },
  responses: {
    202: { description: 'deletion under way' },
    ...errorResponses(400, 401, 413, 415, 429, 503),
  },
});

export function createUserRoutes(deps: Deps) {
  const accounts = createAccounts(deps);
  const router = createRouter();

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
    await deps.cache.invalidate([cacheScopes.user(user.id)]);
    return c.json(toMe(user), 200);
  });

  router.openapi(deleteMeRoute, async (c) => {
    const { userId } = c.get('auth');
    const { password } = c.req.valid('json');
    const from = { ip: clientIp(c, deps.config.trustProxy), log: c.get('log') };
    const { handle } = await accounts.confirmPassword(userId, password, from);
    await deps.sql.begin((tx) => requestAccountDeletion(tx, { userId, handle }));
    // The profile is gone at once, everywhere; the domains' steps invalidate what they change.
    await deps.cache.invalidate([cacheScopes.user(userId), cacheScopes.authorPosts(userId)]);
    // No node accepts its tokens any more, and every live socket of the account closes,
    // on whichever gateway node holds it.
    await accounts.endAllSessions(userId);
    return c.body(null, 202);
  });

  return router;
}
