import { MapSubscribePayload, MapUnsubscribePayload, mapRoom } from '../../contract/index.ts';
import type { Deps } from '../../core/deps.ts';
import { AppError } from '../../core/errors.ts';
import { readCellCounts } from '../../domain/map/cell-cache.ts';
import { resolutionForZoom, subscriptionCells } from '../../domain/map/geo.ts';
import { on } from '../events.ts';
import type { AppSocket, HandlerFamily } from '../socket-events.ts';

/**
 * The live map: `map:subscribe` puts the socket in the rooms of the cells covering the view
 * (replacing the previous view's) and answers their counts (since `since` when given, the
 * view's time window: new sightings, pushed live, are always inside it); `map:unsubscribe`
 * leaves them. The counts are the HTTP route's, through the same read cache.
 */
export function mapHandlers(deps: Pick<Deps, 'sql' | 'cache'>): HandlerFamily {
  return {
    events: [
      on('map:subscribe', MapSubscribePayload, async ({ bbox, zoom, kind, since }, socket) => {
        const number = nextRequest(socket);
        const subscription = subscriptionCells(bbox, zoom);
        const resolution = resolutionForZoom(zoom);
        const cells = subscription
          ? await readCellCounts(deps, { bbox, resolution, kind, since })
          : null;
        if (!subscription || !cells) {
          throw new AppError(
            'validation_failed',
            'bbox: too large an area for this zoom; zoom out or shrink it',
          );
        }
        if (number !== socket.data.mapRequests) {
          throw new AppError('conflict', 'superseded by a later map:subscribe or map:unsubscribe');
        }
        leaveMap(socket);
        await socket.join(subscription.cells.map((cell) => mapRoom(subscription.resolution, cell)));
        return { resolution, cells };
      }),
      // Any payload: leaving needs no argument, and a client's stray one must not keep it in.
      on('map:unsubscribe', MapUnsubscribePayload, async (_payload, socket) => {
        nextRequest(socket);
        leaveMap(socket);
        return {};
      }),
    ],
  };
}

/**
 * Subscriptions are numbered per socket: one answered after a later subscribe or
 * unsubscribe was received joins nothing, so overlapping requests never leave rooms behind.
 * (Counted in `socket.data` from the first one on: a socket that never opens the map holds
 * no counter.)
 */
function nextRequest(socket: AppSocket): number {
  socket.data.mapRequests = (socket.data.mapRequests ?? 0) + 1;
  return socket.data.mapRequests;
}

function leaveMap(socket: AppSocket): void {
  for (const room of socket.rooms) if (room.startsWith('map:')) void socket.leave(room);
}
