import { isIP } from 'node:net';
import { createRoute } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Deps } from '../../core/deps.ts';
import { clientIp } from '../../core/http/client-ip.ts';
import { createRouter, errorResponses, jsonBody } from '../../core/http/openapi.ts';
import type { AppEnv } from '../../core/http/types.ts';
import { createAccounts } from '../../domain/auth/accounts.ts';
import {
  AuthResultSchema,
  LoginBody,
  LogoutBody,
  RefreshBody,
  SignupBody,
  TokenPairSchema,
} from '../../domain/auth/schema.ts';

const signupRoute = createRoute({
  method: 'post',
  path: '/signup',
  tags: ['auth'],
  summary: 'Create an account and sign in',
  request: { body: jsonBody(SignupBody) },
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
  request: { body: jsonBody(LoginBody) },
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
  request: { body: jsonBody(RefreshBody) },
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
  request: { body: jsonBody(LogoutBody) },
  responses: {
    204: { description: 'signed out' },
    ...errorResponses(400, 413, 415, 503),
  },
});

export function createAuthRoutes(deps: Deps) {
  const accounts = createAccounts(deps);
  const origin = (c: Context<AppEnv>) => {
    const ip = clientIp(c, deps.config.trustProxy);
    return {
      ip,
      meta: {
        ip: isIP(ip) ? ip : null,
        userAgent: c.req.header('user-agent')?.slice(0, 512) ?? null,
      },
      log: c.get('log'),
    };
  };
  const router = createRouter();

  router.openapi(signupRoute, async (c) => {
    return c.json(await accounts.signUp(c.req.valid('json'), origin(c)), 201);
  });

  router.openapi(loginRoute, async (c) => {
    return c.json(await accounts.logIn(c.req.valid('json'), origin(c)), 200);
  });

  router.openapi(refreshRoute, async (c) => {
    return c.json(await accounts.refresh(c.req.valid('json').refreshToken, c.get('log')), 200);
  });

  // Every node stops accepting the session's access tokens, and its live sockets close.
  router.openapi(logoutRoute, async (c) => {
    await accounts.logOut(c.req.valid('json').refreshToken);
    return c.body(null, 204);
  });

  return router;
}
