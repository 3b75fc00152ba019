import { z } from 'zod';
import { Geoprivacy, PostKind } from './shapes.ts';

/**
 * Domain events: what crosses process boundaries (outbox → Redis Streams →
 * workers). Each domain records its own in the same transaction as the change.
 */

const id = z.string().min(1);

export const PostCreated = z.object({
  type: z.literal('post.created'),
  postId: id,
  authorId: id,
  kind: PostKind,
  geoprivacy: Geoprivacy,
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
