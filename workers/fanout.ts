import { z } from 'zod';
import { EVENTS_STREAM, FANOUT_STREAM, userRoom } from '../contract/index.ts';
import type { Deps } from '../core/deps.ts';
import { postExists } from '../domain/board/post-reads.ts';
import { insertPostNotifications, notificationOf } from '../domain/notifications/queries.ts';
import {
  activeFollowersBetween,
  followerCount,
  followerPageBounds,
} from '../domain/social/queries.ts';
import { findActiveUser } from '../domain/users/queries.ts';
import { toUser } from '../domain/users/user-rows.ts';
import { parseStreamEvent } from './events.ts';
import type { StreamWorker } from './stream-worker.ts';

/** Rooms per emitted message: one Redis publish reaches this many followers. */
const ROOMS_PER_EMIT = 1000;

const Chunk = z.object({
  eventId: z.string(),
  /**
   * The event's outbox row, kept while the chunk is on the chunk stream (see
   * maintainStreams); absent from chunks queued by releases before it.
   */
  outboxId: z.string().optional(),
  postId: z.string(),
  authorId: z.string(),
  createdAt: z.string(),
  /** Follower ids in (from, to]; null for an open end. */
  from: z.string().nullable(),
  to: z.string().nullable(),
});
type Chunk = z.infer<typeof Chunk>;

/**
 * Notifies the followers in one chunk. Followers are paged by id, so chunks
 * never overlap and new follows fall into some chunk.
 *
 * The push goes first (one Redis publish per thousand followers, through the
 * adapter's channel), the inbox rows right after, in one statement. Online
 * followers hear of the post without waiting for a thousand-row write; the
 * inbox is the durable record, written before the message is acknowledged.
 * A redelivered chunk pushes again (clients drop ids they have) and inserts
 * nothing twice: the primary key is (user, event id).
 */
export async function fanoutChunk(deps: Deps, chunk: Chunk): Promise<number> {
  const { sql } = deps;
  const [author, post] = await Promise.all([
    findActiveUser(sql, chunk.authorId),
    postExists(sql, chunk.postId),
  ]);
  // A post deleted, or an author gone, before the fan-out reached it: nobody to tell.
  if (!author || !post) return 0;
  const recipients = await activeFollowersBetween(sql, chunk.authorId, chunk.from, chunk.to);
  if (recipients.length === 0) return 0;
  const notification = notificationOf({
    id: chunk.eventId,
    type: 'post',
    actor: toUser(author),
    postId: chunk.postId,
    createdAt: chunk.createdAt,
  });
  for (let i = 0; i < recipients.length; i += ROOMS_PER_EMIT) {
    const rooms = recipients.slice(i, i + ROOMS_PER_EMIT).map(userRoom);
    deps.emitter.to(rooms).emit('notification', notification);
  }
  await insertPostNotifications(sql, { recipients, ...chunk });
  return recipients.length;
}

/**
 * `post.created` → the author's followers. Up to one chunk's worth is done
 * right here; a larger audience is cut into chunks of FANOUT_CHUNK_SIZE
 * followers (boundaries from one index scan) and queued on the chunk stream,
 * where every fan-out consumer takes its share: one author with 100k
 * followers does not hold up other authors' posts.
 */
export const postFanout: StreamWorker = {
  group: 'fanout',
  stream: EVENTS_STREAM,
  async handle(message, deps) {
    const { eventId, outboxId, event } = parseStreamEvent(message);
    if (event.type !== 'post.created') return;
    const size = deps.config.streams.fanoutChunkSize;
    const base = {
      eventId,
      ...(outboxId ? { outboxId } : {}),
      postId: event.postId,
      authorId: event.authorId,
      createdAt: event.createdAt,
    };
    if ((await followerCount(deps.sql, event.authorId)) <= size) {
      await fanoutChunk(deps, { ...base, from: null, to: null });
      return;
    }
    const bounds = await followerPageBounds(deps.sql, event.authorId, size);
    const edges = [null, ...bounds, null];
    const pipeline = deps.redis.pipeline();
    for (let i = 0; i + 1 < edges.length; i++) {
      pipeline.xadd(
        FANOUT_STREAM,
        '*',
        'chunk',
        JSON.stringify({ ...base, from: edges[i], to: edges[i + 1] }),
      );
    }
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([err]) => err);
    if (failed) throw failed[0];
  },
};

export const fanoutChunks: StreamWorker = {
  group: 'fanout-chunks',
  stream: FANOUT_STREAM,
  batch: 4,
  concurrency: 2,
  async handle(message, deps) {
    await fanoutChunk(deps, Chunk.parse(JSON.parse(message.fields.chunk ?? 'null')));
  },
};
