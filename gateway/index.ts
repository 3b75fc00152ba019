import { createAdapter } from '@socket.io/redis-adapter';
import { Server } from 'socket.io';
import { z } from 'zod';
import {
  type ClientToServerEvents,
  NotificationsSyncPayload,
  type ServerToClientEvents,
  sessionRoom,
  socketChannelKey,
  userRoom,
} from '../contract/index.ts';
import { AppError } from '../core/errors.ts';
import { channelPrefix, closeRedis, redisLocation, reportRejections } from '../core/redis.ts';
import type { RoleContext, RunningRole } from '../core/roles.ts';
import { authenticate } from '../domain/auth/authenticate.ts';
import { mapRoom, resolutionForZoom, subscriptionCells } from '../domain/map/geo.ts';
import { cellCounts } from '../domain/map/queries.ts';
import { MapSubscribePayload } from '../domain/map/schema.ts';
import { notificationsAfter, toNotification } from '../domain/notifications/queries.ts';
import { type AppSocket, createFloodGuard, onEvent, type SocketData } from './socket-events.ts';

/** Largest message a client may send; every client event is small. */
const MAX_MESSAGE_BYTES = 16 * 1024;
const SYNC_LIMIT = 500;
/** The 400 body's message for a polling (or unknown-transport) request. */
export const WEBSOCKET_ONLY =
  "this server accepts websocket transport only: connect with io(url, { transports: ['websocket'] })";
const KNOWN_EVENTS = new Set([
  'notifications:sync',
  'auth:renew',
  'map:subscribe',
  'map:unsubscribe',
]);

/**
 * The realtime gateway: Socket.IO on the process's HTTP server (path
 * /socket.io, websocket only), clustered through the Redis adapter so that a
 * push from any process reaches the socket on whichever node holds it.
 */
