import { isIP } from 'node:net';
import { createRoute } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { sessionRoom } from '../../contract/index.ts';
import type { Deps } from '../../core/deps.ts';
import { AppError, conflict, unauthorized } from '../../core/errors.ts';
import { clientIp } from '../../core/http/client-ip.ts';
import { createRouter, errorResponses } from '../../core/http/openapi.ts';
import type { AppEnv } from '../../core/http/types.ts';
import { createDummyHash, hashPassword, verifyPassword } from '../../domain/auth/passwords.ts';
import {
  insertSession,
  revokeSessionByToken,
  rotateRefreshToken,
} from '../../domain/auth/queries.ts';
import { createAuthLimiters } from '../../domain/auth/rate-limit.ts';
import {
  AuthResultSchema,
  LoginBody,
  LogoutBody,
  RefreshBody,
  SignupBody,
  TokenPairSchema,
} from '../../domain/auth/schema.ts';
import { hashRefreshToken, newRefreshToken, signAccessToken } from '../../domain/auth/tokens.ts';
import { findUserForLogin, insertUser, isHandleHeld } from '../../domain/users/queries.ts';
import { toMe } from '../../domain/users/user-rows.ts';

const json = <T>(schema: T) => ({ content: { 'application/json': { schema } }, required: true });

const signupRoute = createRoute({
  method: 'post',
  path: '/signup',
  tags: ['auth'],
  summary: 'Create an account and sign in',
  request: { body: json(SignupBody) },
  responses: {
    201: {
      description: 'account created',
      content: { 'application/json': { schema: AuthResultSchema } },
    },
    ...errorResponses(400, 409, 413, 415, 429, 503),
  },
});

const loginRoute = createRoute({
  method: 'post',
  path: '/login',
  tags: ['auth'],
  summary: 'Sign in with email and password',
  request: { body: json(LoginBody) },
  responses: {
    200: {
      description: 'signed in',
      content: { 'application/json': { schema: AuthResultSchema } },
    },
    ...errorResponses(400, 401, 413, 415, 429, 503),
  },
});

const refreshRoute = createRoute({
  method: 'post',
  path: '/refresh',
  tags: ['auth'],
  summary: 'Trade a refresh token for a new token pair',
  description:
    'The presented refresh token is spent. Presenting a spent token again revokes its whole ' +
    'family (the session), so a stolen token stops working for thief and owner alike.',
  request: { body: json(RefreshBody) },
  responses: {
    200: {
      description: 'new tokens',
      content: { 'application/json': { schema: TokenPairSchema } },
    },
    ...errorResponses(400, 401, 413, 415, 503),
  },
});

const logoutRoute = createRoute({
  method: 'post',
  path: '/logout',
  tags: ['auth'],
  summary: 'End the session the refresh token belongs to',
  description: 'Idempotent: an unknown or already revoked token also answers 204.',
  request: { body: json(LogoutBody) },
  responses: {
    204: { description: 'signed out' },
    ...errorResponses(400, 413, 415, 503),
  },
});

