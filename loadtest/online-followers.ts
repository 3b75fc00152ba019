// Followers online as real Socket.IO clients (socket.io-client, websocket) in the benchmark's
// own process, alternating between gateway nodes, counting each notification's arrivals.
// bench:fanout's delivery figures have always been taken this way; its written and
// broadcast parts both use it, so their figures compare.
import { io, type Socket } from 'socket.io-client';
import type { Notification } from '../contract/index.ts';
import type { BenchRun } from './harness.ts';

interface Tally {
  count: number;
  /** performance.now() of the latest arrival. */
  last: number;
  resolve?: () => void;
}

export interface OnlineFollowers {
  size: number;
  /**
   * Resolves with the performance.now() of the last socket's arrival once every socket
   * received the notification keyed `key` (its post id, or its id when it has none).
   */
  waitAll(key: string, timeoutMs?: number): Promise<number>;
  /** How many sockets have received `key` so far. */
  received(key: string): number;
  /** Closes every socket (and takes them off the run's list). */
  close(): void;
}

export async function connectFollowers(
  run: BenchRun,
  gatewayUrls: string[],
  userIds: string[],
): Promise<OnlineFollowers> {
  const tokens = await run.tokensFor(userIds);
  const tallies = new Map<string, Tally>();
  const tally = (key: string) => {
    const found = tallies.get(key);
    if (found) return found;
    const made: Tally = { count: 0, last: 0 };
    tallies.set(key, made);
    return made;
  };
  const mine: Socket[] = [];
  // 500 handshakes in flight at a time: more only queue up in the gateways.
  for (let i = 0; i < userIds.length; i += 500) {
    await Promise.all(
      userIds.slice(i, i + 500).map((_, j) => {
        const k = i + j;
        const socket = io(gatewayUrls[k % gatewayUrls.length]!, {
          path: '/socket.io',
          transports: ['websocket'],
          auth: { token: tokens[k] },
          forceNew: true,
          reconnection: false,
        });
        mine.push(socket);
        run.sockets.push(socket);
        socket.on('notification', (n: Notification) => {
          const t = tally(n.postId ?? n.id);
          t.count += 1;
          t.last = performance.now();
          if (t.count === userIds.length) t.resolve?.();
        });
        return new Promise<void>((resolve, reject) => {
          socket.once('connect', () => resolve());
          socket.once('connect_error', (err) => reject(err));
        });
      }),
    );
  }
  return {
    size: userIds.length,
    waitAll: (key, timeoutMs = 30_000) =>
      new Promise<number>((resolve, reject) => {
        const t = tally(key);
        const timer = setTimeout(
          () => reject(new Error(`only ${t.count}/${userIds.length} sockets received ${key}`)),
          timeoutMs,
        );
        t.resolve = () => {
          clearTimeout(timer);
          resolve(t.last);
        };
        if (t.count === userIds.length) t.resolve();
      }),
    received: (key) => tallies.get(key)?.count ?? 0,
    close() {
      for (const socket of mine) socket.close();
      const closed = new Set(mine);
      const left = run.sockets.filter((s) => !closed.has(s));
      run.sockets.length = 0;
      run.sockets.push(...left);
    },
  };
}
