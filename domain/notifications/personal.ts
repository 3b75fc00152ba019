import type { DomainEvent } from '../../contract/index.ts';
import type { insertNotification } from './queries.ts';

type NotificationInput = Parameters<typeof insertNotification>[1];

/**
 * Who hears of an event by themselves: a comment or a like tells the post's
 * author, a follow the person followed. Nobody hears of their own actions, nor
 * of anything on a post whose author is gone. Undefined: nobody to tell.
 */
export function personalNotificationFor(
  eventId: string,
  event: DomainEvent,
): NotificationInput | undefined {
  let input: Omit<NotificationInput, 'userId'> & { userId: string | null };
  switch (event.type) {
    case 'comment.created':
      input = {
        id: eventId,
        userId: event.postAuthorId,
        actorId: event.authorId,
        type: 'comment',
        postId: event.postId,
        commentId: event.commentId,
        createdAt: event.createdAt,
      };
      break;
    case 'like.created':
      input = {
        id: eventId,
        userId: event.postAuthorId,
        actorId: event.userId,
        type: 'like',
        postId: event.postId,
        createdAt: event.createdAt,
      };
      break;
    case 'follow.created':
      input = {
        id: eventId,
        userId: event.followeeId,
        actorId: event.followerId,
        type: 'follow',
        createdAt: event.createdAt,
      };
      break;
    default:
      return undefined;
  }
  const { userId } = input;
  if (!userId || userId === input.actorId) return undefined;
  return { ...input, userId };
}
