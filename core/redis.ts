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

/**
 * Connects, resolving once the client is ready or rejecting on the first failure
 * (with its cause, such as `connect ECONNREFUSED 127.0.0.1:6379`, rather than
 * ioredis' "Connection is closed."). The client keeps reconnecting either way.
 */
export async function connectRedis(redis: Redis): Promise<void> {
  if (redis.status === 'ready') return;
  if (redis.status === 'wait') {
    let cause: Error | undefined;
    const onError = (err: Error) => {
      cause ??= err;
    };
    redis.on('error', onError);
    try {
      await redis.connect();
    } catch (err) {
      throw cause ?? err;
    } finally {
      redis.off('error', onError);
    }
    return;
  }
  await new Promise<void>((resolve, reject) => {
    redis.once('ready', resolve);
    redis.once('error', reject);
  });
}

/**
 * The prefix of every pub/sub channel of one stack: the Socket.IO adapter's and
 * emitter's channels, session revocations. Redis pub/sub ignores the database
 * index (a message published while SELECTed to db 1 reaches subscribers of every
 * db), so stacks that share a server by database index would hear each other if
 * the channel carried the key prefix alone. It carries both: `unimal:` on db 2
 * gives `unimal:db2:`. Distinct stacks get distinct channels: the index is the
 * run of digits before the final colon, the prefix what precedes its `db`. The
 * one place this is derived; the index is the one ioredis read from REDIS_URL.
 */
export function channelPrefix(redisPrefix: string, redis: Pick<Redis, 'options'>): string {
  return `${redisPrefix}db${redis.options.db ?? 0}:`;
}

/** Where a client points, for messages: host, port and db, never the credentials. */
export function redisLocation(redis: Pick<Redis, 'options'>): string {
  const { host = '127.0.0.1', port = 6379, db = 0, path, tls } = redis.options;
  if (path) return `redis+unix://${path}?db=${db}`;
  return `${tls ? 'rediss' : 'redis'}://${host}:${port}/${db}`;
}

/**
 * Why Redis cannot serve this client now, in words an operator reads on /readyz
 * (not the raw ioredis message such as "Stream isn't writeable and
 * enableOfflineQueue options is false").
 */
export function redisProblem(redis: Pick<Redis, 'options' | 'status'>, err?: unknown): string {
  const where = redisLocation(redis);
  if (redis.status !== 'ready') return `unreachable (${where})`;
  const message = err instanceof Error ? err.message.split('\n')[0] : '';
  return message ? `error (${where}): ${message}` : `no answer (${where})`;
}

/**
 * For a client handed to a library that sends these commands without handling
 * their rejection (the Socket.IO adapter publishes and subscribes that way): a
 * failure goes to `onError` instead of becoming an unhandled rejection, which
 * ends the process. A caller that awaits the command still sees the rejection.
 */
export function reportRejections(
  redis: Redis,
  commands: ReadonlyArray<'publish' | 'subscribe' | 'psubscribe'>,
  onError: (command: string, err: Error) => void,
): Redis {
  const methods = redis as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const command of commands) {
    const send = methods[command]!.bind(redis);
    methods[command] = (...args: unknown[]) => {
      const result = send(...args);
      if (result instanceof Promise) result.catch((err: Error) => onError(command, err));
      return result;
    };
  }
  return redis;
}

/**
 * Closes a client without waiting on a server that is not there: QUIT when
 * connected, otherwise a plain disconnect (a QUIT queued offline would wait for
 * a connection that may never come).
 */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  if (redis.status !== 'ready') {
    redis.disconnect();
    return;
  }
  await redis.quit().then(
    () => {},
    () => redis.disconnect(),
  );
}

/**
 * The full key for commands whose key ioredis does not prefix by itself: the
 * ones with a subcommand, such as XGROUP and XINFO.
 */
export function fullKey(redis: Redis, key: string): string {
  return `${redis.options.keyPrefix ?? ''}${key}`;
}
