import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { quoteIdent } from '../core/db.ts';
import { migrate } from '../core/migrate.ts';
import { startEmbeddedS3 } from '../core/storage.ts';
import { adminUrl, databaseUrl, REDIS_URL, TEST_DB_PREFIX } from './helpers/env.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    templateDatabase: string;
    runId: string;
    /** One real S3-compatible server (s3rver) for the run; each test file uses its own bucket. */
    s3Endpoint: string;
  }
}

/** Test databases older than this are leftovers of runs that were killed. */
const STALE_AFTER_MS = 6 * 60 * 60 * 1000;

/**
 * Once per run: check the services, migrate a template database that every test
 * file clones (CREATE DATABASE … TEMPLATE is far faster than migrating each),
 * and drop what earlier killed runs left behind.
 */
export default async function setup(project: TestProject) {
  const runId = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const template = `${TEST_DB_PREFIX}${runId}_tpl`;
  const admin = postgres(adminUrl(), { max: 1, onnotice: () => {} });
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await admin`select 1`;
  } catch (err) {
    throw new Error(`PostgreSQL is not reachable at ${adminUrl()}: ${(err as Error).message}`);
  }
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new Error(`Redis is not reachable at ${REDIS_URL}: ${(err as Error).message}`);
  } finally {
    redis.disconnect();
  }

  await dropStale(admin);
  await deleteStaleRedisKeys();
  await admin.unsafe(`create database ${quoteIdent(template)}`);
  const sql = postgres(databaseUrl(template), { max: 1, onnotice: () => {} });
  try {
    await migrate(sql);
  } finally {
    await sql.end();
  }

  const s3Dir = mkdtempSync(path.join(tmpdir(), 'unimal-test-s3-'));
  const s3 = await startEmbeddedS3({ directory: s3Dir, port: 0 });

  project.provide('templateDatabase', template);
  project.provide('runId', runId);
  project.provide('s3Endpoint', s3.endpoint);

  return async () => {
    await s3.close();
    rmSync(s3Dir, { recursive: true, force: true });
    const rows = await admin<{ datname: string }[]>`
      select datname from pg_database where datname like ${`${TEST_DB_PREFIX}${runId}%`}`;
    for (const { datname } of rows) {
      await admin.unsafe(`drop database if exists ${quoteIdent(datname)} with (force)`);
    }
    await admin.end();
  };
}

async function dropStale(admin: postgres.Sql) {
  const rows = await admin<{ datname: string }[]>`
    select datname from pg_database where datname like ${`${TEST_DB_PREFIX}%`}`;
  for (const { datname } of rows) {
    // <prefix><base-36 start time>_<random>_<suffix>
    const created = Number.parseInt(datname.slice(TEST_DB_PREFIX.length).split('_')[0] ?? '', 36);
    if (Number.isFinite(created) && Date.now() - created > STALE_AFTER_MS) {
      await admin.unsafe(`drop database if exists ${quoteIdent(datname)} with (force)`);
    }
  }
}

/** Keys of runs that were killed before their cleanup (`test:<base-36 start time>_<random>:…`). */
async function deleteStaleRedisKeys() {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', 'test:*', 'COUNT', 1000);
      cursor = next;
      const stale = keys.filter((key) => {
        const started = Number.parseInt(key.split(':')[1]?.split('_')[0] ?? '', 36);
        return Number.isFinite(started) && Date.now() - started > STALE_AFTER_MS;
      });
      if (stale.length > 0) await redis.del(...stale);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
