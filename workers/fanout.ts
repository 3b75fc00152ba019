import { z } from 'zod';
import type { Notification } from '../contract/index.ts';
import { broadcastRoom, EVENTS_STREAM, FANOUT_STREAM, userRoom } from '../contract/index.ts';
import { batchedPer } from '../core/batches.ts';
import { cacheScopes } from '../core/cache-scopes.ts';
import type { Deps } from '../core/deps.ts';
import { postExists } from '../domain/board/post-reads.ts';
import {
  decideFanoutModes,
  insertBroadcastRows,
  markBroadcastRoomsReady,
} from '../domain/notifications/broadcast.ts';
import {
  insertPostNotificationRows,
  insertPostNotifications,
  notificationOf,
  type PostNotificationRows,
} from '../domain/notifications/queries.ts';
import {
  activeFollowersBetween,
  activeFollowersOf,
  followerPageBounds,
  postAudiences,
} from '../domain/social/queries.ts';
import { findActiveUser } from '../domain/users/queries.ts';
import { toUser, type UserRow } from '../domain/users/user-rows.ts';
import { parseStreamEvent } from './events.ts';
import { listRoomChunks, pushToBroadcastRoom, roomChunkDone } from './fanout-rooms.ts';
import type { StreamWorker } from './stream-worker.ts';

/** Rooms per emitted message: one Redis publish reaches this many followers. */
const ROOMS_PER_EMIT = 1000;

/** `post.created` messages per read, all handled at once and fanned out as one batch. */
const POSTS_PER_BATCH = 32;

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
  /** A broadcast author's post: its one row is written, the chunk only pushes. */
  broadcast: z.boolean().optional(),
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
  const notification = postNotification(chunk, author);
  if (chunk.broadcast) {
    pushToFollowers(deps, recipients, notification, broadcastRoom(chunk.authorId));
    return recipients.length;
  }
  pushToFollowers(deps, recipients, notification);
  await insertPostNotifications(sql, { recipients, ...chunk });
  await deps.cache.invalidate(recipients.map(cacheScopes.unread));
  return recipients.length;
}

/**
 * One notification to many followers' rooms, built once, one publish per ROOMS_PER_EMIT
 * rooms. With `join`, their sockets also join that room (a broadcast author's, the first
 * time the author broadcasts: from then on, one emit to it reaches them all).
 */
function pushToFollowers(
  deps: Pick<Deps, 'emitter' | 'metrics'>,
  recipients: readonly string[],
  notification: Notification,
  join?: string,
): void {
  deps.metrics.fanoutDeliveries.inc(recipients.length);
  for (let i = 0; i < recipients.length; i += ROOMS_PER_EMIT) {
    const rooms = recipients.slice(i, i + ROOMS_PER_EMIT).map(userRoom);
    if (join) deps.emitter.in(rooms).socketsJoin(join);
    deps.emitter.to(rooms).emit('notification', notification);
  }
}

type PostCreated = Omit<Chunk, 'from' | 'to' | 'broadcast'>;

/** A post's notification, as every follower gets it (pushed, and in the inbox). */
const postNotification = (
  post: Pick<PostCreated, 'eventId' | 'postId' | 'createdAt'>,
  author: UserRow,
): Notification =>
  notificationOf({
    id: post.eventId,
    type: 'post',
    actor: toUser(author),
    postId: post.postId,
    createdAt: post.createdAt,
  });

/**
 * What the batch did with a post: told its followers (their rows, or a broadcast post's
 * one row and one emit to its author's room), or left them to the chunk stream (written
 * chunks, or, the first time an author broadcasts, chunks that push and put the followers'
 * sockets in the author's room).
 */
type Outcome = 'done' | 'chunks' | 'broadcast-chunks';

/**
 * The fan-out of the posts one read brought, together, in three statements
 * however many posts there are: what each post's fan-out needs to know (does
 * the post still exist, the author's row, the author's audience), the live
 * followers of every author whose audience fits in one chunk, and all their
 * inbox rows in one insert. The pushes go between the last two, as in
 * fanoutChunk and for the same reason. A post whose author has a larger
 * audience is answered 'chunks': its own handle() queues the chunks, so one
 * popular author neither holds up nor fails the others' messages.
 */
