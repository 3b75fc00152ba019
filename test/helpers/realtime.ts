import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
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
import { createTestDatabase, deleteRedisPrefix, s3TestEnv } from './context.ts';
import { baseTestEnv } from './env.ts';

export interface Cluster {
  env: Record<string, string>;
  dbUrl: string;
  redisPrefix: string;
  nodes: RunningNode[];
  /** Starts one more in-process node on an ephemeral port, sharing the database, Redis prefix and bucket. */
  start(roles: string, extra?: Record<string, string>): Promise<RunningNode>;
  clients: UnimalClient[];
}

/**
 * Real nodes in this process (each with its own pools, HTTP server and roles)
 * over one cloned database, one Redis prefix and one bucket: enough for two
 * gateway nodes behind the Redis adapter, and workers consuming real streams.
 */
export function useCluster(extraEnv: Record<string, string> = {}): Cluster {
  const cluster = { nodes: [], clients: [] } as unknown as Cluster;
  let drop: (() => Promise<void>) | undefined;
  let dataDir = '';
  beforeAll(async () => {
    const db = await createTestDatabase('rt');
    drop = db.drop;
    dataDir = mkdtempSync(path.join(tmpdir(), 'unimal-rt-'));
    cluster.dbUrl = db.url;
    cluster.redisPrefix = `test:${inject('runId')}:${randomBytes(4).toString('hex')}:`;
    cluster.env = {
      ...baseTestEnv(),
      ...s3TestEnv(),
      DATABASE_URL: db.url,
      REDIS_PREFIX: cluster.redisPrefix,
      DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      PORT: '0',
      STREAM_CLAIM_IDLE: '1s',
      STREAM_BLOCK: '200ms',
      ...extraEnv,
    };
    cluster.start = async (roles, extra = {}) => {
      const node = await startNode(loadConfig({ ...cluster.env, ROLES: roles, ...extra }));
      await node.deps.storage.ensureBucket();
      cluster.nodes.push(node);
      return node;
    };
  });
  afterAll(async () => {
    for (const c of cluster.clients) c.close();
    await Promise.allSettled(cluster.nodes.map((n) => n.stop()));
    if (cluster.redisPrefix) await deleteRedisPrefix(cluster.redisPrefix);
    await drop?.();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });
  return cluster;
}

export const nodeUrl = (node: RunningNode) => `http://127.0.0.1:${node.port}`;

export interface Listener {
  client: UnimalClient;
  received: Notification[];
  /** Resolves with the first notification (already received or to come) that matches. */
  next(match: (n: Notification) => boolean, timeoutMs?: number): Promise<Notification>;
}

/** A client helper connected to a node, recording every notification it accepts. */
export async function listen(
  cluster: Cluster,
  node: RunningNode,
  token: string | (() => string | null),
  options: Partial<UnimalClientOptions> = {},
): Promise<Listener> {
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
