import postgres from 'postgres';
import { cacheScopes } from '../core/cache-scopes.ts';
import { createSql, type Sql } from '../core/db.ts';
import type { Deps } from '../core/deps.ts';
import { createAccounts } from '../domain/auth/accounts.ts';
import { SignupBody } from '../domain/auth/schema.ts';
import { createPost } from '../domain/board/posts.ts';
import { CreatePostBody } from '../domain/board/schema.ts';
import { recordEvent } from '../domain/events/outbox.ts';
import { follow } from '../domain/social/queries.ts';
import { findUserForLogin } from '../domain/users/index.ts';
import { DEMO_SIGHTINGS } from './demo-sightings.ts';

/**
 * The account a newcomer signs in with on the /map viewer in development. Its password
 * is published (README, the viewer's sign-in form), which is why the configuration
 * refuses DEMO_ACCOUNT in production.
 */
export const DEMO_ACCOUNT = {
  email: 'demo@unimal.dev',
  password: 'unimal-demo',
  handle: 'demo',
  displayName: 'Demo Naturalist',
} as const;

/**
 * A second account that follows the demo one and is followed by it, so the demo account
 * has a follower, a feed and notifications to look at. Same password: sign in as both in
 * two windows to watch one's posts reach the other.
 */
export const DEMO_FRIEND = {
  email: 'demo-friend@unimal.dev',
  password: DEMO_ACCOUNT.password,
  handle: 'demo_friend',
  displayName: 'Demo Friend',
} as const;

export { DEMO_SIGHTINGS };

/** Every node that seeds takes this lock first: one seeds, the others then find the account. */
const SEED_LOCK = 'unimal:demo-account';

export type DemoSeed = { created: false } | { created: true; userId: string; posts: number };

/**
 * Creates the demo account, its friend and their sightings (DEMO_SIGHTINGS) unless an
 * account with the demo email exists: a developer's later changes to it (posts deleted,
 * say) are theirs to keep. Safe when several nodes start at once, through an advisory
 * lock on a connection of its own (the seeding's statements use the pool, which may
 * have a single connection).
 *
 * Accounts are made by the auth domain's signup and posts by the board's create, so the
 * passwords are hashed as any other and each post's event reaches the fan-out and the
 * live map as usual.
 */
export async function ensureDemoAccount(deps: Deps): Promise<DemoSeed> {
  const { sql, logger, config } = deps;
  const signIn = `sign in at http://localhost:${config.port}/map with password ${DEMO_ACCOUNT.password}`;
  const exists = async () => (await findUserForLogin(sql, DEMO_ACCOUNT.email)) !== undefined;
  const seeded: DemoSeed = (await exists())
    ? { created: false }
    : await underLock(
        deps,
        async (): Promise<DemoSeed> => ((await exists()) ? { created: false } : seed(deps)),
      );
  logger.info(
    { email: DEMO_ACCOUNT.email, created: seeded.created },
    seeded.created
      ? `demo account ${DEMO_ACCOUNT.email} created with ${seeded.posts} sightings: ${signIn}`
      : `demo account ${DEMO_ACCOUNT.email} already there: ${signIn}`,
  );
  return seeded;
}

async function underLock<T>(deps: Pick<Deps, 'config' | 'logger'>, fn: () => Promise<T>) {
  const lockSql = createSql(
    { databaseUrl: deps.config.databaseUrl, databasePoolSize: 1 },
    deps.logger,
  );
  try {
    await lockSql`select pg_advisory_lock(hashtext(${SEED_LOCK}))`;
    return await fn();
  } finally {
    // Ending the session releases its lock, also when fn failed.
    await lockSql.end({ timeout: 5 });
  }
}

