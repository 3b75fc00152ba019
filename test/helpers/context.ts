import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Hono } from 'hono';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { afterAll, beforeAll, inject } from 'vitest';
import { loadConfig, resolveConfig } from '../../core/config.ts';
import { quoteIdent } from '../../core/db.ts';
import { closeDeps, createDeps, type Deps } from '../../core/deps.ts';
import { createHttpApp } from '../../core/http/app.ts';
import type { AppEnv } from '../../core/http/types.ts';
import { connectRedis } from '../../core/redis.ts';
import { createApi } from '../../server/api.ts';
import { notReady } from './before-all.ts';
import { adminUrl, baseTestEnv, databaseUrl, REDIS_URL, TEST_DB_PREFIX } from './env.ts';

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RequestOptions {
  body?: unknown;
  /** Sent as-is instead of JSON-encoding `body`. */
  raw?: string | Uint8Array;
  token?: string;
  headers?: Record<string, string>;
}

export interface TestContext {
  deps: Deps;
  app: Hono<AppEnv>;
  dbName: string;
  dbUrl: string;
  redisPrefix: string;
  request<T = any>(method: string, path: string, options?: RequestOptions): Promise<ApiResponse<T>>;
}

/** A fresh database cloned from the migrated template, and a fresh name in the test run. */
export async function createTestDatabase(
  suffix = 'db',
): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = `${TEST_DB_PREFIX}${inject('runId')}_${suffix}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(adminUrl(), { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(
      `create database ${quoteIdent(name)} template ${quoteIdent(inject('templateDatabase'))}`,
    );
  } finally {
    await admin.end();
  }
  return {
    name,
    url: databaseUrl(name),
    async drop() {
      const a = postgres(adminUrl(), { max: 1, onnotice: () => {} });
      try {
        await a.unsafe(`drop database if exists ${quoteIdent(name)} with (force)`);
      } finally {
        await a.end();
      }
    },
  };
}

/** The run's S3-compatible server and a bucket of this test file's own. */
export function s3TestEnv(): Record<string, string> {
  return {
    S3_ENDPOINT: inject('s3Endpoint'),
    S3_BUCKET: `test-${randomBytes(6).toString('hex')}`,
    S3_ACCESS_KEY_ID: 'S3RVER',
    S3_SECRET_ACCESS_KEY: 'S3RVER',
    S3_EMBEDDED: 'false',
    MEDIA_PUBLIC_URL: 'http://media.test/m',
  };
}

/** Deletes every key under a prefix (used to leave the shared Redis as we found it). */
export async function deleteRedisPrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/**
 * Per test file: its own database and Redis prefix, deps built exactly as a
 * server node builds them, and the HTTP app driven in-process. Call at the top
 * level of a test file; everything is torn down after the file.
 */
export function useTestContext(env: Record<string, string> = {}): TestContext {
  let ctx: TestContext | undefined;
  const ready = () => ctx ?? notReady('useTestContext()');
  let dataDir = '';
  let drop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    const db = await createTestDatabase('app');
    drop = db.drop;
    dataDir = mkdtempSync(path.join(tmpdir(), 'unimal-test-'));
    const redisPrefix = `test:${inject('runId')}:${randomBytes(4).toString('hex')}:`;
    const config = resolveConfig(
      loadConfig({
        ...baseTestEnv(),
        ...s3TestEnv(),
        DATABASE_URL: db.url,
        REDIS_PREFIX: redisPrefix,
        DATA_DIR: dataDir,
        ...env,
      }),
    );
    const deps = createDeps(config);
    await connectRedis(deps.redis);
    await deps.storage.ensureBucket();
    const app = createHttpApp(deps, { api: createApi(deps) });
    ctx = {
      deps,
      app,
      dbName: db.name,
      dbUrl: db.url,
      redisPrefix,
      request: (method, p, options = {}) => request(app, method, p, options),
    };
  });

  afterAll(async () => {
    if (ctx) {
      await closeDeps(ctx.deps);
      await deleteRedisPrefix(ctx.redisPrefix);
    }
    await drop?.();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  return {
    get deps() {
      return ready().deps;
    },
    get app() {
      return ready().app;
    },
    get dbName() {
      return ready().dbName;
    },
    get dbUrl() {
      return ready().dbUrl;
    },
    get redisPrefix() {
      return ready().redisPrefix;
    },
    request: (method, p, options) => ready().request(method, p, options),
  };
}

export async function request<T = any>(
  app: Hono<AppEnv>,
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | Uint8Array | undefined;
  if (options.raw !== undefined) {
    body = options.raw;
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const res = await app.request(path, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  if (res.headers.get('content-type')?.includes('json') && text) parsed = JSON.parse(text);
  return { status: res.status, headers: res.headers, body: parsed as T, text };
}

/** Serves an app over HTTP on an ephemeral loopback port (for real sockets and browsers). */
export async function serveApp(
  app: Hono<AppEnv>,
): Promise<{ url: string; close(): Promise<void> }> {
  const { serve } = await import('@hono/node-server');
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            (server as import('node:http').Server).closeAllConnections();
          }),
      });
    });
  });
}
