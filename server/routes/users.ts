import { z } from '@hono/zod-openapi';
import { userRoom } from '../../contract/index.ts';
import type { Deps } from '../../core/deps.ts';
import { unauthorized } from '../../core/errors.ts';
import { clientIp } from '../../core/http/client-ip.ts';
import { authedRoute, createRouter, errorResponses } from '../../core/http/openapi.ts';
import { requestAccountDeletion } from '../../domain/account-deletion.ts';
import { verifyPassword } from '../../domain/auth/passwords.ts';
import { createAuthLimiters } from '../../domain/auth/rate-limit.ts';
import { findActiveUser, findCredentials, updateProfile } from '../../domain/users/queries.ts';
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
  request: { body: { content: { 'application/json': { schema: UpdateMeBody } }, required: true } },
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
  const limiters = createAuthLimiters(deps.redis, deps.config);
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
    return c.json(toMe(user), 200);
  });

  router.openapi(deleteMeRoute, async (c) => {
    const { userId } = c.get('auth');
    const { password } = c.req.valid('json');
    const row = await findCredentials(deps.sql, userId);
    if (!row) throw unauthorized('account no longer exists');
    // A password check like a login's, counted against the same limits: a stolen access
    // token must not become a way around them to guess the password.
    const ip = clientIp(c, deps.config.trustProxy);
    // Counted before the check, so parallel guesses cannot outrun the limits.
    await limiters.beforeLogin(ip, row.email);
    const ok = await verifyPassword(password, row.passwordHash).catch(async (err: unknown) => {
      await limiters.attemptAborted(ip, row.email).catch(() => undefined);
      throw err;
    });
    // A wrong password keeps the points beforeLogin counted.
    if (!ok) throw unauthorized('wrong password');
    // Best effort: only gives the account its point back, the deletion goes ahead either way.
    await limiters.passwordAccepted(ip, row.email).catch((err: unknown) => {
      c.get('log').warn({ err }, 'could not give a login-limit point back');
    });
    await deps.sql.begin((tx) => requestAccountDeletion(tx, { userId, handle: row.handle }));
    // No node accepts its tokens any more, and every live socket of the account closes,
    // on whichever gateway node holds it.
    await deps.sessions.revoked({ userId });
    deps.emitter.in(userRoom(userId)).disconnectSockets(true);
    return c.body(null, 202);
  });

  return router;
}
