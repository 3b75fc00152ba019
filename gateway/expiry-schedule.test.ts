import { describe, expect, it } from 'vitest';
import { createExpirySchedule } from './expiry-schedule.ts';
import type { AppSocket } from './socket-events.ts';

/** The socket members the schedule reads. */
const fakeSocket = (name: string, exp: number, connected = true) =>
  ({ id: name, connected, data: { exp } }) as unknown as AppSocket;

describe('createExpirySchedule', () => {
  it('expires each socket at its token’s second, follows renewals, and forgets removed ones', async () => {
    // A clock at 50 ms before second S: sockets due at S expire at once, at S + 1 a second later.
    const S = 2_000_000_000;
    const start = Date.now();
    const now = () => Date.now() - start + S * 1000 - 50;
    const expired: string[] = [];
    let waiting: { count: number; resolve: () => void } | undefined;
    const schedule = createExpirySchedule((socket) => {
      expired.push(socket.id);
      if (waiting && expired.length === waiting.count) waiting.resolve();
    }, now);
    const expiries = (count: number) =>
      new Promise<void>((resolve) => {
        waiting = { count, resolve };
      });

    const a = fakeSocket('a', S);
    const renewed = fakeSocket('renewed', S);
    const gone = fakeSocket('gone', S);
    const later = fakeSocket('later', S + 1);
    for (const socket of [later, a, renewed, gone]) schedule.add(socket);
    // Added after it disconnected (a renewal that finished too late): never held.
    schedule.add(fakeSocket('closed', S, false));
    expect(schedule.size).toBe(4);
    // Renewed: moved to the next second.
    schedule.remove(renewed);
    renewed.data.exp = S + 1;
    schedule.add(renewed);
    schedule.remove(gone);

    await expiries(1);
    expect(expired).toEqual(['a']);
    await expiries(3);
    expect(expired.sort()).toEqual(['a', 'later', 'renewed']);
    expect(schedule.size).toBe(0);
  });
});
