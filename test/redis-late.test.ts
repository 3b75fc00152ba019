import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { io as connectRaw } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Notification, socketChannelKey, userRoom } from '../contract/index.ts';
import { createEmitter } from '../core/emitter.ts';
import { createLogger } from '../core/logger.ts';
import { channelPrefix, closeRedis, connectRedis, createRedis } from '../core/redis.ts';
import { signAccessToken } from '../domain/auth/tokens.ts';
import { buildNotification, buildUser } from './helpers/builders.ts';
import { createTestDatabase, s3TestEnv } from './helpers/context.ts';
import { baseTestEnv } from './helpers/env.ts';
import { type NodeProcess, spawnNode } from './helpers/process.ts';

/**
 * Every role started while Redis is not there yet: each stays up, says why it is not
 * ready, and serves once a real redis-server (started late, on a spare port) answers.
 */
const ROLES = {
  server: 'server',
  gateway: 'gateway',
  workers: 'workers',
  all: 'server,gateway,workers',
} as const;
type RoleName = keyof typeof ROLES;

const redisPrefix = `test:${inject('runId')}:late:${randomBytes(3).toString('hex')}:`;
const dataDir = mkdtempSync(path.join(tmpdir(), 'unimal-late-'));
const nodes = new Map<RoleName, NodeProcess>();
let port = 0;
let releasePort: () => Promise<void> = async () => {};
let redisUrl = '';
let redisServer: ChildProcess | undefined;
let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;

/**
 * A port held until redis-server takes it. A port probed and let go at once could be
 * handed to any outgoing connection of a busy machine (ephemeral ports) before Redis
 * binds it seconds later; held by a listener that drops every connection, it stays
 * ours, and the nodes still see a Redis that is not there.
 */
async function holdSparePort(): Promise<{ port: number; release(): Promise<void> }> {
  const holder = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    holder.once('error', reject);
    holder.listen(0, '127.0.0.1', () => resolve());
  });
  const { port: p } = holder.address() as { port: number };
  return { port: p, release: () => new Promise<void>((resolve) => holder.close(() => resolve())) };
}

const readyz = async (node: NodeProcess) => {
  const res = await fetch(`${node.url}/readyz`);
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) as Record<string, any> };
};
const alive = (node: NodeProcess) => node.proc.exitCode === null && node.proc.signalCode === null;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  db = await createTestDatabase('late');
  ({ port, release: releasePort } = await holdSparePort());
  redisUrl = `redis://127.0.0.1:${port}/0`;
  const env = {
    ...s3TestEnv(),
    DATABASE_URL: db.url,
    REDIS_URL: redisUrl,
    REDIS_PREFIX: redisPrefix,
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
  };
  const started = await Promise.all(
    Object.entries(ROLES).map(async ([name, roles]) => {
      const node = await spawnNode({ ...env, ROLES: roles }, 60_000);
      return [name as RoleName, node] as const;
    }),
  );
  for (const [name, node] of started) nodes.set(name, node);
}, 90_000);

