import { z } from 'zod';

/**
 * The contract module: domain events that cross process boundaries (outbox →
 * Redis Streams → workers) and the room names of the realtime gateway. Server,
 * gateway, workers, tests, the map viewer and load tests all import it, so a
 * change here is a change of the protocol.
 */

const id = z.string().min(1);

export const PostCreated = z.object({
  type: z.literal('post.created'),
  postId: id,
  authorId: id,
  kind: z.enum(['pet', 'stray', 'wild']),
  geoprivacy: z.enum(['open', 'obscured', 'private']),
  /** The cell others may see (null for private or unlocated posts). */
  publicCell: z.string().nullable(),
  createdAt: z.string(),
});

export const PostUpdated = PostCreated.extend({ type: z.literal('post.updated') });

export const PostDeleted = z.object({
  type: z.literal('post.deleted'),
  postId: id,
  authorId: id,
  publicCell: z.string().nullable(),
});

export const CommentCreated = z.object({
  type: z.literal('comment.created'),
  commentId: id,
  postId: id,
  postAuthorId: id.nullable(),
  authorId: id,
  createdAt: z.string(),
});

export const CommentDeleted = z.object({
  type: z.literal('comment.deleted'),
  commentId: id,
  postId: id,
});

export const LikeCreated = z.object({
  type: z.literal('like.created'),
  postId: id,
  postAuthorId: id.nullable(),
  userId: id,
  createdAt: z.string(),
});

export const FollowCreated = z.object({
  type: z.literal('follow.created'),
  followerId: id,
  followeeId: id,
  createdAt: z.string(),
});

export const UserDeleted = z.object({
  type: z.literal('user.deleted'),
  userId: id,
  /** The handle as it was, for the cooling-off hold (the account row is scrubbed). */
  handle: z.string(),
  requestedAt: z.string(),
});

export const DomainEvent = z.discriminatedUnion('type', [
  UserDeleted,
  PostCreated,
  PostUpdated,
  PostDeleted,
  CommentCreated,
  CommentDeleted,
  LikeCreated,
  FollowCreated,
]);

export type DomainEvent = z.infer<typeof DomainEvent>;
export type DomainEventType = DomainEvent['type'];
export type EventOf<T extends DomainEventType> = Extract<DomainEvent, { type: T }>;

/** The Socket.IO room every socket of a user joins. */
export const userRoom = (userId: string) => `user:${userId}`;

// ---- Redis Streams ----

/** The stream every domain event is relayed to (under REDIS_PREFIX), and where poison messages end. */
export const EVENTS_STREAM = 'events';
export const DEAD_LETTER_STREAM = 'events:dead';
/** Chunks of large fan-outs, shared by every fan-out consumer. */
export const FANOUT_STREAM = 'fanout:chunks';

/** A message as it travels on the events stream. */
export interface StreamEvent {
  /** Stable id of the event (outbox.event_id): the basis of every idempotency key. */
  eventId: string;
  outboxId: string;
  event: DomainEvent;
}

// ---- Socket.IO ----

/**
 * The prefix of the Redis adapter's channels; gateway and emitters must agree on it.
 * Built on the stack's channel prefix (`channelPrefix` in core/redis.ts: REDIS_PREFIX
 * and the database index), never on REDIS_PREFIX alone: pub/sub ignores the index.
 */
export const socketChannelKey = (channelPrefix: string) => `${channelPrefix}socket.io`;
/** Every socket of one login session, so a logout or revocation can close exactly those. */
export const sessionRoom = (sessionId: string) => `session:${sessionId}`;

export interface PublicUser {
  id: string;
  handle: string;
  displayName: string;
  bio: string;
  createdAt: string;
  followerCount: number;
  followingCount: number;
  postCount: number;
}

export type NotificationType = 'post' | 'comment' | 'like' | 'follow';

export interface Notification {
  id: string;
  type: NotificationType;
  actor: PublicUser | null;
  postId: string | null;
  commentId: string | null;
  createdAt: string;
  readAt: string | null;
}

export interface AckError {
  code: string;
  message: string;
}
export type Ack<T> = { data: T } | { error: AckError };

export const NotificationsSyncPayload = z
  .object({ after: z.uuid().optional() })
  .strict()
  .optional()
  .default({});

export interface MapCellCount {
  cell: string;
  count: number;
  lastAt: string;
}

/** A new located post in a subscribed area: the post as others see it (obscured at its coarse point). */
export interface MapSighting {
  post: { id: string; location: { lat: number; lng: number } | null; kind: string } & Record<
    string,
    unknown
  >;
  /** The post's public cell (r9, or r6 when obscured). */
  cell: string;
  /** Its public point's cell at each map resolution, by resolution. */
  cells: Record<string, string>;
}

/** A post left the map (deleted, made private, moved): take it off. */
export interface MapRetraction {
  postId: string;
  cells: Record<string, string>;
}

export interface ServerToClientEvents {
  notification: (notification: Notification) => void;
  'map:sighting': (sighting: MapSighting) => void;
  'map:retract': (retraction: MapRetraction) => void;
  /** The server is going away: reconnect (the client helper does so on its own). */
  'server:draining': () => void;
  /** The access token ran out; send a fresh one with `auth:renew` or reconnect with it. */
  'auth:expiring': (info: { expiresAt: string }) => void;
}

export interface ClientToServerEvents {
  'notifications:sync': (
    payload: { after?: string },
    ack: (res: Ack<{ items: Notification[]; hasMore: boolean }>) => void,
  ) => void;
  'map:subscribe': (
    payload: { bbox: string | [number, number, number, number]; zoom: number; kind?: string },
    ack: (res: Ack<{ resolution: number; cells: MapCellCount[] }>) => void,
  ) => void;
  'map:unsubscribe': (
    payload: Record<string, never> | undefined,
    ack: (res: Ack<Record<string, never>>) => void,
  ) => void;
  /** Swaps the socket's access token for a fresh one without reconnecting. */
  'auth:renew': (
    payload: { token: string },
    ack: (res: Ack<{ expiresAt: string }>) => void,
  ) => void;
}
