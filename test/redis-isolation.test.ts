import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { io as connectRaw, type Socket } from 'socket.io-client';
import { afterAll, describe, expect, it } from 'vitest';
import { type MapSighting, mapRoom, type Notification, userRoom } from '../contract/index.ts';
import { loadConfig } from '../core/config.ts';
import { createLogger } from '../core/logger.ts';
import { createMetrics } from '../core/metrics.ts';
import { connectRedis, createRedis } from '../core/redis.ts';
import { createSessionCache, type SessionCache } from '../core/session-cache.ts';
import { signAccessToken } from '../domain/auth/tokens.ts';
import { MAP_RESOLUTIONS, mapCells } from '../domain/map/geo.ts';
import type { RunningNode } from '../node.ts';
import { buildNotification, buildPostView } from './helpers/builders.ts';
import { baseTestEnv, REDIS_URL } from './helpers/env.ts';
import { nodeUrl, useInProcessNodes } from './helpers/realtime.ts';

/**
 * Two stacks on one Redis server, told apart by database index only (db 1 and db 2)
 * with the same REDIS_PREFIX: pub/sub ignores the index, so their channels must differ
 * by it. The prefix itself is this run's own, as in every test.
 */
const cluster = useInProcessNodes();
const dbUrl = (db: number) => {
  const url = new URL(REDIS_URL);
  url.pathname = `/${db}`;
  return url.toString();
};
const STACKS = { a: dbUrl(1), b: dbUrl(2) };
const cleanup: Array<() => Promise<void> | void> = [];

afterAll(async () => {
  for (const step of cleanup.reverse()) await step();
  // The nodes write no keys of their own here, but leave both databases as found.
  for (const url of Object.values(STACKS)) {
    const redis = new Redis(url, { maxRetriesPerRequest: 1 });
    try {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(
          cursor,
          'MATCH',
          `${cluster.redisPrefix}*`,
          'COUNT',
          500,
        );
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== '0');
    } finally {
      redis.disconnect();
    }
  }
});

let stacks: { a: RunningNode; b: RunningNode } | undefined;
async function twoStacks() {
  stacks ??= {
    a: await cluster.start('gateway', { REDIS_URL: STACKS.a }),
    b: await cluster.start('gateway', { REDIS_URL: STACKS.b }),
  };
  return stacks;
}

/** One user with a live session in the (shared) database, and an access token for it. */
async function userWithToken(node: RunningNode) {
  const tag = randomBytes(4).toString('hex');
  const [user] = await node.deps.sql<{ id: string }[]>`
    insert into users (email, handle, display_name, password_hash)
    values (${`iso_${tag}@example.com`}, ${`iso_${tag}`}, 'Isolated', 'scrypt$x')
    returning id`;
  const [session] = await node.deps.sql<{ id: string }[]>`
    insert into sessions (user_id, expires_at) values (${user!.id}, now() + interval '1 day')
    returning id`;
  const secret = new TextEncoder().encode(baseTestEnv().JWT_SECRET);
  const token = await signAccessToken(
    { userId: user!.id, sessionId: session!.id },
    secret,
    3_600_000,
  );
  return { userId: user!.id, token };
}

interface Recorder {
  socket: Socket;
  events: Array<{ event: string; marker: string }>;
  /** Resolves once an event carrying this marker has arrived. */
  arrived(marker: string): Promise<void>;
}

async function record(node: RunningNode, token: string): Promise<Recorder> {
  const socket = connectRaw(nodeUrl(node), {
    path: '/socket.io',
    transports: ['websocket'],
    auth: { token },
    reconnection: false,
  });
  cleanup.push(() => {
    socket.close();
  });
  const events: Recorder['events'] = [];
  const waiters = new Map<string, () => void>();
  const seen = (event: string, marker: string) => {
    events.push({ event, marker });
    waiters.get(marker)?.();
  };
  socket.on('notification', (n: Notification) => seen('notification', n.id));
  socket.on('map:sighting', (s: MapSighting) => seen('map:sighting', s.post.id));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  return {
    socket,
    events,
    arrived: (marker) =>
      events.some((e) => e.marker === marker)
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`${marker} never arrived`)), 10_000);
            waiters.set(marker, () => {
              clearTimeout(timer);
              resolve();
            });
          }),
  };
}

// Lisbon: the socket subscribes to this view, the sightings are at its centre.
const BBOX = '-9.20,38.69,-9.10,38.76';
const LISBON = { lat: 38.722, lng: -9.139 };
const sightingRooms = mapCells(LISBON.lat, LISBON.lng).map((c, i) =>
  mapRoom(MAP_RESOLUTIONS[i]!, c),
);
const sighting = (id: string): MapSighting => ({
  post: buildPostView({ id, location: LISBON }),
  cell: mapCells(LISBON.lat, LISBON.lng).at(-1)!,
  cells: Object.fromEntries(
    mapCells(LISBON.lat, LISBON.lng).map((c, i) => [String(MAP_RESOLUTIONS[i]), c]),
  ),
});

