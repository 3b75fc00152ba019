import { randomUUID } from 'node:crypto';
import type { Redis } from '../core/redis.ts';

/**
 * The key (under REDIS_PREFIX) holding the stream epoch: a random id that lives as
 * long as Redis keeps its data. Each published outbox row records the epoch it was
 * published in; when Redis loses its data (FLUSHALL, a restart without persistence)
 * the key goes with the streams, a new epoch begins, and rows published in another
 * epoch are published again (workers/relay.ts).
 *
 * A stream lost on its own (deleted, evicted) while the key stays is caught by its
 * consumers, which end the epoch when their group vanishes (see endEpoch). The one
 * order not caught is the key lost first and a stream later, with events published
 * in between: no whole loss does that (FLUSHALL, a restart without persistence take
 * everything at once), an eviction policy could: run Redis with
 * `maxmemory-policy noeviction`. A restart that reloads data older than the last
 * writes (an RDB snapshot, an AOF synced every second after a crash) brings the key
 * back without the entries added since: the stream maintenance finds those rows
 * (entries no group is done with must be on the stream) and has them published
 * again (`republishMissing` in workers/streams.ts).
 */
export const STREAM_EPOCH_KEY = 'stream-epoch';

/**
 * The current epoch, made now if there is none. `SET NX GET` in one command: relays
 * racing to make it all end with the one that was set first.
 */
export async function currentEpoch(redis: Redis): Promise<string> {
  const mine = randomUUID();
  return (await redis.set(STREAM_EPOCH_KEY, mine, 'NX', 'GET')) ?? mine;
}

/** The current epoch, or null when there is none yet (nothing published since Redis started empty). */
export async function readEpoch(redis: Redis): Promise<string | null> {
  return redis.get(STREAM_EPOCH_KEY);
}

/** Ends ARGV[1] if it is still current (or there is none), atomically; returns the epoch now current. */
const END_EPOCH_SCRIPT = `
local current = redis.call('get', KEYS[1])
if current and current ~= ARGV[1] then return current end
redis.call('set', KEYS[1], ARGV[2])
return ARGV[2]`;

/**
 * Begins a new epoch unless `epoch` has already ended: for a consumer whose group
 * vanished while the epoch key stayed (the stream deleted or evicted on its own),
 * so what that stream held is published again all the same. Consumers that see
 * the same loss all end the same epoch: only the first makes a new one.
 */
export async function endEpoch(redis: Redis, epoch: string): Promise<string> {
  return (await redis.eval(END_EPOCH_SCRIPT, 1, STREAM_EPOCH_KEY, epoch, randomUUID())) as string;
}
