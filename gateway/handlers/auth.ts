import { AuthRenewPayload, sessionRoom } from '../../contract/index.ts';
import type { Deps } from '../../core/deps.ts';
import { AppError } from '../../core/errors.ts';
import { authenticate } from '../../domain/auth/authenticate.ts';
import { on } from '../events.ts';
import { createExpirySchedule } from '../expiry-schedule.ts';
import type { AppSocket, HandlerFamily } from '../socket-events.ts';

/**
 * The socket's session ends with its access token unless the client renews it in time
 * with `auth:renew`: the client is told (`auth:expiring`) and disconnected.
 */
export function authHandlers(deps: Pick<Deps, 'sql' | 'config' | 'sessions'>): HandlerFamily {
  const expiry = createExpirySchedule(expire);
  return {
    events: [
      on('auth:renew', AuthRenewPayload, async ({ token }, socket) => {
        // Asked of PostgreSQL, not the session cache: a renewal is rare (once per access
        // token) and extends an admitted socket's life.
        const claims = await authenticate(deps, token, { fresh: true });
        if (claims.userId !== socket.data.userId)
          throw new AppError('forbidden', 'the token belongs to another user');
        // The session the socket follows now (it may have moved before): leave its room
        // for the new one's, so a logout of the new session reaches this socket.
        const current = socket.data.sessionId;
        if (claims.sessionId !== current) {
          void socket.leave(sessionRoom(current));
          void socket.join(sessionRoom(claims.sessionId));
        }
        expiry.remove(socket);
        socket.data.sessionId = claims.sessionId;
        socket.data.exp = claims.exp;
        expiry.add(socket);
        return { expiresAt: new Date(claims.exp * 1000).toISOString() };
      }),
    ],
    connected: (socket) => expiry.add(socket),
    disconnected: (socket) => expiry.remove(socket),
  };
}

function expire(socket: AppSocket): void {
  socket.emit('auth:expiring', { expiresAt: new Date(socket.data.exp * 1000).toISOString() });
  socket.disconnect(true);
}
