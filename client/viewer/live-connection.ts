// The viewer's socket: connected with the session's access token, renewed before it runs
// out (auth:renew), reconnected after sleep or a network loss, and closed for good when the
// session is over. Its state is shown to the person (see ConnectionState).
import { connectUnimal, type UnimalClient } from '../socket-client.ts';
import { SessionEnded, type ViewerSession } from './session.ts';

export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'offline';

export interface LiveConnection {
  client: UnimalClient;
  stop(): void;
}

export function openConnection(options: {
  session: ViewerSession;
  /** The session is over (refused refresh): the page goes back to the sign-in form. */
  ended(): void;
  state(state: ConnectionState): void;
  /** Each (re)connection: subscribe to the map again. */
  connected(): void;
}): LiveConnection {
  const { session } = options;
  let stopped = false;
  const ended = () => {
    if (!stopped) options.ended();
  };
  /** The token the socket was last admitted or renewed with. */
  let socketToken: string | null = null;

  // Called before every (re)connection: refreshes first when the access token is (nearly)
  // out or was refused. Null (stay offline) once the session is over; a passing failure
  // (network down) rejects, and the client tries again later.
  const getToken = async (): Promise<string | null> => {
    if (stopped) return null;
    try {
      socketToken = await session.validToken();
      return socketToken;
    } catch (err) {
      if (err instanceof SessionEnded) {
        ended();
        return null;
      }
      throw err;
    }
  };

  const client = connectUnimal({ url: location.origin, getToken });
  // A refused first handshake also lands in connect_error, handled below.
  client.ready.catch(() => {});

  // Renew before the access token runs out: refresh, then hand the new token to the open
  // socket (auth:renew), so the gateway keeps it instead of closing it at expiry.
  let renewTimer: ReturnType<typeof setTimeout> | undefined;
  let renewFailures = 0;
  const scheduleRenewal = (delay = session.renewIn()) => {
    clearTimeout(renewTimer);
    if (!stopped) renewTimer = setTimeout(() => void renew(), delay);
  };
  const renew = async () => {
    try {
      const token = await session.validToken();
      if (stopped) return;
      if (client.socket.connected && token !== socketToken) {
        const res = await client.emitWithAck('auth:renew', { token }, 5_000);
        if ('error' in res) {
          // Refused (the session may have just ended): the next round refreshes and finds out.
          if (res.error.code === 'unauthorized') session.invalidate();
          throw new Error(res.error.message);
        }
        socketToken = token;
      }
      renewFailures = 0;
      scheduleRenewal();
    } catch (err) {
      if (err instanceof SessionEnded) return ended();
      if (stopped) return;
      // Network down or the socket closing: try again soon. If the token runs out first,
      // the gateway closes the socket and the reconnection refreshes it anyway.
      scheduleRenewal(Math.min(30_000, 500 * 2 ** renewFailures++));
    }
  };
  scheduleRenewal();

  // After sleep, a hidden tab (timers throttled) or a network loss: check the token first,
  // then make sure the socket is (re)connecting.
  const wake = () => {
    if (stopped || document.visibilityState === 'hidden') return;
    if (session.renewIn() === 0) scheduleRenewal(0);
    if (!client.socket.connected && !client.socket.active) {
      void getToken().then(
        (token) => {
          if (token && !stopped && !client.socket.connected) client.socket.connect();
        },
        () => {
          // Still offline: the client's own retries carry on.
        },
      );
    }
  };
  const offline = () => {
    if (!stopped) options.state('offline');
  };
  document.addEventListener('visibilitychange', wake);
  window.addEventListener('online', wake);
  window.addEventListener('offline', offline);

  options.state('connecting');
  client.socket.on('connect', () => options.connected());
  client.socket.on('connect_error', (err) => {
    // Refused at the handshake: the token ran out while away (sleep, network loss) or was
    // revoked. The next attempt refreshes first; a refused refresh ends the session.
    if (err.message === 'unauthorized') session.invalidate();
    if (!stopped) options.state(navigator.onLine ? 'reconnecting' : 'offline');
  });
  // The gateway is about to close the socket because its token ran out.
  client.socket.on('auth:expiring', () => session.invalidate());
  client.socket.on('disconnect', (reason) => {
    // Closed by the server: token expired, session revoked (logout), or a drain. Refresh
    // before reconnecting, which also tells whether the session is still alive.
    if (reason === 'io server disconnect') session.invalidate();
    if (!stopped) options.state(navigator.onLine ? 'reconnecting' : 'offline');
  });

  return {
    client,
    stop() {
      stopped = true;
      clearTimeout(renewTimer);
      document.removeEventListener('visibilitychange', wake);
      window.removeEventListener('online', wake);
      window.removeEventListener('offline', offline);
      client.close();
    },
  };
}
