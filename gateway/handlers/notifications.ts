import { NotificationsSyncPayload } from '../../contract/index.ts';
import type { Deps } from '../../core/deps.ts';
import { notificationsAfter, toNotification } from '../../domain/notifications/queries.ts';
import { on } from '../events.ts';
import type { HandlerFamily } from '../socket-events.ts';

/** Most notifications one `notifications:sync` answers; the client asks again while `hasMore`. */
const SYNC_LIMIT = 500;

/** `notifications:sync`: what a client missed while away, after the last one it has. */
export function notificationHandlers(deps: Pick<Deps, 'sql'>): HandlerFamily {
  return {
    events: [
      on('notifications:sync', NotificationsSyncPayload, async ({ after }, socket) => {
        const { userId } = socket.data;
        const { rows, hasMore } = await notificationsAfter(deps.sql, userId, after, SYNC_LIMIT);
        return { items: rows.map(toNotification), hasMore };
      }),
    ],
  };
}
