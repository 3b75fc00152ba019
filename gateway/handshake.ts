import type { Server } from 'socket.io';
import type { Deps } from '../core/deps.ts';
import { AppError } from '../core/errors.ts';
import { authenticate } from '../domain/auth/authenticate.ts';
import type { AppSocket } from './socket-events.ts';

/** The 400 body's message for a polling (or unknown-transport) request. */
export const WEBSOCKET_ONLY =
  "this server accepts websocket transport only: connect with io(url, { transports: ['websocket'] })";

/**
 * The gateway serves websocket only, so a plain `io(url)` (which starts with HTTP long
 * polling) gets engine.io's 400 `Transport unknown` and reports a bare `xhr poll error`.
 * engine.io answers with `context.message` when one is set, and emits this event with that
 * same context just before answering: the 400 body then says what to do.
 */
export function explainRefusedTransports(io: Server, logger: Deps['logger']): void {
  io.engine.on(
    'connection_error',
    (err: { code: number; context?: { transport?: unknown; message?: string } }) => {
      if (err.code === 0 && err.context && err.context.transport !== 'websocket') {
        err.context.message = WEBSOCKET_ONLY;
      }
    },
  );
  io.engine.on('connection_error', (err: { code: number; message: string }) => {
    logger.debug({ code: err.code, message: err.message }, 'socket connection error');
  });
}

/**
 * Admission: the access token in `auth.token`, verified like an HTTP request's, its session
 * checked like an HTTP request's too, through the node's session cache (see
 * domain/auth/authenticate.ts for why that is safe for a socket). The client sees
 * `connect_error` "unauthorized", or "unavailable" when this node is draining or a
 * dependency is down (worth a retry).
 */
export function admitConnections(
  deps: Pick<Deps, 'sql' | 'config' | 'sessions' | 'metrics'>,
  isDraining: () => boolean,
) {
  const { metrics } = deps;
  return async (socket: AppSocket, next: (err?: Error) => void) => {
    if (isDraining()) return next(new Error('unavailable'));
    const token: unknown = socket.handshake.auth?.token;
    if (typeof token !== 'string' || token.length === 0 || token.length > 4096) {
      metrics.socketConnections.inc({ outcome: 'unauthorized' });
      return next(new Error('unauthorized'));
    }
    try {
      const claims = await authenticate(deps, token);
      socket.data = { userId: claims.userId, sessionId: claims.sessionId, exp: claims.exp };
      next();
    } catch (err) {
      const e = err instanceof AppError ? err : undefined;
      const code = e?.code === 'unauthorized' ? 'unauthorized' : 'unavailable';
      metrics.socketConnections.inc({ outcome: code });
      next(new Error(code));
    }
  };
}
