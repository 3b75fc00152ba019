import { buildUser, type SignedUpUser, type SignupInput } from './builders.ts';

export type HttpApi = ReturnType<typeof httpApi>;

/** A tiny client of the HTTP API of a running node, over real sockets. */
export function httpApi(base: string) {
  const call = async (method: string, path: string, token?: string, body?: unknown) => {
    const res = await fetch(`${base}/api/v1${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  return {
    call,
    async signup(overrides: Partial<SignupInput> = {}): Promise<SignedUpUser> {
      const input = buildUser(overrides);
      const res = await call('POST', '/auth/signup', undefined, input);
      if (res.status !== 201) throw new Error(`signup: ${res.status} ${JSON.stringify(res.body)}`);
      return {
        id: res.body.user.id,
        input,
        accessToken: res.body.accessToken,
        refreshToken: res.body.refreshToken,
        user: res.body.user,
      };
    },
    async follow(as: SignedUpUser, whom: { id: string }) {
      const res = await call('PUT', `/users/${whom.id}/follow`, as.accessToken);
      if (res.status !== 204) throw new Error(`follow: ${res.status}`);
    },
    async post(as: SignedUpUser, body: Record<string, unknown> = {}) {
      const res = await call('POST', '/posts', as.accessToken, {
        kind: 'stray',
        body: 'A cat!',
        ...body,
      });
      if (res.status !== 201) throw new Error(`post: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body as { id: string } & Record<string, unknown>;
    },
  };
}
