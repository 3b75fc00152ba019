import type { Socket } from 'socket.io';
import type { z } from 'zod';
import type { AckError, ClientToServerEvents, ServerToClientEvents } from '../contract/index.ts';
import { toAppError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';

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

/**
 * A token bucket per socket: `rate` events a second, bursts of twice that.
 * A client that keeps flooding after being told is disconnected.
 */
export function createFloodGuard(rate: number) {
  let tokens = rate * 2;
  let last = Date.now();
  let strikes = 0;
  return {
    take(): 'ok' | 'limited' | 'disconnect' {
      const now = Date.now();
      tokens = Math.min(rate * 2, tokens + ((now - last) / 1000) * rate);
      last = now;
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

type Guard = ReturnType<typeof createFloodGuard>;

/**
 * Registers a client event: the payload goes through zod, the answer is an ack
 * `{ data }` or `{ error }`. Nothing a client sends can throw past this point:
 * a malformed payload, a missing ack or a failing handler is an error ack (or
 * nothing), never a dropped connection or a crashed node.
 */
export function onEvent<S extends z.ZodType, R>(
  socket: AppSocket,
  guard: Guard,
  logger: Logger,
  event: string,
  schema: S,
  handler: (payload: z.infer<S>) => Promise<R>,
): void {
  (socket as unknown as Socket).on(event, async (...args: unknown[]) => {
    const ack =
      typeof args.at(-1) === 'function' ? (args.pop() as (res: unknown) => void) : undefined;
    const reply = (res: { data: R } | { error: AckError }) => {
      try {
        ack?.(res);
      } catch {
        // a client that vanished mid-ack
      }
    };
    const verdict = guard.take();
    if (verdict !== 'ok') {
      reply({ error: { code: 'rate_limited', message: 'too many events; slow down' } });
      if (verdict === 'disconnect') socket.disconnect(true);
      return;
    }
    // socket.io sends an undefined payload as null: the same thing to us.
    const parsed = schema.safeParse(args[0] === null ? undefined : args[0]);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
      reply({
        error: {
          code: 'validation_failed',
          message: `${where}${issue?.message ?? 'invalid payload'}`,
        },
      });
      return;
    }
    try {
      reply({ data: await handler(parsed.data) });
    } catch (err) {
      const e = toAppError(err);
      if (e.report) logger.error({ err: e.cause ?? e, event }, 'socket event failed');
      reply({ error: { code: e.code, message: e.message } });
    }
  });
}
