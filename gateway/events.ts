import type { z } from 'zod';
import type { Ack, ClientToServerEvents } from '../contract/index.ts';
import { toAppError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { AppSocket } from './socket-events.ts';

/**
 * The one validation wrapper of the gateway. A handler module declares each event it
 * answers with `on(event, schema, handle)`; the event map of the contract types all three,
 * so a misspelt event, a schema that does not read the event's payload, or an answer that
 * is not the event's ack shape fails to compile.
 *
 * A registration is made once per node, not per socket: the handler is given the socket
 * that sent the event, and keeps what it needs of that socket in `socket.data`.
 */

export type ClientEvent = keyof ClientToServerEvents;

/** What the contract says a client sends with `E` (null and undefined aside). */
export type ClientPayload<E extends ClientEvent> = NonNullable<
  Parameters<ClientToServerEvents[E]>[0]
>;

/** What the contract says `E`'s ack carries on success. */
export type AckData<E extends ClientEvent> = Parameters<ClientToServerEvents[E]>[1] extends (
  res: Ack<infer T>,
) => void
  ? T
  : never;

type Overlaps<A, B> = [NonNullable<A> & NonNullable<B>] extends [never] ? false : true;

/**
 * Whether a schema's input fits a payload: a schema that takes anything fits every payload;
 * otherwise both name the same fields, and each field's types can meet. (Not assignability
 * either way: the schema may be narrower than the contract, `kind` an enum where the
 * contract says string, or wider, a bbox array of any length where the contract says four.)
 */
export type Fits<Input, Payload> = unknown extends Input
  ? true
  : FieldsFit<NonNullable<Input>, Payload>;

type FieldsFit<Input, Payload> = [
  Exclude<keyof Payload, keyof Input> | Exclude<keyof Input, keyof Payload>,
] extends [never]
  ? [
      {
        [K in keyof Payload & keyof Input]-?: Overlaps<Payload[K], Input[K]> extends true
          ? never
          : K;
      }[keyof Payload & keyof Input],
    ] extends [never]
    ? true
    : false
  : false;

/** Stands in for the schema's type when it does not fit, so the error names the event. */
export interface PayloadMismatch<E extends ClientEvent> {
  'the schema does not read the payload the contract gives': E;
}

/** One event the node's sockets answer; the type of its payload and answer is checked where it is made. */
export interface Registration {
  readonly event: ClientEvent;
  /**
   * Validates the raw payload and runs the handler for `socket`: resolves to the ack, never
   * rejects (a malformed payload or a failing handler is an `{ error }`, a fault logged on
   * `logger` with the socket's user and id).
   */
  run(raw: unknown, socket: AppSocket, logger: Logger): Promise<Ack<unknown>>;
}

export function on<E extends ClientEvent, S extends z.ZodType>(
  event: E,
  schema: S & (Fits<z.input<S>, ClientPayload<E>> extends true ? unknown : PayloadMismatch<E>),
  handle: (payload: z.output<S>, socket: AppSocket) => Promise<AckData<E>>,
): Registration {
  return {
    event,
    async run(raw, socket, logger) {
      // socket.io sends an undefined payload as null: the same thing to us.
      const parsed = schema.safeParse(raw === null ? undefined : raw);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
        return {
          error: {
            code: 'validation_failed',
            message: `${where}${issue?.message ?? 'invalid payload'}`,
          },
        };
      }
      try {
        return { data: await handle(parsed.data, socket) };
      } catch (err) {
        const e = toAppError(err);
        if (e.report) {
          // The socket's bindings are written only here, when something is logged: a
          // child logger per socket would cost every connection its memory.
          logger.error(
            { err: e.cause ?? e, event, userId: socket.data.userId, socket: socket.id },
            'socket event failed',
          );
        }
        return { error: { code: e.code, message: e.message } };
      }
    },
  };
}
