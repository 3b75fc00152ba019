// The Redis adapter modes the capacity benchmarks compare: the classic pub/sub adapter the
// gateway runs, and the sharded adapter (Redis 7 sharded pub/sub) in its subscription modes.
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';

/** Adapter modes measured: the classic pub/sub one, and the sharded one's subscription modes. */
export const ADAPTER_MODES = ['classic', 'sharded-static', 'sharded-dynamic'] as const;
export type AdapterMode = (typeof ADAPTER_MODES)[number];

/** The adapter in `mode`, on its own two connections; used by bare nodes and the bench's emitter. */
export function adapterFor(mode: AdapterMode, redisUrl: string, channel: string) {
  const pub = new Redis(redisUrl);
  const sub = new Redis(redisUrl);
  const adapter =
    mode === 'classic'
      ? createAdapter(pub, sub, { key: channel })
      : createShardedAdapter(pub, sub, {
          channelPrefix: channel,
          subscriptionMode: mode === 'sharded-static' ? 'static' : 'dynamic',
        });
  return { adapter, close: () => Promise.all([pub.quit(), sub.quit()]) };
}
