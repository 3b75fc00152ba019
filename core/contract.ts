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

export const DomainEvent = z.discriminatedUnion('type', [
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
