import type { Config } from './config.ts';
import { createSql, type Sql } from './db.ts';
import { createEmitter, type SocketEmitter } from './emitter.ts';
import { createLogger, type Logger } from './logger.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { createReadCache, type ReadCache } from './read-cache.ts';
import { createRedis, type Redis } from './redis.ts';
import { createSessionCache, type SessionCache } from './session-cache.ts';
import { createStorage, type Storage } from './storage.ts';

/**
 * Everything a role needs, built once per process by the entrypoint (or once per
 * test file) and passed down explicitly. Nothing here lives at module level.
 */
export interface Deps {
  config: Config;
  logger: Logger;
  sql: Sql;
  redis: Redis;
  metrics: Metrics;
  storage: Storage;
  /** Pushes to sockets on every gateway node (through the Redis adapter's channel). */
  emitter: SocketEmitter;
  /** Hot reads shared by every node through Redis, invalidated after each change commits. */
  cache: ReadCache;
  /** Live sessions this node has checked, forgotten when any node revokes them. */
  sessions: SessionCache;
  /**
   * `shuttingDown` is flipped when shutdown begins, so /readyz answers 503 while requests
   * drain; `checks` are the roles' own readiness conditions (the gateway's push
   * subscription), each answering a problem in words, or undefined when fine.
   */
  lifecycle: { shuttingDown: boolean; checks?: Map<string, () => Promise<string | undefined>> };
}

export function createDeps(config: Config, overrides: Partial<Deps> = {}): Deps {
  const logger = overrides.logger ?? createLogger(config);
  const redis = overrides.redis ?? createRedis(config, logger);
  const metrics = overrides.metrics ?? createMetrics();
  return {
    config,
    logger,
    sql: overrides.sql ?? createSql(config, logger),
    redis,
    emitter: overrides.emitter ?? createEmitter(redis, config.redisPrefix, logger),
    metrics,
    storage: overrides.storage ?? createStorage(config),
    cache:
      overrides.cache ?? createReadCache({ ...config.readCache, redis, logger: logger, metrics }),
    sessions:
      overrides.sessions ??
      createSessionCache({
        ttlMs: config.sessionCacheTtlMs,
        redis,
        prefix: config.redisPrefix,
        logger,
        metrics,
      }),
    lifecycle: overrides.lifecycle ?? { shuttingDown: false, checks: new Map() },
  };
}

export async function closeDeps(deps: Deps): Promise<void> {
  deps.storage.destroy();
  deps.cache.close();
  await Promise.allSettled([
    deps.sessions.close(),
    deps.sql.end({ timeout: 5 }),
    deps.redis.status === 'end'
      ? Promise.resolve()
      : deps.redis.quit().catch(() => deps.redis.disconnect()),
  ]);
}
