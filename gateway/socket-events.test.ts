import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { on } from './events.ts';
import { type AppSocket, createFloodGuard, serveEvents } from './socket-events.ts';

describe('createFloodGuard', () => {
  it('lets a burst of twice the rate through, then refills at the rate', () => {
    let now = 0;
    const guard = createFloodGuard(5, () => now);
    const burst = Array.from({ length: 10 }, () => guard.take());
    expect(burst).toEqual(Array(10).fill('ok'));
    expect(guard.take()).toBe('limited');
    now += 200; // one token at 5 a second
    expect(guard.take()).toBe('ok');
    expect(guard.take()).toBe('limited');
    now += 10_000; // refills to the burst size, no more
    expect(Array.from({ length: 11 }, () => guard.take()).filter((v) => v === 'ok')).toHaveLength(
      10,
    );
  });

  it('disconnects a client that keeps flooding after being told', () => {
    const guard = createFloodGuard(2, () => 0);
    for (let i = 0; i < 4; i++) guard.take();
    const verdicts = Array.from({ length: 5 }, () => guard.take());
    expect(verdicts).toEqual(['limited', 'limited', 'limited', 'limited', 'disconnect']);
  });
});

/** The few socket members serveEvents uses, delivering a client event as socket.io does. */
function fakeSocket() {
  const emitter = new EventEmitter();
  const any: ((event: string, ...args: unknown[]) => void)[] = [];
  let disconnected = false;
  const socket = {
    on: (event: string, listener: (...args: unknown[]) => void) => emitter.on(event, listener),
    onAny: (listener: (event: string, ...args: unknown[]) => void) => any.push(listener),
    disconnect: () => {
      disconnected = true;
    },
  };
  return {
    socket: socket as unknown as AppSocket,
    disconnected: () => disconnected,
    /** Sends an event with an ack and resolves to what the ack got. */
    send: (event: string, payload: unknown) =>
      new Promise<unknown>((resolve) => {
        const args = [payload, resolve];
        for (const listener of any) listener(event, ...args);
        emitter.emit(event, ...args);
      }),
  };
}

describe('serveEvents', () => {
  const logger = pino({ level: 'silent' });
  const renew = on('auth:renew', z.object({ token: z.string() }), async ({ token }) => ({
    expiresAt: token,
  }));

  it('answers registered events, and unknown ones with not_found', async () => {
    const client = fakeSocket();
    serveEvents(client.socket, [renew], createFloodGuard(10), logger);
    expect(await client.send('auth:renew', { token: 'a' })).toEqual({ data: { expiresAt: 'a' } });
    expect(await client.send('auth:renw', { token: 'a' })).toEqual({
      error: { code: 'not_found', message: 'unknown event auth:renw' },
    });
  });

  it('counts known and unknown events against one budget, and disconnects a flood', async () => {
    const client = fakeSocket();
    serveEvents(
      client.socket,
      [renew],
      createFloodGuard(1, () => 0),
      logger,
    );
    expect(await client.send('auth:renew', { token: 'a' })).toHaveProperty('data');
    expect(await client.send('nope', null)).toHaveProperty('error.code', 'not_found');
    expect(await client.send('auth:renew', { token: 'a' })).toHaveProperty(
      'error.code',
      'rate_limited',
    );
    expect(await client.send('nope', null)).toHaveProperty('error.code', 'rate_limited');
    expect(client.disconnected()).toBe(false);
    await client.send('nope', null);
    expect(client.disconnected()).toBe(true);
  });
});
