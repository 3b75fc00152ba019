import { createAdapter } from '@socket.io/redis-adapter';
import { socketChannelKey } from '../contract/index.ts';
import type { Deps } from '../core/deps.ts';
import { channelPrefix, closeRedis, redisLocation, reportRejections } from '../core/redis.ts';

/**
 * The Redis adapter that clusters the gateway nodes (a push from any process reaches the
 * socket on whichever node holds it), with its two connections and a readiness check.
 */
export function createRedisAdapter(deps: Pick<Deps, 'redis' | 'config' | 'logger' | 'lifecycle'>) {
  const { logger } = deps;
  // Subscriptions need a connection of their own; ioredis re-subscribes after reconnects.
  // The adapter subscribes and publishes without handling a rejection, and an unhandled
  // one ends the process: a node started while Redis was away used to exit a second
  // after listening, when the queued SUBSCRIBE hit maxRetriesPerRequest. So the
  // subscriber keeps its SUBSCRIBEs queued until Redis answers (no retry limit), the
  // publisher fails fast like every command, and each failure is logged, not thrown.
  const onAdapterError = (command: string, err: Error) =>
    logger.warn({ command, err: err.message }, 'socket adapter command failed');
  const pub = reportRejections(
    deps.redis.duplicate({ enableOfflineQueue: false, lazyConnect: false }),
    ['publish'],
    onAdapterError,
  );
  const sub = reportRejections(
    deps.redis.duplicate({
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
      lazyConnect: false,
    }),
    ['subscribe', 'psubscribe'],
    onAdapterError,
  );
  pub.on('error', () => {});
  // Ready only once pushes can arrive: the subscriber reconnects on its own schedule, and
  // a PING on it answers after the (re)subscriptions queued before it.
  deps.lifecycle.checks?.set('gateway', async () => {
    if (sub.status !== 'ready') return `push subscription down (${redisLocation(sub)})`;
    try {
      await sub.ping();
      return undefined;
    } catch {
      return `push subscription down (${redisLocation(sub)})`;
    }
  });
  sub.on('error', () => {});

  return {
    // The stack's own channel (prefix and db index): stacks sharing a Redis never mix.
    adapter: createAdapter(pub, sub, {
      key: socketChannelKey(channelPrefix(deps.config.redisPrefix, deps.redis)),
    }),
    /** From the start of shutdown on, readiness no longer waits for pushes. */
    dropReadinessCheck() {
      deps.lifecycle.checks?.delete('gateway');
    },
    async close() {
      await Promise.allSettled([closeRedis(pub), closeRedis(sub)]);
    },
  };
}