export async function startGateway(ctx: RoleContext): Promise<RunningRole & { io: Server }> {
  const { deps, httpServer } = ctx;
  const { logger, config, metrics } = deps;
  // Subscriptions need a connection of their own; ioredis re-subscribes after reconnects.
  // The adapter subscribes and publishes without handling a rejection, and an unhandled
  // one ends the process: a node started while Redis was away used to exit a second
  // after listening, when the queued SUBSCRIBE hit maxRetriesPerRequest. So the
  // subscriber keeps its SUBSCRIBEs queued until Redis answers (no retry limit), the
  // publisher fails fast like every command, and each failure is logged, not thrown.
  const onAdapterError = (command: string, err: Error) =>
    logger.warn({ command, err: err.message }, 'socket adapter command failed');
  const pub = reportRejections(
    deps.redis.duplicate({ enableOfflineQueue: false, lazyConnect: false }),
    ['publish'],
    onAdapterError,
  );
  const sub = reportRejections(
    deps.redis.duplicate({
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
      lazyConnect: false,
    }),
    ['subscribe', 'psubscribe'],
    onAdapterError,
  );
  pub.on('error', () => {});
  // Ready only once pushes can arrive: the subscriber reconnects on its own schedule, and
  // a PING on it answers after the (re)subscriptions queued before it.
  deps.lifecycle.checks?.set('gateway', async () => {
    if (sub.status !== 'ready') return `push subscription down (${redisLocation(sub)})`;
    try {
      await sub.ping();
      return undefined;
    } catch {
      return `push subscription down (${redisLocation(sub)})`;
    }
  });
  sub.on('error', () => {});

  const io = new Server<
    ClientToServerEvents,
    ServerToClientEvents,
    Record<string, never>,
    SocketData
  >(httpServer, {
    path: '/socket.io',
    transports: ['websocket'],
    serveClient: false,
    maxHttpBufferSize: MAX_MESSAGE_BYTES,
    pingInterval: 25_000,
    pingTimeout: 20_000,
    // The stack's own channel (prefix and db index): stacks sharing a Redis never mix.
    adapter: createAdapter(pub, sub, {
      key: socketChannelKey(channelPrefix(config.redisPrefix, deps.redis)),
    }),
  });
  let draining = false;

  // The gateway serves websocket only, so a plain `io(url)` (which starts with HTTP long
  // polling) gets engine.io's 400 `Transport unknown` and reports a bare `xhr poll error`.
  // engine.io answers with `context.message` when one is set, and emits this event with that
  // same context just before answering: the 400 body then says what to do.
  io.engine.on(
    'connection_error',
    (err: { code: number; context?: { transport?: unknown; message?: string } }) => {
      if (err.code === 0 && err.context && err.context.transport !== 'websocket') {
        err.context.message = WEBSOCKET_ONLY;
      }
    },
  );

  // Handshake: the access token in `auth.token`, verified like an HTTP request.
  io.use(async (socket, next) => {
    if (draining) return next(new Error('unavailable'));
    const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    if (typeof token !== 'string' || token.length === 0 || token.length > 4096) {
      metrics.socketConnections.inc({ outcome: 'unauthorized' });
      return next(new Error('unauthorized'));
    }
    try {
      const claims = await authenticate(deps, token, { fresh: true });
      socket.data = { userId: claims.userId, sessionId: claims.sessionId, exp: claims.exp };
      next();
    } catch (err) {
      const e = err instanceof AppError ? err : undefined;
      const code = e?.code === 'unauthorized' ? 'unauthorized' : 'unavailable';
      metrics.socketConnections.inc({ outcome: code });
      next(new Error(code));
    }
  });

  io.on('connection', (socket: AppSocket) => {
    metrics.socketConnections.inc({ outcome: 'connected' });
    metrics.socketsConnected.inc();
    socket.on('disconnect', () => metrics.socketsConnected.dec());
    const { userId, sessionId } = socket.data;
    void socket.join([userRoom(userId), sessionRoom(sessionId)]);
    const guard = createFloodGuard(config.socketEventsPerSecond);
    const log = logger.child({ userId, socket: socket.id });

    // The session ends with its token unless the client renews it in time.
    let expiry: NodeJS.Timeout | undefined;
    const armExpiry = () => {
      clearTimeout(expiry);
      const ms = socket.data.exp * 1000 - Date.now();
      expiry = setTimeout(
        () => {
          socket.emit('auth:expiring', {
            expiresAt: new Date(socket.data.exp * 1000).toISOString(),
          });
          socket.disconnect(true);
        },
        Math.max(0, ms),
      );
      expiry.unref();
    };
    armExpiry();
    socket.on('disconnect', () => clearTimeout(expiry));

    onEvent(
      socket,
      guard,
      log,
      'notifications:sync',
      NotificationsSyncPayload,
      async ({ after }) => {
        const { rows, hasMore } = await notificationsAfter(deps.sql, userId, after, SYNC_LIMIT);
        return { items: rows.map(toNotification), hasMore };
      },
    );

    onEvent(
      socket,
      guard,
      log,
      'auth:renew',
      z.object({ token: z.string().min(1).max(4096) }),
      async ({ token }) => {
        const claims = await authenticate(deps, token, { fresh: true });
        if (claims.userId !== userId)
          throw new AppError('forbidden', 'the token belongs to another user');
        // The session the socket follows now (it may have moved before): leave its room
        // for the new one's, so a logout of the new session reaches this socket.
        const current = socket.data.sessionId;
        if (claims.sessionId !== current) {
          void socket.leave(sessionRoom(current));
          void socket.join(sessionRoom(claims.sessionId));
        }
        socket.data.sessionId = claims.sessionId;
        socket.data.exp = claims.exp;
        armExpiry();
        return { expiresAt: new Date(claims.exp * 1000).toISOString() };
      },
    );

    // The live map: rooms of the cells covering the view, replaced on every subscribe.
    // Subscriptions are numbered: one answered after a later subscribe or unsubscribe was
    // received joins nothing, so overlapping requests can never leave rooms behind.
    let mapSubscription = 0;
    const leaveMap = () => {
      for (const room of socket.rooms) if (room.startsWith('map:')) void socket.leave(room);
    };
    onEvent(
      socket,
      guard,
      log,
      'map:subscribe',
      MapSubscribePayload,
      async ({ bbox, zoom, kind }) => {
        const number = ++mapSubscription;
        const subscription = subscriptionCells(bbox, zoom);
        const resolution = resolutionForZoom(zoom);
        const cells = subscription ? await cellCounts(deps.sql, { bbox, resolution, kind }) : null;
        if (!subscription || !cells) {
          throw new AppError(
            'validation_failed',
            'bbox: too large an area for this zoom; zoom out or shrink it',
          );
        }
        if (number !== mapSubscription) {
          throw new AppError('conflict', 'superseded by a later map:subscribe or map:unsubscribe');
        }
        leaveMap();
        await socket.join(subscription.cells.map((cell) => mapRoom(subscription.resolution, cell)));
        return { resolution, cells };
      },
    );
    onEvent(socket, guard, log, 'map:unsubscribe', z.unknown(), async () => {
      mapSubscription++;
      leaveMap();
      return {};
    });

    // Anything else a client sends is answered, not ignored silently nor fatal.
    socket.onAny((event: string, ...args: unknown[]) => {
      if (KNOWN_EVENTS.has(event)) return;
      const ack = args.at(-1);
      const reply = (error: { code: string; message: string }) => {
        if (typeof ack === 'function') ack({ error });
      };
      // Unknown events count against the same budget as known ones.
      const verdict = guard.take();
      if (verdict !== 'ok') {
        reply({ code: 'rate_limited', message: 'too many events; slow down' });
        if (verdict === 'disconnect') socket.disconnect(true);
        return;
      }
      reply({ code: 'not_found', message: `unknown event ${String(event).slice(0, 64)}` });
    });
  });

  // A safety net for revocations whose announcement was lost (Redis unreachable at that
  // moment): every so often, one query finds the local sockets whose session ended.
  const sessionCheck =
    config.socketSessionCheckMs > 0
      ? setInterval(() => {
          void closeEndedSessions().catch((err: Error) =>
            logger.warn({ err: err.message }, 'socket session check failed'),
          );
        }, config.socketSessionCheckMs)
      : undefined;
  sessionCheck?.unref();
  const closeEndedSessions = async () => {
    const local = [...io.of('/').sockets.values()] as AppSocket[];
    const ids = [...new Set(local.map((s) => s.data.sessionId))];
    for (let i = 0; i < ids.length; i += 10_000) {
      const chunk = ids.slice(i, i + 10_000);
      const live = new Set(
        (
          await deps.sql<{ id: string }[]>`
            select s.id from sessions s join users u on u.id = s.user_id
            where s.id = any(${chunk}::uuid[]) and s.revoked_at is null
              and s.expires_at > now() and u.deleted_at is null`
        ).map((r) => r.id),
      );
      const checked = new Set(chunk);
      for (const socket of local) {
        if (checked.has(socket.data.sessionId) && !live.has(socket.data.sessionId)) {
          socket.disconnect(true);
        }
      }
    }
  };

  io.engine.on('connection_error', (err: { code: number; message: string }) => {
    logger.debug({ code: err.code, message: err.message }, 'socket connection error');
  });

  logger.info('gateway started');
  return {
    name: 'gateway',
    io,
    async stop() {
      draining = true;
      deps.lifecycle.checks?.delete('gateway');
      clearInterval(sessionCheck);
      // Tell local clients, then drop their transports without a Socket.IO
      // disconnect: clients see "transport close" and reconnect (to another node).
      io.local.emit('server:draining');
      await new Promise((r) => setTimeout(r, 50));
      io.engine.close();
      await Promise.allSettled([closeRedis(pub), closeRedis(sub)]);
    },
  };
}
