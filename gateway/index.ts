import { Server } from 'socket.io';
import type { ClientToServerEvents, ServerToClientEvents } from '../contract/index.ts';
import type { RoleContext, RunningRole } from '../core/roles.ts';
import { createRedisAdapter } from './adapter.ts';
import { onConnection } from './connection.ts';
import { authHandlers } from './handlers/auth.ts';
import { mapHandlers } from './handlers/map.ts';
import { notificationHandlers } from './handlers/notifications.ts';
import { admitConnections, explainRefusedTransports } from './handshake.ts';
import { startSessionSweep } from './session-sweep.ts';
import type { AppServer, SocketData } from './socket-events.ts';

export { WEBSOCKET_ONLY } from './handshake.ts';

/** Largest message a client may send; every client event is small. */
const MAX_MESSAGE_BYTES = 16 * 1024;

/**
 * The realtime gateway: Socket.IO on the process's HTTP server (path
 * /socket.io, websocket only), clustered through the Redis adapter so that a
 * push from any process reaches the socket on whichever node holds it.
 */
export async function startGateway(ctx: RoleContext): Promise<RunningRole & { io: AppServer }> {
  const { deps, httpServer } = ctx;
  const redisAdapter = createRedisAdapter(deps);
  const io = new Server<
    ClientToServerEvents,
    ServerToClientEvents,
    Record<string, never>,
    SocketData
  >(httpServer, {
    path: '/socket.io',
    transports: ['websocket'],
    serveClient: false,
    maxHttpBufferSize: MAX_MESSAGE_BYTES,
    pingInterval: 25_000,
    pingTimeout: 20_000,
    adapter: redisAdapter.adapter,
  });
  let draining = false;

  explainRefusedTransports(io, deps.logger);
  io.use(admitConnections(deps, () => draining));
  io.on(
    'connection',
    onConnection(deps, [notificationHandlers(deps), authHandlers(deps), mapHandlers(deps)]),
  );
  const stopSweep = startSessionSweep(deps, io);

  deps.logger.info('gateway started');
  return {
    name: 'gateway',
    io,
    async stop() {
      draining = true;
      redisAdapter.dropReadinessCheck();
      stopSweep();
      // Tell local clients, then drop their transports without a Socket.IO
      // disconnect: clients see "transport close" and reconnect (to another node).
      io.local.emit('server:draining');
      await new Promise((r) => setTimeout(r, 50));
      io.engine.close();
      await redisAdapter.close();
    },
  };
}
