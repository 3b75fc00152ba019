import { io, type Socket } from 'socket.io-client';
import type {
  Ack,
  ClientToServerEvents,
  Notification,
  ServerToClientEvents,
} from '../contract/index.ts';

/**
 * The typed client of the realtime gateway, shared by the tests, the map viewer
 * and the load tests, and the reference for how a mobile client behaves:
 *
 * - connect over websocket with the access token in `auth.token`;
 * - on every (re)connect, `notifications:sync` from the last notification it
 *   holds, so nothing is missed while it was away or moved to another node;
 * - drop notifications it already has (pushes are at-least-once, and a sync
 *   overlaps the last few seconds on purpose);
 * - reconnect with jittered exponential backoff, asking for a fresh token each
 *   time: after the server closed the session (token expired, logout) it
 *   reconnects only if `getToken` gives it a token again.
 */
export type UnimalSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface UnimalClientOptions {
  /** Base URL of the gateway (or the edge in front of it), e.g. http://localhost:3000. */
  url: string;
  /** The current access token; called before every (re)connection. Return null to stay offline. */
  getToken: () => string | null | Promise<string | null>;
  onNotification?: (notification: Notification) => void;
  /** The newest notification id the app already has (persist it across app restarts). */
  lastNotificationId?: string;
  /** Backoff between reconnections: starts at `minDelayMs`, doubles up to `maxDelayMs`, ±50% jitter. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** How many notification ids to remember for de-duplication. */
  rememberIds?: number;
}

export interface UnimalClient {
  socket: UnimalSocket;
  /** Resolves on the first successful connection and its sync; rejects on a refused token. */
  ready: Promise<void>;
  /** Runs a sync now; resolves with the notifications that were new to this client. */
  sync(): Promise<Notification[]>;
  emitWithAck<E extends keyof ClientToServerEvents>(
    event: E,
    payload: Parameters<ClientToServerEvents[E]>[0],
    timeoutMs?: number,
  ): Promise<Parameters<Parameters<ClientToServerEvents[E]>[1]>[0]>;
  lastNotificationId(): string | undefined;
  close(): void;
}

export function connectUnimal(options: UnimalClientOptions): UnimalClient {
  const minDelay = options.minDelayMs ?? 500;
  const maxDelay = options.maxDelayMs ?? 30_000;
  const remember = options.rememberIds ?? 2_000;
  const seen = new Set<string>();
  let last = options.lastNotificationId;
  let closed = false;
  let attempts = 0;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;

  const socket: UnimalSocket = io(options.url, {
    path: '/socket.io',
    transports: ['websocket'],
    autoConnect: false,
    // Reconnection after a lost transport is socket.io-client's own (with jitter);
    // after a server-side close or a refused token it is ours, below.
    reconnectionDelay: minDelay,
    reconnectionDelayMax: maxDelay,
    randomizationFactor: 0.5,
    auth: (cb) => {
      Promise.resolve(options.getToken()).then(
        (token) => cb({ token: token ?? '' }),
        () => cb({ token: '' }),
      );
    },
  });

  const accept = (n: Notification): boolean => {
    if (seen.has(n.id)) return false;
    seen.add(n.id);
    if (seen.size > remember) seen.delete(seen.values().next().value as string);
    last = n.id;
    options.onNotification?.(n);
    return true;
  };

  const emitWithAck: UnimalClient['emitWithAck'] = (event, payload, timeoutMs = 10_000) =>
    // biome-ignore lint/suspicious/noExplicitAny: the event map types the call; socket.io's overloads do not line up
    (socket.timeout(timeoutMs) as any).emitWithAck(event, payload);

  const sync = async (): Promise<Notification[]> => {
    const fresh: Notification[] = [];
    // Page until the server says there is no more.
    for (;;) {
      const res = (await emitWithAck('notifications:sync', last ? { after: last } : {})) as Ack<{
        items: Notification[];
        hasMore: boolean;
      }>;
      if ('error' in res) throw new Error(`${res.error.code}: ${res.error.message}`);
      for (const n of res.data.items) if (accept(n)) fresh.push(n);
      if (!res.data.hasMore || res.data.items.length === 0) return fresh;
      // The next page starts after this one's newest, whether or not it was new here
      // (pushes may have brought it already).
      last = res.data.items.at(-1)!.id;
    }
  };

  const backoff = () => {
    const base = Math.min(maxDelay, minDelay * 2 ** attempts);
    attempts += 1;
    return base * (0.5 + Math.random());
  };
  const reconnectLater = () => {
    if (closed) return;
    clearTimeout(retryTimer);
    retryTimer = setTimeout(async () => {
      if (closed) return;
      let token: string | null;
      try {
        token = await options.getToken();
      } catch {
        // No token for now (say, its refresh failed with the network down): try again
        // later. Only a null token means "stay offline".
        reconnectLater();
        return;
      }
      if (token && !closed) socket.connect();
    }, backoff());
  };

  let settle: { resolve: () => void; reject: (err: Error) => void } | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    settle = { resolve, reject };
  });

  socket.on('notification', (n) => {
    accept(n);
  });
  socket.on('connect', () => {
    attempts = 0;
    sync().then(
      () => settle?.resolve(),
      () => {
        // The sync runs again on the next connection.
      },
    );
  });
  socket.on('connect_error', (err) => {
    // A refused handshake (bad or expired token) is not retried by socket.io-client.
    if (!socket.active) {
      settle?.reject(new Error(err.message));
      reconnectLater();
    }
  });
  socket.on('disconnect', (reason) => {
    // "io server disconnect": the server closed the session (token expired or
    // revoked). Try again only with a token from getToken.
    if (reason === 'io server disconnect') reconnectLater();
  });

  socket.connect();
  return {
    socket,
    ready,
    sync,
    emitWithAck,
    lastNotificationId: () => last,
    close() {
      closed = true;
      clearTimeout(retryTimer);
      socket.disconnect();
    },
  };
}
