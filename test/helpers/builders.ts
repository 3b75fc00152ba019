import { randomBytes } from 'node:crypto';
import type { Notification, Post } from '../../contract/index.ts';
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

export interface PostInput {
  kind: 'pet' | 'stray' | 'wild';
  body: string;
  species?: string | null;
  location?: { lat: number; lng: number; accuracyM?: number } | null;
  geoprivacy?: 'open' | 'obscured' | 'private';
  observedAt?: string;
  clientId?: string;
  photoIds?: string[];
}

/** A valid post body: a stray in Lisbon unless told otherwise. */
export function buildPost(overrides: Partial<PostInput> = {}): PostInput {
  counter += 1;
  return {
    kind: 'stray',
    body: `Sighting number ${counter}`,
    species: 'Felis catus',
    location: { lat: 38.7223 + counter * 1e-5, lng: -9.1393, accuracyM: 10 },
    ...overrides,
  };
}

/** Creates a post through the API and returns it. */
export async function createPost(
  ctx: TestContext,
  author: SignedUpUser,
  overrides: Partial<PostInput> = {},
): Promise<Record<string, any>> {
  const res = await ctx.request('POST', '/api/v1/posts', {
    token: author.accessToken,
    body: buildPost(overrides),
  });
  if (res.status !== 201) throw new Error(`post failed: ${res.status} ${res.text}`);
  return res.body;
}

/** `as` follows `whom` through the API. */
export async function follow(
  ctx: TestContext,
  as: SignedUpUser,
  whom: SignedUpUser,
): Promise<void> {
  const res = await ctx.request('PUT', `/api/v1/users/${whom.id}/follow`, {
    token: as.accessToken,
  });
  if (res.status !== 204) throw new Error(`follow failed: ${res.status} ${res.text}`);
}

/** A notification as a push carries it: a follow from nobody in particular, unread. */
export function buildNotification(overrides: Partial<Notification> = {}): Notification {
  return {
    id: `n-${randomBytes(4).toString('hex')}`,
    type: 'follow',
    actor: null,
    postId: null,
    commentId: null,
    createdAt: new Date().toISOString(),
    readAt: null,
    ...overrides,
  };
}

/** A post as a push or a page carries it: an open, unlocated stray by nobody, unless overridden. */
export function buildPostView(overrides: Partial<Post> = {}): Post {
  const at = new Date(0).toISOString();
  return {
    id: `p-${randomBytes(4).toString('hex')}`,
    author: null,
    kind: 'stray',
    species: null,
    body: '',
    location: null,
    geoprivacy: 'open',
    cell: null,
    photos: [],
    observedAt: at,
    createdAt: at,
    updatedAt: at,
    commentCount: 0,
    likeCount: 0,
    likedByMe: false,
    ...overrides,
  };
}
