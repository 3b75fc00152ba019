import type { MiddlewareHandler } from 'hono';
import { unauthorized } from '../errors.ts';
import type { AuthContext } from './types.ts';

/** Checks an access token and says whose it is, or throws 401. */
export type Authenticator = (token: string) => Promise<AuthContext>;

/** What the auth middleware reads and what it gives the handlers behind it. */
export interface AuthEnv {
  Variables: {
    authenticator: Authenticator;
    auth: AuthContext;
  };
}

/**
 * Puts the app's authenticator on every request, so the route middleware below can be
 * one module-level value while the checks it runs need the app's own dependencies.
 */
export function provideAuthenticator(authenticator: Authenticator): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    c.set('authenticator', authenticator);
    await next();
  };
}

const BEARER = /^Bearer[ ]+([A-Za-z0-9._~+/=-]+)$/i;

/**
 * Lets a request through only with a live bearer token, and tells the handler who the
 * caller is. Attached per route by `authedRoute` (core/http/openapi.ts), never by path.
 */
export const requireAuth: MiddlewareHandler<AuthEnv> = async (c, next) => {
  const authenticate = c.get('authenticator');
  // A router used without createApi's provideAuthenticator: a wiring bug, never a 401.
  if (!authenticate) throw new Error('no authenticator on the request context');
  const header = c.req.header('authorization');
  const token = header ? BEARER.exec(header.trim())?.[1] : undefined;
  if (!token)
    throw unauthorized(header ? 'malformed Authorization header' : 'missing bearer token');
  const { userId, sessionId } = await authenticate(token);
  c.set('auth', { userId, sessionId });
  await next();
};