export function createAuthRoutes(deps: Deps) {
  const { config, sql, metrics } = deps;
  const limiters = createAuthLimiters(deps.redis, config);
  // Built lazily once, then reused: verifying against it equalises login timing.
  let dummy: Promise<string> | undefined;
  const dummyHash = () => {
    dummy ??= createDummyHash(config.passwordHashCost);
    return dummy;
  };

  const sessionMeta = (c: Context<AppEnv>) => {
    const ip = clientIp(c, config.trustProxy);
    return {
      ip: isIP(ip) ? ip : null,
      userAgent: c.req.header('user-agent')?.slice(0, 512) ?? null,
    };
  };

  const issueTokens = async (userId: string, sessionId: string, refreshToken: string) => ({
    accessToken: await signAccessToken(
      { userId, sessionId },
      config.jwtSecret,
      config.accessTokenTtlMs,
    ),
    refreshToken,
    expiresIn: Math.round(config.accessTokenTtlMs / 1000),
  });

  const router = createRouter();

  router.openapi(signupRoute, async (c) => {
    const body = c.req.valid('json');
    const ip = clientIp(c, config.trustProxy);
    await limiters.beforeSignup(ip);
    if (await isHandleHeld(sql, body.handle))
      throw conflict('this handle belonged to a deleted account and is not available yet', {
        field: 'handle',
      });
    const passwordHash = await hashPassword(body.password, config.passwordHashCost);
    const refresh = newRefreshToken();
    const meta = sessionMeta(c);
    try {
      const { user, sessionId } = await sql.begin(async (tx) => {
        const user = await insertUser(tx, { ...body, passwordHash });
        const sessionId = await insertSession(tx, {
          userId: user.id,
          tokenHash: refresh.hash,
          ttlMs: config.refreshTokenTtlMs,
          meta,
        });
        return { user, sessionId };
      });
      metrics.authEvents.inc({ event: 'signup' });
      // The owner was here: this IP is exempt from the account's backstop limit, like one it
      // signed in from. Best effort, the account exists either way.
      await limiters.rememberIp(ip, body.email).catch((err: unknown) => {
        c.get('log').warn({ err }, 'could not remember the signup IP for login limits');
      });
      return c.json(
        { user: toMe(user), ...(await issueTokens(user.id, sessionId, refresh.token)) },
        201,
      );
    } catch (err) {
      const constraint = (err as { constraint_name?: string }).constraint_name;
      if (constraint === 'users_email_key') {
        throw conflict('an account with this email already exists', { field: 'email' });
      }
      if (constraint === 'users_handle_key') {
        throw conflict('this handle is taken', { field: 'handle' });
      }
      throw err;
    }
  });

  router.openapi(loginRoute, async (c) => {
    const { email, password } = c.req.valid('json');
    const ip = clientIp(c, config.trustProxy);
    // Counted before the password is checked, so parallel guesses cannot outrun the limits.
    await limiters.beforeLogin(ip, email);
    let user: Awaited<ReturnType<typeof findUserForLogin>>;
    let ok: boolean;
    try {
      user = await findUserForLogin(sql, email);
      // Unknown email: spend the same time as a wrong password, then fail the same way.
      ok = user
        ? await verifyPassword(password, user.passwordHash)
        : await verifyPassword(password, await dummyHash()).then(() => false);
    } catch (err) {
      // No password was checked (the database failed, say): the attempt is not held against anyone.
      await limiters.attemptAborted(ip, email).catch(() => undefined);
      throw err;
    }
    if (!user || !ok) {
      // A wrong password keeps the points beforeLogin counted.
      metrics.authEvents.inc({ event: 'login_failed' });
      throw unauthorized('wrong email or password');
    }
    await limiters.loginSucceeded(ip, email);
    const refresh = newRefreshToken();
    const sessionId = await insertSession(sql, {
      userId: user.id,
      tokenHash: refresh.hash,
      ttlMs: config.refreshTokenTtlMs,
      meta: sessionMeta(c),
    });
    metrics.authEvents.inc({ event: 'login' });
    return c.json(
      { user: toMe(user), ...(await issueTokens(user.id, sessionId, refresh.token)) },
      200,
    );
  });

  router.openapi(refreshRoute, async (c) => {
    const { refreshToken } = c.req.valid('json');
    const next = newRefreshToken();
    const result = await rotateRefreshToken(sql, {
      tokenHash: hashRefreshToken(refreshToken),
      nextHash: next.hash,
      ttlMs: config.refreshTokenTtlMs,
    });
    if (!result.ok) {
      metrics.authEvents.inc({
        event: result.reason === 'reuse' ? 'refresh_reuse' : 'refresh_failed',
      });
      if (result.reason === 'reuse') {
        c.get('log').warn({ reason: 'reuse' }, 'spent refresh token presented; session revoked');
        await deps.sessions.revoked({ sessionIds: [result.sessionId] });
        deps.emitter.in(sessionRoom(result.sessionId)).disconnectSockets(true);
      }
      throw new AppError(
        'unauthorized',
        result.reason === 'reuse'
          ? 'refresh token already used; the session has been revoked'
          : result.reason === 'expired'
            ? 'refresh token expired'
            : 'invalid refresh token',
      );
    }
    metrics.authEvents.inc({ event: 'refresh' });
    return c.json(await issueTokens(result.userId, result.sessionId, next.token), 200);
  });

  router.openapi(logoutRoute, async (c) => {
    const { refreshToken } = c.req.valid('json');
    const sessionId = await revokeSessionByToken(sql, hashRefreshToken(refreshToken));
    // Every node stops accepting its access tokens, and its live sockets close, on
    // whichever gateway node holds them.
    if (sessionId) {
      await deps.sessions.revoked({ sessionIds: [sessionId] });
      deps.emitter.in(sessionRoom(sessionId)).disconnectSockets(true);
    }
    return c.body(null, 204);
  });

  return router;
}
