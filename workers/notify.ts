import { EVENTS_STREAM, userRoom } from '../contract/index.ts';
import { cacheScopes } from '../core/cache-scopes.ts';
import { personalNotificationFor } from '../domain/notifications/personal.ts';
import {
  findNotification,
  insertNotification,
  toNotification,
} from '../domain/notifications/queries.ts';
import { parseStreamEvent } from './events.ts';
import type { StreamWorker } from './stream-worker.ts';

/**
 * Comments, likes and follows notify one person each (see personalNotificationFor):
 * the inbox row first, then the push of it as its recipient reads it.
 */
export const personalNotifications: StreamWorker = {
  group: 'notify',
  stream: EVENTS_STREAM,
  async handle(message, deps) {
    const { eventId, event } = parseStreamEvent(message);
    const notification = personalNotificationFor(eventId, event);
    if (!notification) return;
    await insertNotification(deps.sql, notification);
    await deps.cache.invalidate([cacheScopes.unread(notification.userId)]);
    const row = await findNotification(deps.sql, notification.userId, eventId);
    if (row) {
      deps.emitter.to(userRoom(notification.userId)).emit('notification', toNotification(row));
    }
  },
};
