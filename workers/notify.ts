import { EVENTS_STREAM, type NotificationType, userRoom } from '../contract/index.ts';
import {
  findNotification,
  insertNotification,
  toNotification,
} from '../domain/notifications/queries.ts';
import { parseStreamEvent } from './events.ts';
import type { StreamWorker } from './stream-worker.ts';

/**
 * Comments, likes and follows notify one person each: the post's author or the
 * followed user. Nobody is notified of their own actions.
 */
export const personalNotifications: StreamWorker = {
  group: 'notify',
  stream: EVENTS_STREAM,
  async handle(message, deps) {
    const { eventId, event } = parseStreamEvent(message);
    let target: {
      userId: string | null;
      actorId: string;
      type: NotificationType;
      postId?: string;
      commentId?: string;
      createdAt: string;
    };
    switch (event.type) {
      case 'comment.created':
        target = {
          userId: event.postAuthorId,
          actorId: event.authorId,
          type: 'comment',
          postId: event.postId,
          commentId: event.commentId,
          createdAt: event.createdAt,
        };
        break;
      case 'like.created':
        target = {
          userId: event.postAuthorId,
          actorId: event.userId,
          type: 'like',
          postId: event.postId,
          createdAt: event.createdAt,
        };
        break;
      case 'follow.created':
        target = {
          userId: event.followeeId,
          actorId: event.followerId,
          type: 'follow',
          createdAt: event.createdAt,
        };
        break;
      default:
        return;
    }
    if (!target.userId || target.userId === target.actorId) return;
    await insertNotification(deps.sql, { ...target, userId: target.userId, id: eventId });
    const row = await findNotification(deps.sql, target.userId, eventId);
    if (row) deps.emitter.to(userRoom(target.userId)).emit('notification', toNotification(row));
  },
};
