import { randomBytes } from 'node:crypto';
import type { TestContext } from './context.ts';

let counter = 0;

/** A valid signup body with a unique email and handle. */
export function buildUser(overrides: Partial<SignupInput> = {}): SignupInput {
  counter += 1;
  const tag = `${randomBytes(3).toString('hex')}${counter}`;
  return {
    email: `user_${tag}@example.com`,
    password: `pw-${randomBytes(6).toString('hex')}`,
    handle: `user_${tag}`,
    displayName: `User ${tag}`,
    ...overrides,
  };
}

export interface SignupInput {
  email: string;
  password: string;
  handle: string;
  displayName: string;
}

export interface SignedUpUser {
  id: string;
  input: SignupInput;
  accessToken: string;
  refreshToken: string;
  user: Record<string, unknown>;
}

/** Signs a user up through the API and returns its tokens. */
export async function signup(
  ctx: TestContext,
  overrides: Partial<SignupInput> = {},
): Promise<SignedUpUser> {
  const input = buildUser(overrides);
  // A made-up client address (honoured where TRUST_PROXY is on) keeps per-IP limits out of the way.
  const ip = `10.9.${randomBytes(1)[0]}.${randomBytes(1)[0]}`;
  const res = await ctx.request('POST', '/api/v1/auth/signup', {
    body: input,
    headers: { 'x-forwarded-for': ip },
  });
  if (res.status !== 201) throw new Error(`signup failed: ${res.status} ${res.text}`);
  return {
    id: res.body.user.id,
    input,
    accessToken: res.body.accessToken,
    refreshToken: res.body.refreshToken,
    user: res.body.user,
  };
}
