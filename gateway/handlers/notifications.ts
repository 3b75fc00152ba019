import { broadcastRoom, NotificationsSyncPayload } from '../../contract/index.ts';
import type { Deps } from '../../core/deps.ts';
import { broadcastAuthorsFollowedBy } from '../../domain/notifications/broadcast.ts';
import { notificationsAfter, toNotification } from '../../domain/notifications/queries.ts';
import { on } from '../events.ts';
import type { AppSocket, HandlerFamily } from '../socket-events.ts';

/** Most notifications one `notifications:sync` answers; the client asks again while `hasMore`. */
const SYNC_LIMIT = 500;

/**
 * `notifications:sync`: what a client missed while away, after the last one it has. And,
 * at connect, the rooms of the broadcast authors the user follows, where their posts are
 * pushed (the socket is in its user's room already: a follow or an author's first
 * broadcast that commits after this read reaches it there, see workers/fanout.ts).
 */
export function notificationHandlers(deps: Pick<Deps, 'sql' | 'logger'>): HandlerFamily {
  return {
    events: [
      on('notifications:sync', NotificationsSyncPayload, async ({ after }, socket) => {
        const { userId } = socket.data;
        const { rows, hasMore } = await notificationsAfter(deps.sql, userId, after, SYNC_LIMIT);
        return { items: rows.map(toNotification), hasMore };
      }),
    ],
    connected(socket) {
      joinBroadcastRooms(deps, socket).catch((err: Error) => {
        // PostgreSQL away: this socket hears broadcast posts at its next sync instead.
        deps.logger.warn({ err: err.message }, 'could not join broadcast rooms');
      });
    },
  };
}

/**
 * The rooms of the broadcast authors the user follows. Read again once joined: an
 * unfollow that committed between the first read and the join made its sockets leave
 * before this one was in the room, so that room is left here.
 */
async function joinBroadcastRooms(deps: Pick<Deps, 'sql'>, socket: AppSocket): Promise<void> {
  const { userId } = socket.data;
  const authors = await broadcastAuthorsFollowedBy(deps.sql, userId);
  if (authors.length === 0 || !socket.connected) return;
  await socket.join(authors.map(broadcastRoom));
  const still = new Set(await broadcastAuthorsFollowedBy(deps.sql, userId));
  for (const author of authors) if (!still.has(author)) await socket.leave(broadcastRoom(author));
}
