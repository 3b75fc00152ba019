import { AuthRenewPayload, sessionRoom } from '../../contract/index.ts';
import type { Deps } from '../../core/deps.ts';
import { AppError } from '../../core/errors.ts';
import { authenticate } from '../../domain/auth/authenticate.ts';
import { on } from '../events.ts';
import type { AppSocket, HandlerFamily } from '../socket-events.ts';

/**
 * The socket's session ends with its access token unless the client renews it in time
 * with `auth:renew`: the client is told (`auth:expiring`) and disconnected.
 */
export function authHandlers(deps: Pick<Deps, 'sql' | 'config' | 'sessions'>): HandlerFamily {
  return (socket) => {
    const expiry = expiryTimer(socket);
    return [
      on('auth:renew', AuthRenewPayload, async ({ token }) => {
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
        socket.data.sessionId = claims.sessionId;
        socket.data.exp = claims.exp;
        expiry.arm();
        return { expiresAt: new Date(claims.exp * 1000).toISOString() };
      }),
    ];
  };
}

/** Disconnects the socket when `socket.data.exp` passes; armed now and again on each renewal. */
function expiryTimer(socket: AppSocket) {
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    const ms = socket.data.exp * 1000 - Date.now();
    timer = setTimeout(
      () => {
        socket.emit('auth:expiring', {
          expiresAt: new Date(socket.data.exp * 1000).toISOString(),
        });
        socket.disconnect(true);
      },
      Math.max(0, ms),
    );
    timer.unref();
  };
  arm();
  socket.on('disconnect', () => clearTimeout(timer));
  return { arm };
}
