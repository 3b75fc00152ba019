import type { Server, Socket } from 'socket.io';
import type { Ack, ClientToServerEvents, ServerToClientEvents } from '../contract/index.ts';
import type { Logger } from '../core/logger.ts';
import type { Registration } from './events.ts';

export interface SocketData {
  userId: string;
  sessionId: string;
  /** Access token expiry, seconds since the epoch. */
  exp: number;
}

export type AppSocket = Socket<
  ClientToServerEvents,
  ServerToClientEvents,
  Record<string, never>,
  SocketData
>;

export type AppServer = Server<
  ClientToServerEvents,
  ServerToClientEvents,
  Record<string, never>,
  SocketData
>;

/** A family of events (one handler module), set up per connection with its own state. */
export type HandlerFamily = (socket: AppSocket) => Registration[];

export type FloodVerdict = 'ok' | 'limited' | 'disconnect';

/**
 * A token bucket per socket: `rate` events a second, bursts of twice that.
 * A client that keeps flooding after being told is disconnected.
 */
export function createFloodGuard(rate: number, now: () => number = Date.now) {
  let tokens = rate * 2;
  let last = now();
  let strikes = 0;
  return {
    take(): FloodVerdict {
      const at = now();
      tokens = Math.min(rate * 2, tokens + ((at - last) / 1000) * rate);
      last = at;
      if (tokens >= 1) {
        tokens -= 1;
        strikes = Math.max(0, strikes - 0.1);
        return 'ok';
      }
      strikes += 1;
      return strikes > rate * 2 ? 'disconnect' : 'limited';
    },
  };
}

export type FloodGuard = ReturnType<typeof createFloodGuard>;

const RATE_LIMITED = { code: 'rate_limited', message: 'too many events; slow down' };

/** The ack a client passed, if any (always the last argument); a vanished client's is harmless. */
function takeAck(args: unknown[]): (res: Ack<unknown>) => void {
  const ack = typeof args.at(-1) === 'function' ? args.pop() : undefined;
  return (res) => {
    if (typeof ack !== 'function') return;
    try {
      ack(res);
    } catch {
      // a client that vanished mid-ack
    }
  };
}

/**
 * Serves the registered events on a socket, and answers every other one with `not_found`.
 * Nothing a client sends can throw past this point: a malformed payload, a missing ack or a
 * failing handler is an error ack (or nothing), never a dropped connection or a crashed node.
 * Every event, known or not, counts against the socket's flood budget.
 */
export function serveEvents(
  socket: AppSocket,
  registrations: readonly Registration[],
  guard: FloodGuard,
  logger: Logger,
): void {
  const admit = (reply: (res: Ack<unknown>) => void) => {
    const verdict = guard.take();
    if (verdict === 'ok') return true;
    reply({ error: RATE_LIMITED });
    if (verdict === 'disconnect') socket.disconnect(true);
    return false;
  };
  for (const registration of registrations) {
    socket.on(registration.event, async (...args: unknown[]) => {
      const reply = takeAck(args);
      if (admit(reply)) reply(await registration.run(args[0], logger));
    });
  }
  // The names come from the registrations, so a new handler is never answered `not_found`.
  const known = new Set<string>(registrations.map((r) => r.event));
  socket.onAny((event: string, ...args: unknown[]) => {
    if (known.has(event)) return;
    const reply = takeAck(args);
    if (admit(reply)) {
      reply({
        error: { code: 'not_found', message: `unknown event ${String(event).slice(0, 64)}` },
      });
    }
  });
}
