// The capacity benchmarks' baseline: a bare Socket.IO server with the same options and
// the same Redis adapter as the gateway, the access token checked in `io.use` with the
// same verification, each socket in its user's room, and nothing else (no database, no
// session check, no handlers, no metrics). What a gateway costs beyond this is ours.
//
// Environment: PORT (0 for any), REDIS_URL, BARE_CHANNEL (the adapter's channel key or
// prefix), BARE_ADAPTER (see adapterFor), JWT_SECRET. Prints `listening <port>` on stdout.
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { userRoom } from '../contract/index.ts';
import { verifyAccessToken } from '../domain/auth/tokens.ts';
import { type AdapterMode, adapterFor } from './adapter-modes.ts';

const secret = new TextEncoder().encode(process.env.JWT_SECRET);
const { adapter } = adapterFor(
  (process.env.BARE_ADAPTER ?? 'classic') as AdapterMode,
  process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  process.env.BARE_CHANNEL ?? 'bare#socket.io',
);
const httpServer = createServer();
const io = new Server(httpServer, {
  path: '/socket.io',
  transports: ['websocket'],
  serveClient: false,
  maxHttpBufferSize: 16 * 1024,
  pingInterval: 25_000,
  pingTimeout: 20_000,
  adapter,
});
io.use(async (socket, next) => {
  try {
    const claims = await verifyAccessToken(String(socket.handshake.auth?.token), secret);
    socket.data.userId = claims.userId;
    next();
  } catch {
    next(new Error('unauthorized'));
  }
});
io.on('connection', (socket) => {
  void socket.join(userRoom(socket.data.userId as string));
});
httpServer.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = httpServer.address();
  console.log(`listening ${typeof address === 'object' && address ? address.port : ''}`);
});
process.on('SIGTERM', () => {
  io.close();
  process.exit(0);
});