afterAll(async () => {
  await releasePort();
  await Promise.all([...nodes.values()].map((n) => n.stop('SIGKILL')));
  if (redisServer && redisServer.exitCode === null) {
    const gone = new Promise((r) => redisServer!.once('exit', r));
    redisServer.kill('SIGTERM');
    await gone;
  }
  await db?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('Redis unreachable at start', { timeout: 90_000 }, () => {
  it('every role stays up and answers /readyz 503 with a readable reason', async () => {
    // Long enough to cover the moment a gateway node used to die (a second or so after
    // listening, when its adapter's queued SUBSCRIBE ran out of retries).
    const until = Date.now() + 3_000;
    while (Date.now() < until) {
      for (const [name, node] of nodes) {
        expect(alive(node), `${name} is alive`).toBe(true);
        const res = await readyz(node);
        expect(res.status, name).toBe(503);
        expect(res.body).toMatchObject({
          status: 'unavailable',
          checks: {
            postgres: { ok: true },
            redis: { ok: false, error: `unreachable (redis://127.0.0.1:${port}/0)` },
          },
        });
        expect(res.text).not.toMatch(/enableOfflineQueue|MaxRetriesPerRequest|ioredis|\n\s+at /);
        // A gateway also says its push subscription is down.
        expect(res.body.checks.gateway, name).toEqual(
          name === 'gateway' || name === 'all'
            ? { ok: false, error: `push subscription down (redis://127.0.0.1:${port}/0)` }
            : undefined,
        );
      }
      await pause(250);
    }
    for (const [name, node] of nodes) {
      const output = `${node.stderr()}\n${JSON.stringify(node.logs)}`;
      expect(output, name).not.toMatch(/MaxRetriesPerRequestError|unhandled/i);
    }
  });

  it('serves once Redis answers, without a restart', async () => {
    await releasePort();
    redisServer = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    // A redis-server that could not start would otherwise show up as a 20 s poll timeout.
    let redisExit: string | undefined;
    redisServer.once('exit', (code, signal) => {
      redisExit = `redis-server exited (${code ?? signal})`;
    });

    for (const [name, node] of nodes) {
      await expect
        .poll(async () => redisExit ?? (await readyz(node)).status, {
          timeout: 20_000,
          interval: 200,
        })
        .toBe(200);
      expect(alive(node), name).toBe(true);
    }

    // The server roles take a signup (it goes through Redis: the rate limiter).
    for (const name of ['server', 'all'] as const) {
      const res = await fetch(`${nodes.get(name)!.url}/api/v1/auth/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(buildUser()),
      });
      expect(res.status, name).toBe(201);
    }

    // The gateway roles: a client connects and receives a push from another process.
    const sql = postgres(db!.url, { max: 1, onnotice: () => {} });
    const logger = createLogger({ logLevel: 'silent', env: 'test' });
    const redis = createRedis({ redisUrl, redisPrefix }, logger);
    try {
      await connectRedis(redis);
      const tag = randomBytes(4).toString('hex');
      const [user] = await sql<{ id: string }[]>`
        insert into users (email, handle, display_name, password_hash)
        values (${`late_${tag}@example.com`}, ${`late_${tag}`}, 'Late', 'scrypt$x')
        returning id`;
      const [session] = await sql<{ id: string }[]>`
        insert into sessions (user_id, expires_at) values (${user!.id}, now() + interval '1 day')
        returning id`;
      const token = await signAccessToken(
        { userId: user!.id, sessionId: session!.id },
        new TextEncoder().encode(baseTestEnv().JWT_SECRET),
        3_600_000,
      );
      // Each gateway node's adapter subscribes on a connection of its own, which comes
      // back on its own retry schedule; /readyz waits for it, so both gateway nodes that
      // answered 200 above are subscribed already.
      const requestChannel = `${socketChannelKey(channelPrefix(redisPrefix, redis))}-request#/#`;
      expect((await redis.pubsub('NUMSUB', requestChannel))[1]).toBe(2);

      const emitter = createEmitter(redis, redisPrefix, logger);
      for (const name of ['gateway', 'all'] as const) {
        const socket = connectRaw(nodes.get(name)!.url, {
          path: '/socket.io',
          transports: ['websocket'],
          auth: { token },
          reconnection: false,
        });
        try {
          await new Promise<void>((resolve, reject) => {
            socket.once('connect', resolve);
            socket.once('connect_error', reject);
          });
          const received = new Promise<Notification>((resolve) =>
            socket.once('notification', resolve),
          );
          const id = `late-${name}`;
          emitter.to(userRoom(user!.id)).emit('notification', buildNotification({ id }));
          expect((await received).id, name).toBe(id);
        } finally {
          socket.close();
        }
      }
    } finally {
      await closeRedis(redis);
      await sql.end();
    }
    for (const [name, node] of nodes) expect(alive(node), name).toBe(true);
  });
});
