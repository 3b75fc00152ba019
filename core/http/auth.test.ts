import { z } from '@hono/zod-openapi';
import { describe, expect, it } from 'vitest';
import { AppError, unauthorized } from '../errors.ts';
import { type Authenticator, provideAuthenticator } from './auth.ts';
import { authedRoute, createRouter } from './openapi.ts';

const whoAmI = authedRoute({
  method: 'get',
  path: '/whoami',
  responses: {
    200: {
      description: 'the caller',
      content: { 'application/json': { schema: z.object({ userId: z.string() }) } },
    },
  },
});

/** A router with one authed route, answering errors as the contract does. */
function appWith(authenticator?: Authenticator) {
  const app = createRouter();
  if (authenticator) app.use(provideAuthenticator(authenticator));
  app.openapi(whoAmI, (c) => c.json({ userId: c.get('auth').userId }, 200));
  app.onError((err, c) => {
    const status = err instanceof AppError ? err.status : 500;
    return c.json(
      { code: err instanceof AppError ? err.code : 'internal', message: err.message },
      {
        status: status as 401,
      },
    );
  });
  return app;
}

const knowsOneToken: Authenticator = async (token) => {
  if (token !== 'good.token') throw unauthorized('invalid token');
  return { userId: 'u1', sessionId: 's1' };
};

describe('authedRoute', () => {
  it('declares bearer security and puts the auth middleware on the route', () => {
    expect(whoAmI.security).toEqual([{ bearerAuth: [] }]);
    expect(whoAmI.middleware).toBeTypeOf('function');
  });

  it('hands the handler the caller the authenticator names', async () => {
    const res = await appWith(knowsOneToken).request('/whoami', {
      headers: { authorization: 'Bearer good.token' },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ userId: 'u1' });
  });

  it.each([
    [undefined, 'missing bearer token'],
    ['Basic dTpw', 'malformed Authorization header'],
    ['Bearer', 'malformed Authorization header'],
    ['Bearer bad.token', 'invalid token'],
  ])('refuses Authorization %s with 401', async (header, message) => {
    const res = await appWith(knowsOneToken).request('/whoami', {
      headers: header === undefined ? {} : { authorization: header },
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ code: 'unauthorized', message });
  });

  it('fails loudly, never with a 401, when the app provides no authenticator', async () => {
    const res = await appWith().request('/whoami', {
      headers: { authorization: 'Bearer good.token' },
    });
    expect(res.status).toBe(500);
  });
});
