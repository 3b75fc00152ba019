import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import type { Redis } from './redis.ts';

/**
 * A read-through cache of hot reads in Redis, shared by every node.
 *
 * Every entry has a generation: `cache:{scope}:gen` counts the changes to what
 * the entry shows, and a value is stored as `<generation>:<json>`. A reader
 * reads the generation and the value together (one MGET: both keys share a
 * hash tag) and serves the value only when it was filled at the current
 * generation. A change, once committed, bumps the generation (invalidate):
 * from then on no node serves what was stored before, and a refill that read
 * PostgreSQL before the change and writes after it (the delete-then-stale-refill
 * race) writes under the old generation, so nobody ever serves it.
 *
 * One refill per entry at a time across nodes: the first miss takes a short
 * lock (SET NX) and loads; other nodes wait for its value a little, then load
 * for themselves without storing. Within one node, concurrent misses of one
 * entry share one load.
 *
 * Redis away (or slow): reads fall through to PostgreSQL and nothing fails. An
 * invalidation that could not reach Redis is retried until it lands or every
 * value it had to hide has expired (at most `ttlMs`).
 */
export interface ReadCache {
  readonly enabled: boolean;
  /** True while reads use Redis (enabled, and its connection is up). */
  readonly usable: boolean;
  /** The entry's value, from Redis or else from `load` (stored for the next reader). */
  read<T>(entry: CacheEntry, load: () => Promise<T>): Promise<T>;
  /**
   * Several entries at once, in one round trip: the misses are loaded together by
   * `loadMissing` (keyed by each entry's `key`, else its scope; one it leaves out
   * reads as undefined). Misses here are not locked across nodes: a list's entries
   * are refilled by one statement for all of them, not one each.
   */
  readMany<T>(
    entries: CacheEntry[],
    loadMissing: (missing: CacheEntry[]) => Promise<Map<string, T>>,
  ): Promise<Map<string, T | undefined>>;
  /** After a change committed: every node stops serving what these entries held. */
  invalidate(scopes: string[]): Promise<void>;
  close(): void;
}

/**
 * One cached value: `kind` labels the metrics, `scope` is what a change
 * invalidates (its generation), `key` names the value within the scope (the
 * scope itself when it holds one value; a map view within the map's scope).
 */
export interface CacheEntry {
  kind: string;
  scope: string;
  key?: string;
}

/** How long a refill may hold its lock, and how long another node waits for it. */
const LOCK_MS = 2_000;
const WAIT_MS = 150;
const WAIT_STEP_MS = 10;
/**
 * A cache command slower than this is given up (the read goes to PostgreSQL): a Redis
 * that hangs without closing the connection. Generous, because under a crowd of requests
 * a reply already in the socket waits for the event loop's next turn, and every read
 * given up would cost PostgreSQL as well.
 */
const COMMAND_TIMEOUT_MS = 2_000;
/** Generations outlive values by far: a refill never takes this long. */
const GENERATION_TTL_MS = 24 * 3_600_000;
const INVALIDATIONS_PER_CALL = 1_000;

const genKey = (scope: string) => `cache:{${scope}}:gen`;
const valueKey = (entry: CacheEntry) =>
  `cache:{${entry.scope}}${entry.key === undefined ? '' : `:${entry.key}`}`;
const lockKey = (entry: CacheEntry) => `${valueKey(entry)}:lock`;
const idOf = (entry: CacheEntry) => valueKey(entry);

/** Bumps every generation given (KEYS) and sets their time to live (ARGV[1] ms). */
const INVALIDATE_SCRIPT = `
for _, key in ipairs(KEYS) do
  redis.call('incr', key)
  redis.call('pexpire', key, ARGV[1])
end
return #KEYS`;

