import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, inject } from 'vitest';
import {
  connectUnimal,
  type UnimalClient,
  type UnimalClientOptions,
} from '../../client/socket-client.ts';
import type { Notification } from '../../contract/index.ts';
import { loadConfig } from '../../core/config.ts';
import type { Sql } from '../../core/db.ts';
import { type RunningNode, startNode } from '../../node.ts';
import { notReady } from './before-all.ts';
import { createTestDatabase, deleteRedisPrefix, s3TestEnv } from './context.ts';
import { baseTestEnv } from './env.ts';
import { type HttpApi, httpApi } from './http.ts';

export interface InProcessNodes {
  readonly env: Record<string, string>;
  readonly dbUrl: string;
  readonly redisPrefix: string;
  /** The nodes started so far, in the order they were started. */
  readonly nodes: RunningNode[];
  /** Starts one more in-process node on an ephemeral port, sharing the database, Redis prefix and bucket. */
  start(roles: string, extra?: Record<string, string>): Promise<RunningNode>;
  /** Clients to close after the file (the notification listeners register theirs). */
  readonly clients: UnimalClient[];
}

/**
 * Real nodes in this process (each with its own pools, HTTP server and roles)
 * over one cloned database, one Redis prefix and one bucket: enough for two
 * gateway nodes behind the Redis adapter, and workers consuming real streams.
 * Starts no node itself: `start` does, in a hook or a test.
 */
export function useInProcessNodes(extraEnv: Record<string, string> = {}): InProcessNodes {
  const nodes: RunningNode[] = [];
  const clients: UnimalClient[] = [];
  let shared: { env: Record<string, string>; dbUrl: string; redisPrefix: string } | undefined;
  const ready = () => shared ?? notReady('useInProcessNodes()');
  let drop: (() => Promise<void>) | undefined;
  let dataDir = '';
  beforeAll(async () => {
    const db = await createTestDatabase('rt');
    drop = db.drop;
    dataDir = mkdtempSync(path.join(tmpdir(), 'unimal-rt-'));
    const redisPrefix = `test:${inject('runId')}:${randomBytes(4).toString('hex')}:`;
    shared = {
      dbUrl: db.url,
      redisPrefix,
      env: {
        ...baseTestEnv(),
        ...s3TestEnv(),
        DATABASE_URL: db.url,
        REDIS_PREFIX: redisPrefix,
        DATA_DIR: dataDir,
        HOST: '127.0.0.1',
        PORT: '0',
        STREAM_CLAIM_IDLE: '1s',
        STREAM_BLOCK: '200ms',
        ...extraEnv,
      },
    };
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await Promise.allSettled(nodes.map((n) => n.stop()));
    if (shared) await deleteRedisPrefix(shared.redisPrefix);
    await drop?.();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });
  return {
    get env() {
      return ready().env;
    },
    get dbUrl() {
      return ready().dbUrl;
    },
    get redisPrefix() {
      return ready().redisPrefix;
    },
    nodes,
    clients,
    async start(roles, extra = {}) {
      const node = await startNode(loadConfig({ ...ready().env, ROLES: roles, ...extra }));
      await node.deps.storage.ensureBucket();
      nodes.push(node);
      return node;
    },
  };
}

export interface ThreeNodes {
  /** Server, gateway and workers. */
  readonly a: RunningNode;
  /** A second gateway: sockets here hear of what went through A by the Redis adapter. */
  readonly b: RunningNode;
  /** A second workers node, so that events are handled concurrently, as in production. */
  readonly c: RunningNode;
  /** The HTTP API of node A. */
  readonly api: HttpApi;
  readonly cluster: InProcessNodes;
}

/** Three in-process nodes (see ThreeNodes), all started before the file's first test. */
export function useThreeNodes(extraEnv: Record<string, string> = {}): ThreeNodes {
  const cluster = useInProcessNodes(extraEnv);
  let started: { a: RunningNode; b: RunningNode; c: RunningNode; api: HttpApi } | undefined;
  const ready = () => started ?? notReady('useThreeNodes()');
  beforeAll(async () => {
    const a = await cluster.start('server,gateway,workers');
    const b = await cluster.start('gateway');
    const c = await cluster.start('workers');
    started = { a, b, c, api: httpApi(nodeUrl(a)) };
  });
  return {
    get a() {
      return ready().a;
    },
    get b() {
      return ready().b;
    },
    get c() {
      return ready().c;
    },
    get api() {
      return ready().api;
    },
    cluster,
  };
}

export const nodeUrl = (node: RunningNode) => `http://127.0.0.1:${node.port}`;

export interface NotificationListener {
  client: UnimalClient;
  received: Notification[];
  /** Resolves with the first notification (already received or to come) that matches. */
  next(match: (n: Notification) => boolean, timeoutMs?: number): Promise<Notification>;
}

/** A client connected to a node, recording every notification it accepts; closed after the file. */
export async function listenForNotifications(
  cluster: InProcessNodes,
  node: RunningNode,
  token: string | (() => string | null),
  options: Partial<UnimalClientOptions> = {},
): Promise<NotificationListener> {
  const received: Notification[] = [];
  const waiters: Array<{
    match: (n: Notification) => boolean;
    resolve: (n: Notification) => void;
  }> = [];
  const client = connectUnimal({
    url: nodeUrl(node),
    getToken: typeof token === 'string' ? () => token : token,
    minDelayMs: 100,
    maxDelayMs: 1000,
    ...options,
    onNotification: (n) => {
      received.push(n);
      for (const w of [...waiters]) {
        if (w.match(n)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(n);
        }
      }
      options.onNotification?.(n);
    },
  });
  cluster.clients.push(client);
  await client.ready;
  return {
    client,
    received,
    next(match, timeoutMs = 10_000) {
      const found = received.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error('no matching notification arrived')),
          timeoutMs,
        );
        waiters.push({
          match,
          resolve: (n) => {
            clearTimeout(timer);
            resolve(n);
          },
        });
      });
    },
  };
}

/**
 * A bare Socket.IO connection (no typed client, no reconnection), for tests of what the
 * gateway refuses: `outcome` is 'connected' or the connect_error message.
 */
export function connectRawSocket(url: string, auth: Record<string, unknown>) {
  const socket = io(url, {
    path: '/socket.io',
    transports: ['websocket'],
    auth,
    reconnection: false,
  });
  const outcome = new Promise<'connected' | string>((resolve) => {
    socket.once('connect', () => resolve('connected'));
    socket.once('connect_error', (err) => resolve(err.message));
  });
  return { socket, outcome };
}

/** Makes `count` users follow `authorId`, straight in SQL (fast for thousands). Returns their ids. */
export async function seedFollowers(sql: Sql, authorId: string, count: number): Promise<string[]> {
  const tag = randomBytes(4).toString('hex');
  const rows = await sql<{ id: string }[]>`
    with made as (
      insert into users (email, handle, display_name, password_hash)
      select 'f' || ${tag} || '_' || i || '@example.com', 'f' || ${tag} || '_' || i, 'Follower ' || i, 'scrypt$x'
      from generate_series(1, ${count}) as i
      returning id
    ), edges as (
      insert into follows (follower_id, followee_id) select id, ${authorId} from made
    )
    select id from made`;
  await sql`update users set follower_count = follower_count + ${count} where id = ${authorId}`;
  return rows.map((r) => r.id);
}
