import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteRedisPrefix } from '../test/helpers/context.ts';
import { REDIS_URL } from '../test/helpers/env.ts';
import { freePorts } from '../test/helpers/services.ts';
import { createLogger } from './logger.ts';
import { createMetrics } from './metrics.ts';
import { createReadCache, type ReadCache } from './read-cache.ts';
import { connectRedis, createRedis, type Redis } from './redis.ts';

// The read cache against a real Redis: two caches on two connections play two nodes.
const prefix = `test:readcache:${randomBytes(4).toString('hex')}:`;
const logger = createLogger({ env: 'test', logLevel: 'silent' });
const clients: Redis[] = [];
const caches: ReadCache[] = [];

afterAll(async () => {
  for (const c of caches) c.close();
  for (const r of clients) r.disconnect();
  await deleteRedisPrefix(prefix);
});

async function node(options: { enabled?: boolean; redisUrl?: string } = {}) {
  const redis = createRedis({ redisUrl: options.redisUrl ?? REDIS_URL, redisPrefix: prefix });
  clients.push(redis);
  if (!options.redisUrl) await connectRedis(redis);
  const metrics = createMetrics();
  const cache = createReadCache({
    enabled: options.enabled ?? true,
    ttlMs: 60_000,
    redis,
    logger,
    metrics,
  });
  caches.push(cache);
  // The cache connects on its own; reads before that go to the loader.
  if (!options.redisUrl && options.enabled !== false) {
    await expect.poll(() => cache.usable).toBe(true);
  }
  const lookups = async (outcome: string) =>
    (await metrics.cacheLookups.get()).values
      .filter((v) => v.labels.outcome === outcome)
      .reduce((n, v) => n + v.value, 0);
  return { cache, redis, lookups };
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const entry = (scope: string) => ({ kind: 'post', scope });

describe('read cache', () => {
  it('serves what it stored, and after an invalidation on another node, the new value', async () => {
    const a = await node();
    const b = await node();
    const scope = `post:${randomBytes(4).toString('hex')}`;
    let db = 'first';
    const load = async () => db;
    expect(await a.cache.read(entry(scope), load)).toBe('first');
    db = 'second';
    // Stored: b serves the first value without loading.
    expect(await b.cache.read(entry(scope), load)).toBe('first');
    expect(await b.lookups('hit')).toBe(1);
    await a.cache.invalidate([scope]);
    expect(await b.cache.read(entry(scope), load)).toBe('second');
    expect(await a.cache.read(entry(scope), load)).toBe('second');
  });

  it('never keeps a value loaded before a change that a late refill stores after it', async () => {
    const { cache } = await node();
    const writer = await node();
    const scope = `post:${randomBytes(4).toString('hex')}`;
    let db = 'old';
    // The refill reads PostgreSQL (the old value), then stalls before storing it ...
    const loaded = deferred<void>();
    const release = deferred<void>();
    const slowLoad = async () => {
      const value = db;
      loaded.resolve();
      await release.promise;
      return value;
    };
    const reading = cache.read(entry(scope), slowLoad);
    await loaded.promise;
    // ... while the change commits and is invalidated, and only then does the refill store.
    db = 'new';
    await writer.cache.invalidate([scope]);
    release.resolve();
    expect(await reading).toBe('old');
    // The late refill's value is never served: the next reads load the new one.
    let loads = 0;
    const load = async () => {
      loads++;
      return db;
    };
    expect(await cache.read(entry(scope), load)).toBe('new');
    expect(await writer.cache.read(entry(scope), load)).toBe('new');
    expect(loads).toBe(1);
  });

  it('refills a missed entry once across nodes, however many read it at once', async () => {
    const a = await node();
    const b = await node();
    const scope = `post:${randomBytes(4).toString('hex')}`;
    let loads = 0;
    const gate = deferred<void>();
    const load = async () => {
      loads++;
      await gate.promise;
      return { views: 42 };
    };
    const reads = Array.from({ length: 50 }, (_, i) =>
      (i % 2 ? a : b).cache.read(entry(scope), load),
    );
    // Every read has missed and is loading or waiting once the lock is taken.
    await expect.poll(() => a.redis.exists(`cache:{${scope}}:lock`)).toBe(1);
    gate.resolve();
    expect(await Promise.all(reads)).toEqual(Array(50).fill({ views: 42 }));
    expect(loads).toBe(1);
  });

  it('reads several entries in one round trip and loads only the missing ones together', async () => {
    const { cache } = await node();
    const ids = ['a', 'b', 'c'].map((s) => `post:${s}${randomBytes(4).toString('hex')}`);
    const asked: string[][] = [];
    const loadMissing = async (missing: { scope: string }[]) => {
      asked.push(missing.map((m) => m.scope));
      return new Map(missing.map((m) => [m.scope, `value of ${m.scope}`]));
    };
    await cache.read(entry(ids[1]!), async () => `value of ${ids[1]}`);
    const first = await cache.readMany(ids.map(entry), loadMissing);
    expect(ids.map((id) => first.get(id))).toEqual(ids.map((id) => `value of ${id}`));
    expect(asked).toEqual([[ids[0], ids[2]]]);
    await cache.readMany(ids.map(entry), loadMissing);
    expect(asked).toHaveLength(1);
  });

  it('falls through to the loader when Redis is unreachable, and a change there fails nothing', async () => {
    const [port] = await freePorts(1);
    const away = await node({ redisUrl: `redis://127.0.0.1:${port}/0` });
    let loads = 0;
    const load = async () => ++loads;
    expect(await away.cache.read(entry('post:x'), load)).toBe(1);
    expect(await away.cache.read(entry('post:x'), load)).toBe(2);
    const many = await away.cache.readMany([entry('post:y')], async () => new Map([['post:y', 7]]));
    expect(many.get('post:y')).toBe(7);
    await expect(away.cache.invalidate(['post:x'])).resolves.toBeUndefined();
    expect(await away.lookups('bypass')).toBe(3);
  });

  it('stores nothing and always loads when turned off', async () => {
    const off = await node({ enabled: false });
    const scope = `post:${randomBytes(4).toString('hex')}`;
    let loads = 0;
    const load = async () => ++loads;
    await off.cache.read(entry(scope), load);
    await off.cache.read(entry(scope), load);
    expect(loads).toBe(2);
    expect(await off.redis.exists(`cache:{${scope}}`, `cache:{${scope}}:gen`)).toBe(0);
    expect(await off.lookups('bypass')).toBe(2);
  });
});