async function fanOutPosts(deps: Deps, posts: readonly PostCreated[]): Promise<Outcome[]> {
  const size = deps.config.streams.fanoutChunkSize;
  const threshold = deps.config.streams.broadcastThreshold;
  const audiences = await postAudiences(deps.sql, posts, size);
  // Broadcast or written: decided at a post's first fan-out from its author's follower
  // count then, stored, and followed by every retry (a post is never both).
  const modes = await decideFanoutModes(
    deps.sql,
    posts.flatMap((post, i) => {
      const { postExists, author } = audiences[i]!;
      if (!postExists || !author) return [];
      const broadcast = threshold > 0 && author.followerCount >= threshold;
      return [{ eventId: post.eventId, postId: post.postId, broadcast }];
    }),
  );
  const plans = posts.map((post, i) => {
    const { postExists, author, followers } = audiences[i]!;
    const mode = modes.get(post.eventId);
    // A post deleted, or an author gone, before the fan-out reached it: nobody to tell.
    const gone = !postExists || !author || mode === undefined;
    return { post, author, followers, gone, broadcast: mode === true, large: followers > size };
  });
  // Before any push: a follower who syncs on hearing of the post finds it.
  const roomsReady = await insertBroadcastRows(
    deps.sql,
    plans
      .filter((p) => p.broadcast)
      .map(({ post }) => ({
        id: post.eventId,
        authorId: post.authorId,
        postId: post.postId,
        createdAt: post.createdAt,
      })),
  );
  const outcomes: Outcome[] = [];
  const toTell: Array<{ post: PostCreated; author: UserRow; broadcast: boolean }> = [];
  // The same event twice in one read (a redelivery beside its first delivery) is told once.
  const seen = new Set<string>();
  for (const { post, author, gone, broadcast, large } of plans) {
    const inRoom = broadcast && roomsReady.has(post.authorId);
    outcomes.push(gone || inRoom || !large ? 'done' : broadcast ? 'broadcast-chunks' : 'chunks');
    if (gone || !author || seen.has(post.eventId)) continue;
    seen.add(post.eventId);
    if (inRoom) {
      const notification = postNotification(post, author);
      pushToBroadcastRoom(deps, post.authorId, notification, author.followerCount);
    }
    if (!inRoom && !large) toTell.push({ post, author, broadcast });
  }
  if (toTell.length === 0) return outcomes;

  const edges = await activeFollowersOf(
    deps.sql,
    toTell.map((t) => t.post.authorId),
  );
  const followersOf = new Map<string, string[]>();
  for (const { authorId, followerId } of edges) {
    const list = followersOf.get(authorId);
    if (list) list.push(followerId);
    else followersOf.set(authorId, [followerId]);
  }
  const rows: PostNotificationRows[] = [];
  for (const { post, author, broadcast } of toTell) {
    const recipients = followersOf.get(post.authorId) ?? [];
    if (recipients.length === 0) continue;
    const notification = postNotification(post, author);
    pushToFollowers(
      deps,
      recipients,
      notification,
      broadcast ? broadcastRoom(post.authorId) : undefined,
    );
    if (broadcast) continue;
    rows.push({
      id: post.eventId,
      actorId: post.authorId,
      postId: post.postId,
      createdAt: post.createdAt,
      recipients,
    });
  }
  await insertPostNotificationRows(deps.sql, rows);
  await deps.cache.invalidate(rows.flatMap((r) => r.recipients.map(cacheScopes.unread)));
  // Every online follower of these broadcast authors is in their room now.
  await markBroadcastRoomsReady(
    deps.sql,
    toTell.filter((t) => t.broadcast).map((t) => t.post.authorId),
  );
  return outcomes;
}

const fanOutWithOthers = batchedPer<Deps, PostCreated, Outcome>({
  maxBatchSize: POSTS_PER_BATCH,
  run: fanOutPosts,
});

/** Cuts a large audience into chunks (boundaries from one index scan) on the chunk stream. */
async function queueChunks(deps: Deps, post: PostCreated, broadcast: boolean): Promise<void> {
  const size = deps.config.streams.fanoutChunkSize;
  const bounds = await followerPageBounds(deps.sql, post.authorId, size);
  const edges = [null, ...bounds, null];
  const pipeline = deps.redis.pipeline();
  if (broadcast) listRoomChunks(pipeline, post.eventId, edges);
  for (let i = 0; i + 1 < edges.length; i++) {
    pipeline.xadd(
      FANOUT_STREAM,
      '*',
      'chunk',
      JSON.stringify({
        ...post,
        from: edges[i] ?? null,
        to: edges[i + 1] ?? null,
        ...(broadcast ? { broadcast } : {}),
      } satisfies Chunk),
    );
  }
  const results = (await pipeline.exec()) ?? [];
  const failed = results.find(([err]) => err);
  if (failed) throw failed[0];
}

/**
 * `post.created` → the author's followers. The posts of one read are handled
 * at once (concurrency = batch) and fanned out together by fanOutPosts; other
 * events are done at once. Up to one chunk's worth of followers is told right
 * there; a larger audience is cut into chunks of FANOUT_CHUNK_SIZE followers
 * queued on the chunk stream, where every fan-out consumer takes its share: one
 * author with 100k followers does not hold up other authors' posts. A failed
 * batch fails each of its messages; the consumer retries them one by one.
 */
export const postFanout: StreamWorker = {
  group: 'fanout',
  stream: EVENTS_STREAM,
  // Two batches in flight: while one waits on its inbox insert, the next is read and
  // pushed, so PostgreSQL and this process work at once (one at a time, under a steady
  // stream of posts, each waited for the other).
  batch: 2 * POSTS_PER_BATCH,
  concurrency: 2 * POSTS_PER_BATCH,
  async handle(message, deps) {
    const { eventId, outboxId, event } = parseStreamEvent(message);
    if (event.type !== 'post.created') return;
    const post: PostCreated = {
      eventId,
      ...(outboxId ? { outboxId } : {}),
      postId: event.postId,
      authorId: event.authorId,
      createdAt: event.createdAt,
    };
    const outcome = await fanOutWithOthers(deps, post);
    if (outcome === 'done') return;
    // For an author's first broadcast, the chunks also put the followers online in the
    // author's room; the last of them marks it ready (roomChunkDone).
    await queueChunks(deps, post, outcome === 'broadcast-chunks');
  },
};

export const fanoutChunks: StreamWorker = {
  group: 'fanout-chunks',
  stream: FANOUT_STREAM,
  batch: 4,
  concurrency: 2,
  async handle(message, deps) {
    const chunk = Chunk.parse(JSON.parse(message.fields.chunk ?? 'null'));
    await fanoutChunk(deps, chunk);
    if (chunk.broadcast) await roomChunkDone(deps, chunk);
  },
};
