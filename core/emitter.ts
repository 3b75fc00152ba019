import { Emitter } from '@socket.io/redis-emitter';
import type { ServerToClientEvents } from '../contract/index.ts';
import { socketChannelKey } from '../contract/index.ts';
import type { Logger } from './logger.ts';
import { channelPrefix, type Redis } from './redis.ts';

export type SocketEmitter = Emitter<ServerToClientEvents>;

/**
 * Pushes to sockets on every gateway node through the Redis adapter's channel,
 * from any process (workers, server) without an `io` of its own. A failed
 * publish is logged, never thrown into the void: a push is best-effort, and a
 * client that missed one catches up with `notifications:sync`. The channel is
 * the stack's own (REDIS_PREFIX and the database index of `redis`), so stacks
 * sharing one Redis server never receive each other's pushes.
 */
export function createEmitter(redis: Redis, redisPrefix: string, logger: Logger): SocketEmitter {
  const client = {
    publish(channel: string, message: string | Buffer) {
      return redis.publish(channel, message).catch((err: unknown) => {
        logger.warn({ err: (err as Error).message }, 'socket push failed');
        return 0;
      });
    },
  };
  return new Emitter<ServerToClientEvents>(client, {
    key: socketChannelKey(channelPrefix(redisPrefix, redis)),
  });
}
