import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import { channelPrefix, closeRedis, type Redis } from './redis.ts';

/**
 * Which sessions this node knows to be live, so that an authenticated request
 * need not ask PostgreSQL every time.
 *
 * Revocations (logout, a spent refresh token presented again, account deletion)
 * are committed to PostgreSQL first, then announced on a Redis channel that
 * every node listens to; the node that revoked forgets the session before it
 * answers. Another node stops accepting the session as soon as the message
 * arrives (a millisecond or so). The cache is only used while this node is
 * subscribed: when the subscription drops, everything is forgotten and every
 * request asks PostgreSQL until it is back. An entry lives at most `ttlMs` and
 * never past the session's own expiry.
 *
 * A lookup that was in flight while a revocation arrived is not stored, so a
 * read that started before a revocation committed cannot put it back.
 */
export interface SessionCache {
  /**
   * True when the session is live and belongs to `userId`: from memory when
   * possible, otherwise from `load` (its expiry, or undefined when not live).
   */
  check(sessionId: string, userId: string, load: () => Promise<Date | undefined>): Promise<boolean>;
  /** After a revocation committed: forgotten here at once, and announced to every node. */
  revoked(target: { sessionIds: string[] } | { userId: string }): Promise<void>;
  /** Whether this session is held in memory now (for tests). */
  holds(sessionId: string): boolean;
  /** True while the node hears revocations (and so may use its memory). */
  readonly listening: boolean;
  close(): Promise<void>;
}

/** Bounds memory: beyond this many live sessions, the oldest entries are dropped. */
const MAX_ENTRIES = 100_000;

type Notice = { s?: string[]; u?: string };

/** The revocation channel, built on the stack's channel prefix (`channelPrefix`). */
export function sessionChannel(stackChannelPrefix: string): string {
  return `${stackChannelPrefix}sessions:revoked`;
}

export function createSessionCache(options: {
  ttlMs: number;
  redis: Redis;
  /** REDIS_PREFIX; the channel also carries the database index of `redis`. */
  prefix: string;
  logger: Logger;
  metrics: Metrics;
}): SessionCache {
  const { ttlMs, redis, logger, metrics } = options;
  const channel = sessionChannel(channelPrefix(options.prefix, redis));
  const entries = new Map<string, { userId: string; until: number }>();
  // Bumped by every revocation and every change of subscription: a lookup stores
  // its answer only when nothing of the kind happened while it was in flight.
  let generation = 0;
  let listening = false;
  let subscriber: Redis | undefined;
  let closed = false;

  const forgetAll = () => {
    entries.clear();
    generation++;
  };

  const forget = (notice: Notice) => {
    generation++;
    for (const id of notice.s ?? []) entries.delete(id);
    if (notice.u) {
      for (const [id, entry] of entries) if (entry.userId === notice.u) entries.delete(id);
    }
  };

  const listen = () => {
    if (subscriber || closed || ttlMs === 0) return;
    const sub = redis.duplicate({
      keyPrefix: '',
      lazyConnect: true,
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
    });
    subscriber = sub;
    let lastError = '';
    sub.on('error', (err: Error) => {
      if (err.message !== lastError) logger.warn({ err: err.message }, 'session channel error');
      lastError = err.message;
    });
    sub.on('message', (_channel: string, message: string) => {
      try {
        forget(JSON.parse(message) as Notice);
      } catch {
        forgetAll();
      }
    });
    sub.on('close', () => {
      listening = false;
      forgetAll();
    });
    sub.on('ready', () => {
      lastError = '';
      sub.subscribe(channel).then(
        () => {
          if (closed) return;
          forgetAll();
          listening = true;
        },
        () => {},
      );
    });
    sub.connect().catch(() => {
      // Keeps retrying in the background; until then every lookup goes to PostgreSQL.
    });
  };

  const retries = new Set<NodeJS.Timeout>();
  const retry = async (message: string, until: number, delay = 250): Promise<void> => {
    if (closed) return;
    if (Date.now() > until) {
      logger.warn('gave up announcing a session revocation: every cache entry has expired');
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        retries.delete(timer);
        resolve();
      }, delay);
      timer.unref();
      retries.add(timer);
    });
    if (closed) return;
    try {
      await redis.publish(channel, message);
      logger.info('session revocation announced after a retry');
    } catch {
      await retry(message, until, Math.min(delay * 2, 5_000));
    }
  };

  return {
    get listening() {
      return listening;
    },

    holds(sessionId) {
      return entries.has(sessionId);
    },

    async check(sessionId, userId, load) {
      listen();
      const now = Date.now();
      const entry = entries.get(sessionId);
      if (listening && entry && entry.userId === userId && entry.until > now) {
        metrics.sessionCache.inc({ outcome: 'hit' });
        return true;
      }
      if (entry) entries.delete(sessionId);
      metrics.sessionCache.inc({ outcome: listening ? 'miss' : 'bypass' });
      const seen = generation;
      const expiresAt = await load();
      if (!expiresAt) return false;
      if (listening && seen === generation && ttlMs > 0) {
        entries.set(sessionId, { userId, until: Math.min(now + ttlMs, expiresAt.getTime()) });
        if (entries.size > MAX_ENTRIES) entries.delete(entries.keys().next().value!);
      }
      return true;
    },

    async revoked(target) {
      const notice: Notice = 'userId' in target ? { u: target.userId } : { s: target.sessionIds };
      forget(notice);
      const message = JSON.stringify(notice);
      try {
        await redis.publish(channel, message);
        // Redis answers the publisher before it writes the message to the subscribers (its
        // pending writes go out newest first, in one pass before it reads the next command):
        // a request answered on PUBLISH's reply alone can reach another node before the
        // announcement does. Any later command's reply means that pass has ended, and the
        // announcement is in every node's socket ahead of whatever that answer brings.
        await redis.ping();
      } catch (err) {
        // Committed all the same. Keep announcing in the background until Redis takes it
        // or no node can still hold the session (entries live at most ttlMs).
        logger.warn(
          { err: (err as Error).message },
          'could not announce a session revocation; retrying',
        );
        void retry(message, Date.now() + ttlMs);
      }
    },

    async close() {
      closed = true;
      for (const timer of retries) clearTimeout(timer);
      retries.clear();
      listening = false;
      forgetAll();
      const sub = subscriber;
      subscriber = undefined;
      // Never a QUIT queued while Redis is away: it would wait for it to come back.
      if (sub) await closeRedis(sub);
    },
  };
}
