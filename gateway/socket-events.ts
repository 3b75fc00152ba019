import type { Server, Socket } from 'socket.io';
import type { Ack, ClientToServerEvents, ServerToClientEvents } from '../contract/index.ts';
import type { Logger } from '../core/logger.ts';
import type { Registration } from './events.ts';

export interface SocketData {
  userId: string;
  sessionId: string;
  /** Access token expiry, seconds since the epoch. */
  exp: number;
  /** The socket's flood budget, from its first event on (see `takeEvent`). */
  flood?: FloodBudget;
  /** How many map subscribes and unsubscribes it sent (gateway/handlers/map.ts). */
  mapRequests?: number;
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

/**
 * A family of events (one handler module), made once per node: its handlers are given the
 * socket, and what they keep per socket lives in `socket.data`. Nothing here is made per
 * connection, since every byte a connection holds is multiplied by the node's sockets.
 */
export interface HandlerFamily {
  readonly events: readonly Registration[];
  /** Called as a socket is admitted, before it can send anything. */
  readonly connected?: (socket: AppSocket) => void;
  readonly disconnected?: (socket: AppSocket) => void;
}

export type FloodVerdict = 'ok' | 'limited' | 'disconnect';

/** A token bucket: `rate` events a second, bursts of twice that (see `takeEvent`). */
export interface FloodBudget {
  tokens: number;
  /** When it was last drawn on, ms since the epoch. */
  last: number;
  strikes: number;
}

export function floodBudget(rate: number, now: number = Date.now()): FloodBudget {
  return { tokens: rate * 2, last: now, strikes: 0 };
}

/**
 * Draws one event on a socket's budget. A client that keeps flooding after being told is
 * disconnected.
 */
export function takeEvent(
  budget: FloodBudget,
  rate: number,
  now: number = Date.now(),
): FloodVerdict {
  budget.tokens = Math.min(rate * 2, budget.tokens + ((now - budget.last) / 1000) * rate);
  budget.last = now;
  if (budget.tokens >= 1) {
    budget.tokens -= 1;
    budget.strikes = Math.max(0, budget.strikes - 0.1);
    return 'ok';
  }
  budget.strikes += 1;
  return budget.strikes > rate * 2 ? 'disconnect' : 'limited';
}

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
 * Serves the registered events on every socket of the node, and answers every other one
 * with `not_found`. Nothing a client sends can throw past this point: a malformed payload,
 * a missing ack or a failing handler is an error ack (or nothing), never a dropped
 * connection or a crashed node. Every event, known or not, counts against the socket's
 * flood budget.
 *
 * One listener per socket, shared by all of them (`onAny` calls it with the socket as
 * `this`), dispatching through one map for the node: a socket costs a slot in its any-
 * listener list, not a closure per event.
 */
export function createEventServer(
  registrations: readonly Registration[],
  options: { eventsPerSecond: number; logger: Logger; now?: () => number },
) {
  const { eventsPerSecond: rate, logger, now = Date.now } = options;
  const byEvent = new Map<string, Registration>();
  for (const registration of registrations) {
    if (byEvent.has(registration.event)) {
      throw new Error(`two handlers for the socket event ${registration.event}`);
    }
    byEvent.set(registration.event, registration);
  }

  function dispatch(this: AppSocket, event: unknown, ...args: unknown[]): void {
    const reply = takeAck(args);
    // The budget starts full, as it would be at any later moment: made at the first event,
    // a socket that never sends one never holds it.
    const at = now();
    this.data.flood ??= floodBudget(rate, at);
    const verdict = takeEvent(this.data.flood, rate, at);
    if (verdict !== 'ok') {
      reply({ error: RATE_LIMITED });
      if (verdict === 'disconnect') this.disconnect(true);
      return;
    }
    const registration = typeof event === 'string' ? byEvent.get(event) : undefined;
    if (!registration) {
      reply({
        error: { code: 'not_found', message: `unknown event ${String(event).slice(0, 64)}` },
      });
      return;
    }
    void registration.run(args[0], this, logger).then(reply);
  }

  return {
    /** Starts answering a socket's events. */
    serve(socket: AppSocket): void {
      socket.onAny(dispatch);
    },
  };
}
