import type { AppSocket } from './socket-events.ts';

/** setTimeout's longest delay; a later expiry is waited for in steps. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/**
 * Calls `expire` for each socket when the access token it holds (`socket.data.exp`) runs
 * out. One timer for the node rather than one per socket: sockets are kept in a set per
 * expiry second (tokens expire in whole seconds), and the timer waits for the earliest.
 * `remove` before changing a socket's `exp`, `add` after.
 */
export function createExpirySchedule(
  expire: (socket: AppSocket) => void,
  now: () => number = Date.now,
) {
  const due = new Map<number, Set<AppSocket>>();
  let timer: NodeJS.Timeout | undefined;
  /** The second the timer is set for; Infinity when none is. */
  let timerFor = Number.POSITIVE_INFINITY;

  const setTimer = (second: number) => {
    clearTimeout(timer);
    timerFor = second;
    if (second === Number.POSITIVE_INFINITY) return;
    timer = setTimeout(fire, Math.min(MAX_DELAY_MS, Math.max(0, second * 1000 - now())));
    timer.unref();
  };

  function fire() {
    const at = now();
    let next = Number.POSITIVE_INFINITY;
    for (const [second, sockets] of due) {
      if (second * 1000 > at) {
        next = Math.min(next, second);
        continue;
      }
      // Taken off before expiring: the disconnect that follows removes nothing.
      due.delete(second);
      for (const socket of sockets) expire(socket);
    }
    setTimer(next);
  }

  return {
    add(socket: AppSocket): void {
      // A socket gone while its renewal was checked must not be held until its expiry.
      if (!socket.connected) return;
      const second = socket.data.exp;
      let sockets = due.get(second);
      if (!sockets) {
        sockets = new Set();
        due.set(second, sockets);
      }
      sockets.add(socket);
      if (second < timerFor) setTimer(second);
    },
    remove(socket: AppSocket): void {
      const second = socket.data.exp;
      const sockets = due.get(second);
      // An emptied second stays timed: `fire` finds nothing there, and moves on.
      if (sockets?.delete(socket) && sockets.size === 0) due.delete(second);
    },
    /** How many sockets are waiting for their expiry (for tests). */
    get size() {
      let n = 0;
      for (const sockets of due.values()) n += sockets.size;
      return n;
    },
  };
}
