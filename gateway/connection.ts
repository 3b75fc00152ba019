import { sessionRoom, userRoom } from '../contract/index.ts';
import type { Deps } from '../core/deps.ts';
import {
  type AppSocket,
  createFloodGuard,
  type HandlerFamily,
  serveEvents,
} from './socket-events.ts';

/**
 * An admitted socket: counted, in its user's and its session's rooms (where pushes and
 * logouts reach it), answering the events of every handler family under one flood budget.
 */
export function onConnection(
  deps: Pick<Deps, 'config' | 'logger' | 'metrics'>,
  families: readonly HandlerFamily[],
) {
  const { metrics } = deps;
  return (socket: AppSocket) => {
    metrics.socketConnections.inc({ outcome: 'connected' });
    metrics.socketsConnected.inc();
    socket.on('disconnect', () => metrics.socketsConnected.dec());
    const { userId, sessionId } = socket.data;
    void socket.join([userRoom(userId), sessionRoom(sessionId)]);
    serveEvents(
      socket,
      families.flatMap((family) => family(socket)),
      createFloodGuard(deps.config.socketEventsPerSecond),
      deps.logger.child({ userId, socket: socket.id }),
    );
  };
}
