import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';

export type { Redis };

/**
 * A Redis client whose keys all carry the configured prefix, so several stacks
 * (or test runs) share one Redis server without seeing each other's keys. The
 * database index in REDIS_URL is honoured by ioredis itself.
 *
 * Commands fail fast while Redis is unreachable (no offline queue), so a request
 * answers 503 instead of hanging; the client keeps reconnecting in the background.
 */
export function createRedis(
  config: Pick<Config, 'redisUrl' | 'redisPrefix'>,
  logger?: Logger,
  options: RedisOptions = {},
): Redis {
  const redis = new Redis(config.redisUrl, {
    keyPrefix: config.redisPrefix,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 5_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    lazyConnect: true,
    ...options,
  });
  let lastError = '';
  redis.on('error', (err: Error) => {
    // ioredis emits the same error on every retry; log each distinct one once.
    if (err.message !== lastError) logger?.warn({ err: err.message }, 'redis error');
    lastError = err.message;
  });
  redis.on('ready', () => {
    if (lastError) logger?.info('redis connection restored');
    lastError = '';
  });
  return redis;
}

/** Connects, resolving once the client is ready or rejecting on the first failure. */
export async function connectRedis(redis: Redis): Promise<void> {
  if (redis.status === 'ready') return;
  if (redis.status === 'wait') {
    await redis.connect();
    return;
  }
  await new Promise<void>((resolve, reject) => {
    redis.once('ready', resolve);
    redis.once('error', reject);
  });
}

/**
 * The full key for commands whose key ioredis does not prefix by itself: the
 * ones with a subcommand, such as XGROUP and XINFO.
 */
export function fullKey(redis: Redis, key: string): string {
  return `${redis.options.keyPrefix ?? ''}${key}`;
}
