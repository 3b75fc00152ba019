import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { MapSubscribePayload, NotificationsSyncPayload } from '../contract/index.ts';
import { AppError } from '../core/errors.ts';
import { on } from './events.ts';
import type { AppSocket } from './socket-events.ts';

const logger = pino({ level: 'silent' });
/** The socket members a handler and the wrapper read. */
const socket = { id: 'sock-1', data: { userId: 'user-1' } } as unknown as AppSocket;
const Renew = z.object({ token: z.string().min(1) });

describe('on (the validation wrapper)', () => {
  it('hands the handler the parsed payload and acks its answer as data', async () => {
    const handle = vi.fn(async ({ token }: { token: string }) => ({ expiresAt: token }));
    const renew = on('auth:renew', Renew, handle);
    expect(renew.event).toBe('auth:renew');
    expect(await renew.run({ token: 'x', extra: 1 }, socket, logger)).toEqual({
      data: { expiresAt: 'x' },
    });
    expect(handle).toHaveBeenCalledWith({ token: 'x' }, socket);
  });

  it('reads a null payload (how socket.io sends undefined) as no payload', async () => {
    const sync = on('notifications:sync', NotificationsSyncPayload, async (payload) => {
      expect(payload).toEqual({});
      return { items: [], hasMore: false };
    });
    expect(await sync.run(null, socket, logger)).toEqual({ data: { items: [], hasMore: false } });
  });

  it('answers a malformed payload with the first issue and its path, without running the handler', async () => {
    const handle = vi.fn(async () => ({ expiresAt: '' }));
    const renew = on('auth:renew', Renew, handle);
    const res = await renew.run({ token: '' }, socket, logger);
    expect(res).toEqual({
      error: { code: 'validation_failed', message: expect.stringMatching(/^token: /) },
    });
    expect(await renew.run('not an object', socket, logger)).toMatchObject({
      error: { code: 'validation_failed' },
    });
    expect(handle).not.toHaveBeenCalled();
  });

  it("acks a handler's error with its code, and logs only faults", async () => {
    const error = vi.spyOn(logger, 'error');
    const refused = on('auth:renew', Renew, async () => {
      throw new AppError('forbidden', 'the token belongs to another user');
    });
    expect(await refused.run({ token: 't' }, socket, logger)).toEqual({
      error: { code: 'forbidden', message: 'the token belongs to another user' },
    });
    expect(error).not.toHaveBeenCalled();

    const broken = on('auth:renew', Renew, async () => {
      throw new Error('secret detail');
    });
    expect(await broken.run({ token: 't' }, socket, logger)).toEqual({
      error: { code: 'internal', message: 'internal error' },
    });
    expect(error).toHaveBeenCalledOnce();
    expect(error.mock.calls[0]?.[0]).toMatchObject({
      event: 'auth:renew',
      userId: 'user-1',
      socket: 'sock-1',
    });
  });

  it('takes any payload when the schema does', async () => {
    const leave = on('map:unsubscribe', z.unknown(), async () => ({}));
    expect(await leave.run('anything', socket, logger)).toEqual({ data: {} });
  });
});

// Compile-time checks (`npm run typecheck`): each line below must fail to compile, or the
// directive itself is an error. Never run, only typed.
export function typeChecks() {
  // @ts-expect-error a misspelt event
  on('map:subscrbe', MapSubscribePayload, async () => ({ resolution: 0, cells: [] }));
  // @ts-expect-error a schema that reads another event's payload
  on('notifications:sync', Renew, async () => ({ items: [], hasMore: false }));
  // @ts-expect-error a field of the wrong type
  on('auth:renew', z.object({ token: z.number() }), async () => ({ expiresAt: '' }));
  // @ts-expect-error an answer that is not the event's ack shape
  on('notifications:sync', NotificationsSyncPayload, async () => ({ items: [] }));
  // @ts-expect-error the handler reads a field the schema does not give
  on('auth:renew', Renew, async ({ tokn }) => ({ expiresAt: String(tokn) }));
  // @ts-expect-error the handler's second argument is the socket, not a string
  on('auth:renew', Renew, async (_payload, socket: string) => ({ expiresAt: socket }));
  // The schemas the gateway uses fit their events, and the handler is given the socket.
  on('map:subscribe', MapSubscribePayload, async (_payload, socket) => ({
    resolution: socket.data.exp,
    cells: [],
  }));
}
