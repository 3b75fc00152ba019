// What every Node benchmark here shares: its own database and Redis prefix (removed at
// the end), real node processes on free ports, tokens for seeded users, and figures.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { type AddressInfo, createServer } from 'node:net';
import { cpus, totalmem } from 'node:os';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import type { Socket } from 'socket.io-client';
import { quoteIdent } from '../core/db.ts';
import { createEmitter } from '../core/emitter.ts';
import { createLogger } from '../core/logger.ts';
import { migrate } from '../core/migrate.ts';
import { signAccessToken } from '../domain/auth/tokens.ts';
import { baseTestEnv, databaseUrl, REDIS_URL } from '../test/helpers/env.ts';
import { type NodeProcess, spawnNode } from '../test/helpers/process.ts';
import type { AdapterMode } from './adapter-modes.ts';

export const args = new Map(
  process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]),
);
export const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
export const sorted = (xs: number[]) => [...xs].sort((x, y) => x - y);
export const ms = (n: number) => `${n.toFixed(2)} ms`;
export const log = (...parts: unknown[]) => console.log(...parts);

/**
 * Node options for the processes a benchmark starts: `--inspect` on a free port when their
 * figures are read through the inspector, and `--cpu-prof` into `--cpu-prof=DIR` when the
 * benchmark was run with it (each process writes its profile there as it exits).
 */
export function nodeArgs(options: { inspect?: boolean } = {}): string[] {
  const parts: string[] = [];
  if (options.inspect) parts.push('--inspect=127.0.0.1:0');
  const profileDir = args.get('cpu-prof');
  if (profileDir) parts.push('--cpu-prof', `--cpu-prof-dir=${profileDir}`);
  return parts;
}

async function endProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const closed = new Promise((resolve) => proc.once('close', resolve));
  proc.kill('SIGTERM');
  await closed;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

export async function createBenchRun(name: string) {
  const runId = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const dbName = `unimal_bench_${runId}`;
  const redisPrefix = `bench:${runId}:`;
  const secret = new TextEncoder().encode(baseTestEnv().JWT_SECRET);
  const admin = postgres(databaseUrl('postgres'), { max: 1, onnotice: () => {} });
  const nodes: NodeProcess[] = [];
  const bareNodes: ChildProcess[] = [];
  const sockets: Socket[] = [];
  const redisClients: Redis[] = [];
  log(`# ${name} — ${new Date().toISOString()}`);
  log(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`,
  );
  await admin.unsafe(`create database ${quoteIdent(dbName)}`);
  const sql = postgres(databaseUrl(dbName), { max: 4, onnotice: () => {} });
  await migrate(sql);
  const nodeEnv = {
    DATABASE_URL: databaseUrl(dbName),
    REDIS_PREFIX: redisPrefix,
    S3_EMBEDDED: 'false',
    S3_ENDPOINT: 'http://127.0.0.1:9',
    S3_ACCESS_KEY_ID: 'x',
    S3_SECRET_ACCESS_KEY: 'x',
    // Required of nodes without the server role; the benchmarks open no photo.
    MEDIA_PUBLIC_URL: 'http://localhost/media',
    // Quiet nodes: a log line per request would be measured too.
    LOG_LEVEL: 'warn',
    DATA_DIR: `/tmp/unimal-bench-${runId}`,
  };

  return {
    sql,
    redisPrefix,
    sockets,
    /** A node process with these roles, on a free port. */
    async start(roles: string, options: { inspect?: boolean; env?: Record<string, string> } = {}) {
      const node = await spawnNode(
        { ...nodeEnv, ROLES: roles, PORT: String(await freePort()), ...options.env },
        30_000,
        nodeArgs(options),
      );
      nodes.push(node);
      return node;
    },
    /**
     * A bare Socket.IO node (bare-gateway.ts), the baseline, with the adapter in `mode` on
     * this run's channel `channel` (distinct from the stack's).
     */
    async startBare(mode: AdapterMode, channel: string) {
      const proc = spawn(
        process.execPath,
        [
          ...nodeArgs({ inspect: true }),
          '--import',
          'tsx',
          new URL('./bare-gateway.ts', import.meta.url).pathname,
        ],
        {
          env: {
            PATH: process.env.PATH ?? '',
            REDIS_URL,
            BARE_ADAPTER: mode,
            BARE_CHANNEL: `${redisPrefix}${channel}`,
            JWT_SECRET: baseTestEnv().JWT_SECRET,
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      bareNodes.push(proc);
      let stderr = '';
      proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
      });
      let stdout = '';
      proc.stdout!.setEncoding('utf8');
      while (!/listening \d+/.test(stdout)) {
        const chunk = await new Promise<string | null>((resolve) => {
          proc.stdout!.once('data', resolve);
          proc.once('close', () => resolve(null));
        });
        if (chunk === null) throw new Error(`bare node ended: ${stderr}`);
        stdout += chunk;
      }
      const port = Number(/listening (\d+)/.exec(stdout)![1]);
      return { proc, url: `http://127.0.0.1:${port}`, stderr: () => stderr };
    },
    /** Access tokens for users (one live session each), signed as the nodes expect. */
    async tokensFor(userIds: string[]): Promise<string[]> {
      const sessions = await sql<{ id: string; userId: string }[]>`
        insert into sessions (user_id, expires_at)
        select unnest(${userIds}::uuid[]), now() + interval '1 day'
        returning id, user_id as "userId"`;
      const byUser = new Map(sessions.map((s) => [s.userId, s.id]));
      return Promise.all(
        userIds.map((userId) =>
          signAccessToken({ userId, sessionId: byUser.get(userId)! }, secret, 3_600_000),
        ),
      );
    },
    /** Stops one node this run started (SIGTERM, waits for it to end). */
    async stop(node: { proc: ChildProcess }) {
      await endProcess(node.proc);
      const i = nodes.findIndex((n) => n.proc === node.proc);
      if (i >= 0) nodes.splice(i, 1);
      const j = bareNodes.indexOf(node.proc);
      if (j >= 0) bareNodes.splice(j, 1);
    },
    /** A Redis client on this run's prefix, disconnected with the run. */
    redis: () => {
      const client = new Redis(REDIS_URL, { keyPrefix: redisPrefix });
      redisClients.push(client);
      return client;
    },
    async cleanup() {
      for (const s of sockets) s.close();
      for (const client of redisClients) client.disconnect();
      await Promise.allSettled([...nodes.map((n) => n.proc), ...bareNodes].map(endProcess));
      await sql.end();
      await admin
        .unsafe(`drop database if exists ${quoteIdent(dbName)} with (force)`)
        .catch(() => {});
      const redis = new Redis(REDIS_URL);
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${redisPrefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await redis.del(...keys);
      } while (cursor !== '0');
      redis.disconnect();
      await admin.end();
    },
  };
}

export type BenchRun = Awaited<ReturnType<typeof createBenchRun>>;

/** Runs a benchmark and always cleans up after it. */
export async function runBench(name: string, body: (run: BenchRun) => Promise<void>) {
  const run = await createBenchRun(name);
  try {
    await body(run);
  } catch (err) {
    console.error(err);
    process.exitCode = 1;
  } finally {
    await run.cleanup();
  }
}

/**
 * A socket emitter onto the run's stack (its Redis prefix), pushing the way the workers do;
 * its Redis client is one of the run's, closed when the run ends.
 */
export function benchEmitter(run: BenchRun) {
  const redis = run.redis();
  const logger = createLogger({ logLevel: 'silent', env: 'test' });
  return { redis, emitter: createEmitter(redis, run.redisPrefix, logger) };
}