async function seed(deps: Deps): Promise<DemoSeed> {
  const { sql } = deps;
  const demo = await signUp(deps, DEMO_ACCOUNT);
  const friend = await signUp(deps, DEMO_FRIEND);
  await followEachOther(sql, demo, friend);
  const authors = { demo, friend };
  const posts: string[] = [];
  // Oldest first: post ids are time-ordered (uuidv7) and lists page by id, so the
  // backdated times must rise with the ids for "newest first" to hold.
  const oldestFirst = [...DEMO_SIGHTINGS].sort((a, b) => b.minutesAgo - a.minutesAgo);
  for (const [i, sighting] of oldestFirst.entries()) {
    const { minutesAgo, author, ...post } = sighting;
    const createdAt = new Date(Date.now() - minutesAgo * 60_000);
    const input = CreatePostBody.parse({
      ...post,
      // Seen a little before it was posted, as a phone would send it.
      observedAt: new Date(createdAt.getTime() - 4 * 60_000).toISOString(),
      clientId: `demo-seed-${i}`,
    });
    posts.push(await createBackdatedPost(sql, authors[author], input, createdAt));
  }
  await deps.cache.invalidate([
    ...[demo, friend].flatMap((id) => [cacheScopes.user(id), cacheScopes.authorPosts(id)]),
    ...posts.map(cacheScopes.post),
  ]);
  return { created: true, userId: demo, posts: posts.length };
}

/** An account through the auth domain's own signup, its first session ended at once. */
async function signUp(deps: Deps, account: typeof DEMO_ACCOUNT | typeof DEMO_FRIEND) {
  const accounts = createAccounts(deps);
  const existing = await findUserForLogin(deps.sql, account.email);
  if (existing) return existing.id;
  const { user, refreshToken } = await accounts.signUp(SignupBody.parse(account), {
    // The signup limit counts per client address: the seed's own key spends no one's.
    ip: 'demo-seed',
    meta: { userAgent: 'unimal demo seed', ip: null },
    log: deps.logger,
  });
  await accounts.logOut(refreshToken);
  return user.id;
}

/** Both follow edges, each with its event (the `follow` notifications), as the follow route does. */
async function followEachOther(sql: Sql, a: string, b: string) {
  for (const [followerId, followeeId] of [
    [b, a],
    [a, b],
  ] as const) {
    await sql.begin(async (tx) => {
      const result = await follow(tx, followerId, followeeId);
      if (!result.found) throw new Error(`demo account ${followeeId} vanished while seeding`);
      if (result.createdAt) {
        await recordEvent(tx, {
          type: 'follow.created',
          followerId,
          followeeId,
          createdAt: result.createdAt.toISOString(),
        });
      }
    });
  }
}

/**
 * A post made by the board's create, its creation time moved back in the same
 * transaction: the workers learn of it only once it commits (the outbox), so the live
 * map's points and cells take the backdated time, as they would have had it been
 * posted then. The board has no way of its own to backdate a post.
 */
async function createBackdatedPost(
  sql: Sql,
  authorId: string,
  input: typeof CreatePostBody._output,
  createdAt: Date,
): Promise<string> {
  return inTransaction(sql, async (tx) => {
    const { row, created } = await createPost(tx, authorId, input);
    if (created) {
      await tx`update posts set created_at = ${createdAt}, updated_at = ${createdAt}
               where id = ${row.id}`;
    }
    return row.id;
  });
}

/**
 * A transaction on a reserved connection, handed on as the plain `Sql` the board's
 * create takes (it runs one statement on whatever it is given). As in core/db.ts, a
 * connection that failed is not handed back to the pool.
 */
async function inTransaction<T>(sql: Sql, fn: (tx: Sql) => Promise<T>): Promise<T> {
  const conn = await sql.reserve();
  let alive = true;
  const run = (statement: string) =>
    conn.unsafe(statement).catch((err: unknown) => {
      alive = err instanceof postgres.PostgresError;
      throw err;
    });
  try {
    await run('begin');
    try {
      const result = await fn(conn);
      await run('commit');
      return result;
    } catch (err) {
      await run('rollback').catch(() => {});
      throw err;
    }
  } finally {
    if (alive) conn.release();
  }
}