class Timeout extends Error {}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Timeout('cache command timed out')), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export function createReadCache(options: {
  enabled: boolean;
  ttlMs: number;
  redis: Redis;
  logger: Logger;
  metrics: Metrics;
}): ReadCache {
  const { logger, metrics, ttlMs } = options;
  const enabled = options.enabled && ttlMs > 0;
  // A connection of its own, auto-pipelined: the lookups of every request in flight go
  // to Redis in one write per turn of the event loop instead of one each (under a crowd
  // of reads, a socket write per lookup cost more CPU than the lookups themselves).
  const redis = options.redis.duplicate({ enableAutoPipelining: true, lazyConnect: true });
  /** Loads in flight on this node, by value key: concurrent misses share one. */
  const loading = new Map<string, Promise<unknown>>();
  /** Invalidations Redis has not taken yet, by generation key, with their deadline. */
  const unsent = new Map<string, number>();
  let retryTimer: NodeJS.Timeout | undefined;
  let closed = false;
  let lastError = '';

  const failed = (err: unknown) => {
    const message = (err as Error).message;
    if (message !== lastError) logger.warn({ err: message }, 'read cache: redis command failed');
    lastError = message;
  };
  redis.on('error', failed);
  if (enabled) {
    redis.connect().catch(() => {
      // Keeps reconnecting in the background; reads go to PostgreSQL meanwhile.
    });
  }

  const usable = () => enabled && !closed && redis.status === 'ready';
  const count = (kind: string, outcome: 'hit' | 'miss' | 'bypass') =>
    metrics.cacheLookups.inc({ kind, outcome });

  /** The generation and the stored value of each entry (rejects when Redis cannot answer). */
  const lookup = async (entries: CacheEntry[]) => {
    const replies = await withTimeout(
      Promise.all(entries.map((entry) => redis.mget(genKey(entry.scope), valueKey(entry)))),
      COMMAND_TIMEOUT_MS,
    );
    return replies.map(([gen, value]) => ({ gen: gen ?? '0', value: value ?? null }));
  };

  /** The stored value when it was filled at generation `gen`. */
  const decode = (gen: string, value: string | null): { hit: true; value: unknown } | undefined => {
    if (value === null) return undefined;
    const colon = value.indexOf(':');
    if (value.slice(0, colon) !== gen) return undefined;
    return { hit: true, value: JSON.parse(value.slice(colon + 1)) };
  };

  const store = (entry: CacheEntry, gen: string, value: unknown) =>
    withTimeout(
      redis.set(valueKey(entry), `${gen}:${JSON.stringify(value ?? null)}`, 'PX', ttlMs),
      COMMAND_TIMEOUT_MS,
    ).catch(failed);

  /** Loads a missed entry: one refill across nodes, one load per node. */
  const refill = <T>(entry: CacheEntry, gen: string, load: () => Promise<T>): Promise<T> => {
    const id = idOf(entry);
    const running = loading.get(id);
    if (running) return running as Promise<T>;
    const work = (async () => {
      let locked = false;
      try {
        locked =
          (await withTimeout(
            redis.set(lockKey(entry), '1', 'PX', LOCK_MS, 'NX'),
            COMMAND_TIMEOUT_MS,
          )) === 'OK';
      } catch (err) {
        failed(err);
        return load();
      }
      if (!locked) {
        // Another node is loading it: its value is likely there in a moment.
        for (let waited = 0; waited < WAIT_MS; waited += WAIT_STEP_MS) {
          await sleep(WAIT_STEP_MS);
          const found = await lookup([entry]).then(
            ([r]) => decode(r!.gen, r!.value),
            () => undefined,
          );
          if (found) return (found.value ?? undefined) as T;
        }
        return load();
      }
      try {
        const value = await load();
        await store(entry, gen, value);
        return value;
      } finally {
        redis.del(lockKey(entry)).catch(() => {});
      }
    })().finally(() => loading.delete(id));
    loading.set(id, work);
    return work;
  };

  /** Bumps the generations, a thousand to a script call (a fan-out invalidates thousands). */
  const sendInvalidations = async (keys: string[]) => {
    const calls: Array<Promise<unknown>> = [];
    for (let i = 0; i < keys.length; i += INVALIDATIONS_PER_CALL) {
      const some = keys.slice(i, i + INVALIDATIONS_PER_CALL);
      calls.push(redis.eval(INVALIDATE_SCRIPT, some.length, ...some, GENERATION_TTL_MS));
    }
    await withTimeout(Promise.all(calls), COMMAND_TIMEOUT_MS);
  };

  const retryUnsent = () => {
    if (retryTimer || closed) return;
    retryTimer = setTimeout(async () => {
      retryTimer = undefined;
      const now = Date.now();
      for (const [key, until] of unsent) if (until < now) unsent.delete(key);
      if (unsent.size === 0) return;
      const keys = [...unsent.keys()];
      try {
        await sendInvalidations(keys);
        for (const key of keys) unsent.delete(key);
        logger.info({ count: keys.length }, 'read cache: held-back invalidations sent');
      } catch {
        retryUnsent();
      }
    }, 250);
    retryTimer.unref();
  };

  return {
    enabled,
    get usable() {
      return usable();
    },

    async read<T>(entry: CacheEntry, load: () => Promise<T>): Promise<T> {
      if (!usable()) {
        count(entry.kind, 'bypass');
        return load();
      }
      let found: { gen: string; value: string | null };
      try {
        [found] = (await lookup([entry])) as [{ gen: string; value: string | null }];
      } catch (err) {
        failed(err);
        count(entry.kind, 'bypass');
        return load();
      }
      const hit = decode(found.gen, found.value);
      if (hit) {
        count(entry.kind, 'hit');
        return (hit.value ?? undefined) as T;
      }
      count(entry.kind, 'miss');
      return refill(entry, found.gen, load);
    },

    async readMany<T>(
      entries: CacheEntry[],
      loadMissing: (missing: CacheEntry[]) => Promise<Map<string, T>>,
    ): Promise<Map<string, T | undefined>> {
      const out = new Map<string, T | undefined>();
      if (entries.length === 0) return out;
      const keyOf = (e: CacheEntry) => e.key ?? e.scope;
      let found: Array<{ gen: string; value: string | null }> | undefined;
      if (usable()) {
        try {
          found = await lookup(entries);
        } catch (err) {
          failed(err);
        }
      }
      const missing: Array<{ entry: CacheEntry; gen: string | undefined }> = [];
      entries.forEach((entry, i) => {
        const hit = found ? decode(found[i]!.gen, found[i]!.value) : undefined;
        count(entry.kind, found ? (hit ? 'hit' : 'miss') : 'bypass');
        if (hit) out.set(keyOf(entry), (hit.value ?? undefined) as T);
        else missing.push({ entry, gen: found?.[i]?.gen });
      });
      if (missing.length === 0) return out;
      const loaded = await loadMissing(missing.map((m) => m.entry));
      for (const { entry, gen } of missing) {
        const value = loaded.get(keyOf(entry));
        out.set(keyOf(entry), value);
        if (gen !== undefined) void store(entry, gen, value ?? null);
      }
      return out;
    },

    async invalidate(scopes) {
      if (!enabled || scopes.length === 0) return;
      const keys = [...new Set(scopes)].map(genKey);
      try {
        if (redis.status !== 'ready') throw new Error(`redis is ${redis.status}`);
        await sendInvalidations(keys);
      } catch (err) {
        failed(err);
        // Values may still sit in Redis (a network split, not a restart): hide them
        // as soon as Redis is back. After ttlMs they have expired anyway.
        const until = Date.now() + ttlMs;
        for (const key of keys) unsent.set(key, until);
        retryUnsent();
      }
    },

    close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      unsent.clear();
      redis.disconnect();
    },
  };
}
