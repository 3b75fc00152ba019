import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, expect, inject } from 'vitest';
import { connectUnimal, type UnimalClient } from '../../client/socket-client.ts';
import type { Notification } from '../../contract/index.ts';
import { type ClusterNode, type RunningCluster, startCluster } from '../../deploy/cluster.ts';
import { signAccessToken } from '../../domain/auth/tokens.ts';
import type { SignedUpUser } from './builders.ts';
import { createTestDatabase, deleteRedisPrefix, s3TestEnv } from './context.ts';
import { baseTestEnv } from './env.ts';
import { httpApi } from './http.ts';
import { freePorts } from './services.ts';

export interface TestCluster extends RunningCluster {
  env: Record<string, string>;
  /** The cluster's database, for assertions. */
  sql: postgres.Sql;
  api: ReturnType<typeof httpApi>;
  /** The last lines each process printed (by name), for failure messages. */
  logs: Map<string, string[]>;
  /** Sockets connected to one gateway node now (its `sockets_connected` gauge). */
  socketsOn(node: ClusterNode): Promise<number>;
}

export interface TestClusterOptions {
  servers?: number;
  gateways?: number;
  workers?: number;
  /** Settings of every node, over the test defaults. */
  env?: Record<string, string>;
  /** Another PostgreSQL server's admin URL (the database is created and migrated there). */
  adminUrl?: string;
}

const KEEP_LINES = 400;

/**
 * Real processes behind a real nginx (`startCluster`, as `npm run cluster` runs them), one
 * cluster per call, each on a database and Redis prefix of its own; all of them stopped
 * and removed after the file's last test.
 */
export function useTestClusters(name: string) {
  const started: TestCluster[] = [];
  const cleanups: Array<() => Promise<void>> = [];
  const clients: UnimalClient[] = [];
  afterAll(async () => {
    for (const c of clients) c.close();
    await Promise.allSettled(
      started.flatMap((c) => [...c.nodes, c.nginx].map((p) => p.kill('SIGKILL'))),
    );
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  }, 60_000);

  return {
    clients,
    async start(options: TestClusterOptions = {}): Promise<TestCluster> {
      const dir = mkdtempSync(path.join(tmpdir(), `unimal-cluster-${name}-`));
      cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
      const redisPrefix = `test:${inject('runId')}:${name}:${randomBytes(3).toString('hex')}:`;
      let databaseUrl: string;
      if (options.adminUrl) {
        const url = new URL(options.adminUrl);
        url.pathname = `/unimal_${name}`;
        databaseUrl = url.toString();
      } else {
        const db = await createTestDatabase(name);
        cleanups.push(db.drop);
        databaseUrl = db.url;
      }
      cleanups.push(() => deleteRedisPrefix(redisPrefix));
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '',
        ...baseTestEnv(),
        ...s3TestEnv(),
        LOG_LEVEL: 'info',
        DATABASE_URL: databaseUrl,
        DATABASE_CREATE: options.adminUrl ? 'true' : 'false',
        REDIS_PREFIX: redisPrefix,
        DATA_DIR: path.join(dir, 'data'),
        ...options.env,
      };
      const servers = options.servers ?? 1;
      const gateways = options.gateways ?? 2;
      const workers = options.workers ?? 1;
      const [edgePort, ...rest] = await freePorts(1 + servers + gateways + workers);
      const logs = new Map<string, string[]>();
      const cluster = await startCluster({
        servers,
        gateways,
        workers,
        edgePort: edgePort!,
        firstNodePort: rest[0]!,
        env,
        dir,
        onLine(node, line) {
          const lines = logs.get(node) ?? [];
          logs.set(node, lines);
          lines.push(line);
          if (lines.length > KEEP_LINES) lines.shift();
        },
      });
      const sql = postgres(databaseUrl, { max: 4, onnotice: () => {} });
      cleanups.push(() => sql.end({ timeout: 5 }));
      const test: TestCluster = {
        ...cluster,
        env,
        sql,
        api: httpApi(cluster.edgeUrl),
        logs,
        async socketsOn(node) {
          const text = await (await fetch(`${node.url}/metrics`)).text();
          const m = /^sockets_connected (\d+)/m.exec(text);
          return m ? Number(m[1]) : 0;
        },
      };
      started.push(test);
      return test;
    },
  };
}

/** A follower made in SQL: a signed-up user's id and access token, without a password or refresh token. */
export type SeededFollower = Pick<SignedUpUser, 'id' | 'accessToken'>;

/**
 * `count` users who follow `authorId`, each with a live session and an access token, made
 * straight in SQL (signing up hundreds through the API would measure password hashing).
 */
export async function seedFollowersWithTokens(
  sql: postgres.Sql,
  authorId: string,
  count: number,
  jwtSecret: string,
): Promise<SeededFollower[]> {
  const tag = randomBytes(4).toString('hex');
  const rows = await sql<{ id: string; sessionId: string }[]>`
    with made as (
      insert into users (email, handle, display_name, password_hash)
      select 'f' || ${tag} || '_' || i || '@example.com', 'f' || ${tag} || '_' || i,
        'Follower ' || i, 'scrypt$x'
      from generate_series(1, ${count}) as i
      returning id
    ), edges as (
      insert into follows (follower_id, followee_id) select id, ${authorId} from made
    ), sessions as (
      insert into sessions (user_id, expires_at)
      select id, now() + interval '1 day' from made
      returning id, user_id
    )
    select user_id as id, id as "sessionId" from sessions`;
  await sql`update users set follower_count = follower_count + ${count} where id = ${authorId}`;
  const secret = new TextEncoder().encode(jwtSecret);
  return Promise.all(
    rows.map(async (r) => ({
      id: r.id,
      accessToken: await signAccessToken(
        { userId: r.id, sessionId: r.sessionId },
        secret,
        3_600_000,
      ),
    })),
  );
}

