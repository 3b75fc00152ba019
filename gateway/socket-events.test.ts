import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { on } from './events.ts';
import { type AppSocket, createEventServer, floodBudget, takeEvent } from './socket-events.ts';

describe('takeEvent (the flood budget)', () => {
  it('lets a burst of twice the rate through, then refills at the rate', () => {
    let now = 0;
    const budget = floodBudget(5, now);
    const take = () => takeEvent(budget, 5, now);
    const burst = Array.from({ length: 10 }, take);
    expect(burst).toEqual(Array(10).fill('ok'));
    expect(take()).toBe('limited');
    now += 200; // one token at 5 a second
    expect(take()).toBe('ok');
    expect(take()).toBe('limited');
    now += 10_000; // refills to the burst size, no more
    expect(Array.from({ length: 11 }, take).filter((v) => v === 'ok')).toHaveLength(10);
  });

  it('disconnects a client that keeps flooding after being told', () => {
    const budget = floodBudget(2, 0);
    for (let i = 0; i < 4; i++) takeEvent(budget, 2, 0);
    const verdicts = Array.from({ length: 5 }, () => takeEvent(budget, 2, 0));
    expect(verdicts).toEqual(['limited', 'limited', 'limited', 'limited', 'disconnect']);
  });
});

/**
 * The few socket members the event server uses, delivering a client event as socket.io
 * does: every any-listener called with the socket as `this` and the ack last.
 */
function fakeSocket(id: string) {
  const any: ((event: string, ...args: unknown[]) => void)[] = [];
  let disconnected = false;
  const socket = {
    id,
    data: { userId: `user-${id}`, sessionId: 's', exp: 0 },
    onAny: (listener: (event: string, ...args: unknown[]) => void) => any.push(listener),
    disconnect: () => {
      disconnected = true;
    },
  } as unknown as AppSocket;
  return {
    socket,
    listeners: () => any.length,
    disconnected: () => disconnected,
    /** Sends an event with an ack and resolves to what the ack got. */
    send: (event: string, payload: unknown) =>
      new Promise<unknown>((resolve) => {
        for (const listener of any) listener.call(socket, event, payload, resolve);
      }),
    /** Sends an event without an ack. */
    emit: (event: string, payload: unknown) => {
      for (const listener of any) listener.call(socket, event, payload);
    },
  };
}

describe('the event server', () => {
  const logger = pino({ level: 'silent' });
  const renew = on('auth:renew', z.object({ token: z.string() }), async ({ token }, socket) => ({
    expiresAt: `${socket.id}:${token}`,
  }));

  it('answers registered events for the socket that sent them, and unknown ones with not_found', async () => {
    const server = createEventServer([renew], { eventsPerSecond: 10, logger });
    const one = fakeSocket('one');
    const two = fakeSocket('two');
    server.serve(one.socket);
    server.serve(two.socket);
    // One listener per socket, the same function for every socket.
    expect([one.listeners(), two.listeners()]).toEqual([1, 1]);
    expect(await one.send('auth:renew', { token: 'a' })).toEqual({ data: { expiresAt: 'one:a' } });
    expect(await two.send('auth:renew', { token: 'b' })).toEqual({ data: { expiresAt: 'two:b' } });
    expect(await one.send('auth:renw', { token: 'a' })).toEqual({
      error: { code: 'not_found', message: 'unknown event auth:renw' },
    });
    expect(await one.send('auth:renew', { token: 1 })).toMatchObject({
      error: { code: 'validation_failed' },
    });
    // Without an ack nothing is answered, and nothing throws.
    one.emit('auth:renew', { token: 'a' });
    one.emit('nope', null);
  });

  it('refuses two handlers for one event', () => {
    expect(() => createEventServer([renew, renew], { eventsPerSecond: 10, logger })).toThrow(
      /two handlers for the socket event auth:renew/,
    );
  });

  it('counts known and unknown events against one budget per socket, and disconnects a flood', async () => {
    const server = createEventServer([renew], { eventsPerSecond: 1, logger, now: () => 0 });
    const client = fakeSocket('flooder');
    const calm = fakeSocket('calm');
    server.serve(client.socket);
    server.serve(calm.socket);
    expect(await client.send('auth:renew', { token: 'a' })).toHaveProperty('data');
    expect(await client.send('nope', null)).toHaveProperty('error.code', 'not_found');
    expect(await client.send('auth:renew', { token: 'a' })).toHaveProperty(
      'error.code',
      'rate_limited',
    );
    expect(await client.send('nope', null)).toHaveProperty('error.code', 'rate_limited');
    // Another socket's budget is its own.
    expect(await calm.send('auth:renew', { token: 'c' })).toHaveProperty('data');
    expect(client.disconnected()).toBe(false);
    await client.send('nope', null);
    expect(client.disconnected()).toBe(true);
    expect(calm.disconnected()).toBe(false);
  });
});
