import type { Notification } from '../contract/index.ts';
import { broadcastRoom } from '../contract/index.ts';
import type { Deps } from '../core/deps.ts';
import { markBroadcastRoomsReady } from '../domain/notifications/broadcast.ts';

/**
 * The rooms of broadcast authors (`followers:<id>`), from the fan-out's side: a post to
 * the room once it is ready, and the bookkeeping of the chunks that make it ready.
 */

/**
 * A broadcast post to its author's room: one publish, whatever the audience (counted as
 * that many deliveries; the sockets online among them are what the room holds).
 */
export function pushToBroadcastRoom(
  deps: Pick<Deps, 'emitter' | 'metrics'>,
  authorId: string,
  notification: Notification,
  followers: number,
): void {
  deps.metrics.fanoutDeliveries.inc(followers);
  deps.emitter.to(broadcastRoom(authorId)).emit('notification', notification);
}

/** How long the list of a first broadcast's pending chunks is kept (a day: far past any retry). */
const ROOM_CHUNKS_TTL_MS = 86_400_000;
const roomChunksKey = (eventId: string) => `fanout:room-chunks:${eventId}`;
const chunkName = (from: string | null | undefined, to: string | null | undefined) =>
  `${from ?? ''}:${to ?? ''}`;

/**
 * Lists, in `pipeline`, the chunks of an author's first broadcast (follower ids cut at
 * `edges`), before any of them is queued: each puts its followers' sockets in the room.
 */
export function listRoomChunks(
  pipeline: ReturnType<Deps['redis']['pipeline']>,
  eventId: string,
  edges: ReadonlyArray<string | null>,
): void {
  const key = roomChunksKey(eventId);
  pipeline.sadd(key, ...edges.slice(0, -1).map((from, i) => chunkName(from, edges[i + 1])));
  pipeline.pexpire(key, ROOM_CHUNKS_TTL_MS);
}

/**
 * A chunk of an author's first broadcast is done: its followers' sockets are in the
 * author's room. When it was the last, the room is ready and the author's next posts go
 * to it alone. (Should the list be lost with Redis, the room is never marked ready and
 * each post goes on reaching followers through their own rooms: slower, never wrong.)
 */
export async function roomChunkDone(
  deps: Pick<Deps, 'redis' | 'sql'>,
  chunk: { eventId: string; authorId: string; from: string | null; to: string | null },
): Promise<void> {
  const key = roomChunksKey(chunk.eventId);
  const results = await deps.redis
    .multi()
    .srem(key, chunkName(chunk.from, chunk.to))
    .scard(key)
    .exec();
  const [[, removed] = [], [, left] = []] = results ?? [];
  if (removed === 1 && left === 0) await markBroadcastRoomsReady(deps.sql, [chunk.authorId]);
}