describe('two stacks on one Redis server, db 1 and db 2, one prefix', { timeout: 60_000 }, () => {
  it('pushes through the emitter reach their own stack only', async () => {
    const { a, b } = await twoStacks();
    // The same user, connected to both stacks: the same room name on each.
    const { userId, token } = await userWithToken(a);
    const onA = await record(a, token);
    const onB = await record(b, token);
    for (const r of [onA, onB]) {
      const ack = await r.socket
        .timeout(10_000)
        .emitWithAck('map:subscribe', { bbox: BBOX, zoom: 12 });
      expect(ack.data).toBeDefined();
    }

    const pushes = [
      {
        kind: 'notification',
        send: (node: RunningNode, marker: string) =>
          node.deps.emitter
            .to(userRoom(userId))
            .emit('notification', buildNotification({ id: marker })),
      },
      {
        kind: 'map:sighting',
        send: (node: RunningNode, marker: string) =>
          node.deps.emitter.to(sightingRooms).emit('map:sighting', sighting(marker)),
      },
    ];
    for (const push of pushes) {
      const fromA = `${push.kind}-from-a`;
      const fromB = `${push.kind}-from-b`;
      push.send(a, fromA);
      await onA.arrived(fromA);
      // B's sockets hear B's own push after anything A published before it (one
      // subscriber connection, messages in the order Redis took them): by then A's
      // would have arrived too, if it were going to.
      push.send(b, fromB);
      await onB.arrived(fromB);
      // And the other way round, with A's next push as the marker.
      const fromAAgain = `${push.kind}-from-a-again`;
      push.send(a, fromAAgain);
      await onA.arrived(fromAAgain);

      expect(onA.events.filter((e) => e.event === push.kind).map((e) => e.marker)).toEqual([
        fromA,
        fromAAgain,
      ]);
      expect(onB.events.filter((e) => e.event === push.kind).map((e) => e.marker)).toEqual([fromB]);
    }
  });

  it('session revocations are heard by their own stack only', async () => {
    const { a, b } = await twoStacks();
    const logger = createLogger({ logLevel: 'silent', env: 'test' });
    // A second node of each stack, listening for revocations.
    const listener = async (url: string): Promise<SessionCache> => {
      const config = loadConfig({ ...cluster.env, REDIS_URL: url });
      const redis = createRedis(config, logger);
      await connectRedis(redis);
      const cache = createSessionCache({
        ttlMs: 60_000,
        redis,
        prefix: config.redisPrefix,
        logger,
        metrics: createMetrics(),
      });
      cleanup.push(async () => {
        await cache.close();
        redis.disconnect();
      });
      return cache;
    };
    const [onA, onB] = await Promise.all([listener(STACKS.a), listener(STACKS.b)]);
    const userId = '00000000-0000-7000-8000-0000000000aa';
    const sid = (n: number) => `00000000-0000-7000-8000-${String(n).padStart(12, '0')}`;
    const live = async () => new Date(Date.now() + 3_600_000);
    const hold = async (cache: SessionCache, ids: string[]) => {
      await cache.check(ids[0]!, userId, live); // starts listening
      await expect.poll(() => cache.listening, { timeout: 10_000 }).toBe(true);
      for (const id of ids) await cache.check(id, userId, live);
      for (const id of ids) expect(cache.holds(id)).toBe(true);
    };
    await hold(onA, [sid(1), sid(2), sid(3)]);
    await hold(onB, [sid(1), sid(2), sid(3)]);

    // Stack A revokes session 1: A's listener forgets it.
    await a.deps.sessions.revoked({ sessionIds: [sid(1)] });
    await expect.poll(() => onA.holds(sid(1)), { timeout: 10_000 }).toBe(false);
    // Stack B revokes session 2 afterwards: once B's listener has heard that, it would
    // have heard A's earlier notice too.
    await b.deps.sessions.revoked({ sessionIds: [sid(2)] });
    await expect.poll(() => onB.holds(sid(2)), { timeout: 10_000 }).toBe(false);
    expect(onB.holds(sid(1))).toBe(true);
    // And the other way round, with A's revocation of session 3 as the marker.
    await a.deps.sessions.revoked({ sessionIds: [sid(3)] });
    await expect.poll(() => onA.holds(sid(3)), { timeout: 10_000 }).toBe(false);
    expect(onA.holds(sid(2))).toBe(true);
    expect(onB.holds(sid(3))).toBe(true);
  });
});