export interface EdgeListener {
  client: UnimalClient;
  /** Every notification the client accepted (the helper drops ids it already has). */
  received: Notification[];
  /** How many `notification` pushes arrived in all, repeats included. */
  pushes: number;
  /** Connections made so far (1 after the first). */
  connects: number;
  /** When the socket connected and lost its connection (performance.now()). */
  events: Array<{ type: 'connect' | 'disconnect'; at: number }>;
}

/** When a listener got its connection back after `since`, or undefined if it has not. */
export function reconnectedAt(listener: EdgeListener, since: number): number | undefined {
  const lost = listener.events.find((e) => e.type === 'disconnect' && e.at >= since);
  if (!lost) return undefined;
  return listener.events.find((e) => e.type === 'connect' && e.at >= lost.at)?.at;
}

/** Did the listener lose its connection after `since`? */
export const disconnectedSince = (listener: EdgeListener, since: number) =>
  listener.events.some((e) => e.type === 'disconnect' && e.at >= since);

/** A client helper connected through the edge, as a mobile client would be. */
export async function listenThroughEdge(
  edgeUrl: string,
  token: string,
  clients: UnimalClient[],
): Promise<EdgeListener> {
  const received: Notification[] = [];
  const client = connectUnimal({
    url: edgeUrl,
    getToken: () => token,
    minDelayMs: 200,
    maxDelayMs: 1_000,
    onNotification: (n) => received.push(n),
  });
  const listener: EdgeListener = { client, received, pushes: 0, connects: 0, events: [] };
  client.socket.on('notification', () => {
    listener.pushes += 1;
  });
  client.socket.on('connect', () => {
    listener.connects += 1;
    listener.events.push({ type: 'connect', at: performance.now() });
  });
  client.socket.on('disconnect', () => {
    listener.events.push({ type: 'disconnect', at: performance.now() });
  });
  clients.push(client);
  await client.ready;
  return listener;
}

/**
 * An author signed up through the edge, `followers` followers made in SQL, and the first
 * `online` of them listening through the edge.
 */
export async function authorWithAudience(
  cluster: TestCluster,
  clients: UnimalClient[],
  followers: number,
  online: number,
) {
  const author = await cluster.api.signup();
  const users = await seedFollowersWithTokens(
    cluster.sql,
    author.id,
    followers,
    cluster.env.JWT_SECRET!,
  );
  const listeners = await listenMany(
    cluster.edgeUrl,
    users.slice(0, online).map((u) => u.accessToken),
    clients,
  );
  return { author, followers: users, listeners };
}

/** Listeners through the edge, connected twenty at a time (each handshake reads PostgreSQL). */
export async function listenMany(
  edgeUrl: string,
  tokens: string[],
  clients: UnimalClient[],
): Promise<EdgeListener[]> {
  const out: EdgeListener[] = [];
  for (let i = 0; i < tokens.length; i += 20) {
    out.push(
      ...(await Promise.all(
        tokens.slice(i, i + 20).map((t) => listenThroughEdge(edgeUrl, t, clients)),
      )),
    );
  }
  return out;
}

export interface Poster {
  /** Ids of the posts answered 201, in order. */
  posted: string[];
  /** Every other answer, as `status body`. */
  failures: string[];
  /** Stops after the request under way. */
  stop(): Promise<void>;
}

/** Posts as `author` through the edge every `everyMs`, from now until stopped. */
export function keepPosting(
  cluster: TestCluster,
  author: { accessToken: string },
  everyMs: number,
): Poster {
  const posted: string[] = [];
  const failures: string[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const tick = new Promise((r) => setTimeout(r, everyMs));
      const res = await cluster.api.call('POST', '/posts', author.accessToken, {
        kind: 'wild',
        body: `sighting ${posted.length}`,
      });
      if (res.status === 201) posted.push(res.body.id);
      else failures.push(`${res.status} ${JSON.stringify(res.body)}`);
      await tick;
    }
  })();
  return {
    posted,
    failures,
    async stop() {
      running = false;
      await loop;
    },
  };
}

/**
 * Waits until each post is in `audience` inboxes: every post reached every follower.
 * (Never twice: the inbox's primary key, user and event, makes a second row impossible;
 * what this checks is that none is missing.)
 */
export async function expectEveryInboxOnce(
  sql: postgres.Sql,
  postIds: string[],
  audience: number,
): Promise<void> {
  const count = async () =>
    (
      await sql<{ pairs: number }[]>`
        select count(distinct (user_id, post_id))::int as pairs
        from notifications where post_id = any(${postIds}::uuid[])`
    )[0]!.pairs;
  await expect.poll(count, { timeout: 60_000, interval: 250 }).toBe(audience * postIds.length);
}
