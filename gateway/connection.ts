import { sessionRoom, userRoom } from '../contract/index.ts';
import type { Deps } from '../core/deps.ts';
import { type AppSocket, createEventServer, type HandlerFamily } from './socket-events.ts';

/**
 * An admitted socket: counted, in its user's and its session's rooms (where pushes and
 * logouts reach it), answering the events of every handler family under one flood budget.
 *
 * Everything a socket is given here is made once per node (the dispatcher, the disconnect
 * listener, the families): a socket holds its rooms, its data and two listener slots.
 */
export function onConnection(
  deps: Pick<Deps, 'config' | 'logger' | 'metrics'>,
  families: readonly HandlerFamily[],
) {
  const { metrics } = deps;
  const events = createEventServer(
    families.flatMap((family) => family.events),
    { eventsPerSecond: deps.config.socketEventsPerSecond, logger: deps.logger },
  );
  const connecting = families.flatMap((family) => family.connected ?? []);
  const disconnecting = families.flatMap((family) => family.disconnected ?? []);
  // EventEmitter calls a listener with the emitter as `this`: one function for every socket.
  function disconnected(this: AppSocket) {
    metrics.socketsConnected.dec();
    for (const disconnect of disconnecting) disconnect(this);
  }
  return (socket: AppSocket) => {
    metrics.socketConnections.inc({ outcome: 'connected' });
    metrics.socketsConnected.inc();
    socket.on('disconnect', disconnected);
    const { userId, sessionId } = socket.data;
    void socket.join([userRoom(userId), sessionRoom(sessionId)]);
    events.serve(socket);
    for (const connect of connecting) connect(socket);
  };
}
