import { io } from 'socket.io-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config.ts';
import { createLogger } from '../core/logger.ts';
import { createMetrics } from '../core/metrics.ts';
import { connectRedis, createRedis } from '../core/redis.ts';
import { createSessionCache } from '../core/session-cache.ts';
import type { RunningNode } from '../node.ts';
import { notReady } from './helpers/before-all.ts';
import { type HttpApi, httpApi } from './helpers/http.ts';
import { nodeUrl, useInProcessNodes } from './helpers/realtime.ts';

// Each node remembers the sessions it has checked (core/session-cache.ts); a revocation
// on one node must stop every node from accepting the session, not just the one it hit.
const cluster = useInProcessNodes();

const sessionOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).sid as string;

let servers: { a: RunningNode; b: RunningNode; onA: HttpApi; onB: HttpApi } | undefined;
beforeAll(async () => {
  const a = await cluster.start('server');
  const b = await cluster.start('server');
  servers = { a, b, onA: httpApi(nodeUrl(a)), onB: httpApi(nodeUrl(b)) };
});

/** Two server nodes, started before the first test. */
const twoServers = () => servers ?? notReady('twoServers()');

describe('the session cache', () => {
  it('remembers a live session, and forgets it on every node when it is logged out', async () => {
    const { a, b, onA, onB } = twoServers();
    const me = await onA.signup();
    const sid = sessionOf(me.accessToken);
    expect((await onB.call('GET', '/me', me.accessToken)).status).toBe(200);
    expect((await onA.call('GET', '/me', me.accessToken)).status).toBe(200);
    await expect.poll(() => b.deps.sessions.listening, { timeout: 10_000 }).toBe(true);
    // Checked again once listening: now held in memory on both nodes.
    await onB.call('GET', '/me', me.accessToken);
    await onA.call('GET', '/me', me.accessToken);
    expect(b.deps.sessions.holds(sid)).toBe(true);
    expect(a.deps.sessions.holds(sid)).toBe(true);

    expect(
      (await onA.call('POST', '/auth/logout', undefined, { refreshToken: me.refreshToken })).status,
    ).toBe(204);
    // The node that revoked it refuses at once; the other as soon as the notice arrives.
    expect((await onA.call('GET', '/me', me.accessToken)).status).toBe(401);
    await expect
      .poll(async () => (await onB.call('GET', '/me', me.accessToken)).status, {
        timeout: 5_000,
      })
      .toBe(401);
    expect(b.deps.sessions.holds(sid)).toBe(false);
  });

  it('forgets every session of a deleted account, and of a session whose spent refresh token came back', async () => {
    const { b, onA, onB } = twoServers();
    const victim = await onA.signup();
    const second = (
      await onA.call('POST', '/auth/login', undefined, {
        email: victim.input.email,
        password: victim.input.password,
      })
    ).body as { accessToken: string };
    const thief = await onA.signup();
    await expect.poll(() => b.deps.sessions.listening, { timeout: 10_000 }).toBe(true);
    for (const token of [victim.accessToken, second.accessToken, thief.accessToken]) {
      expect((await onB.call('GET', '/me', token)).status).toBe(200);
      expect(b.deps.sessions.holds(sessionOf(token))).toBe(true);
    }

    expect(
      (await onA.call('DELETE', '/me', victim.accessToken, { password: victim.input.password }))
        .status,
    ).toBe(202);
    await expect
      .poll(
        async () =>
          Promise.all(
            [victim.accessToken, second.accessToken].map(
              async (t) => (await onB.call('GET', '/me', t)).status,
            ),
          ),
        { timeout: 5_000 },
      )
      .toEqual([401, 401]);

    // Refresh once, then present the spent token again: the session is revoked everywhere.
    const rotated = await onA.call('POST', '/auth/refresh', undefined, {
      refreshToken: thief.refreshToken,
    });
    expect(rotated.status).toBe(200);
    const replay = await onA.call('POST', '/auth/refresh', undefined, {
      refreshToken: thief.refreshToken,
    });
    expect(replay.status).toBe(401);
    await expect
      .poll(async () => (await onB.call('GET', '/me', rotated.body.accessToken)).status, {
        timeout: 5_000,
      })
      .toBe(401);
    expect(b.deps.sessions.holds(sessionOf(thief.accessToken))).toBe(false);
  });

  it('does not store a lookup that was in flight when a revocation arrived', async () => {
    const { a } = twoServers();
    await expect.poll(() => a.deps.sessions.listening, { timeout: 10_000 }).toBe(true);
    const userId = '00000000-0000-7000-8000-000000000001';
    const later = new Date(Date.now() + 3_600_000);
    const lookup = (sid: string) => {
      let answer!: (d: Date) => void;
      const loaded = new Promise<Date>((resolve) => {
        answer = resolve;
      });
      return { checking: a.deps.sessions.check(sid, userId, () => loaded), answer };
    };

    // Undisturbed, the answer is remembered.
    const plain = lookup('00000000-0000-7000-8000-00000000000a');
    plain.answer(later);
    expect(await plain.checking).toBe(true);
    expect(a.deps.sessions.holds('00000000-0000-7000-8000-00000000000a')).toBe(true);

    // Revoked while the database was being asked: answered, but not remembered.
    const raced = lookup('00000000-0000-7000-8000-00000000000b');
    await a.deps.sessions.revoked({ sessionIds: ['00000000-0000-7000-8000-00000000000b'] });
    raced.answer(later);
    expect(await raced.checking).toBe(true);
    expect(a.deps.sessions.holds('00000000-0000-7000-8000-00000000000b')).toBe(false);
  });
});

describe('when a revocation is not heard', () => {
  it('a gateway node closes the sockets of sessions that ended without a word', async () => {
    const gateway = await cluster.start('gateway', { SOCKET_SESSION_CHECK_INTERVAL: '300ms' });
    const { a, onA } = twoServers();
    const me = await onA.signup();
    const other = await onA.signup();
    const connect = (token: string) => {
      const socket = io(nodeUrl(gateway), {
        path: '/socket.io',
        transports: ['websocket'],
        auth: { token },
        reconnection: false,
      });
      return {
        socket,
        connected: new Promise<void>((resolve) => socket.once('connect', () => resolve())),
        closed: new Promise<string>((resolve) => socket.once('disconnect', resolve)),
      };
    };
    const mine = connect(me.accessToken);
    const theirs = connect(other.accessToken);
    await Promise.all([mine.connected, theirs.connected]);
    // Revoked in the database only: no announcement, no disconnect message.
    await a.deps.sql`
      update sessions set revoked_at = now(), revoked_reason = 'logout'
      where id = ${sessionOf(me.accessToken)}`;
    expect(await mine.closed).toBe('io server disconnect');
    expect(theirs.socket.connected).toBe(true);
    theirs.socket.close();
  });

  it('keeps announcing a revocation until Redis takes it', async () => {
    const { b } = twoServers();
    await expect.poll(() => b.deps.sessions.listening, { timeout: 10_000 }).toBe(true);
    const userId = '00000000-0000-7000-8000-000000000002';
    const sid = '00000000-0000-7000-8000-00000000000c';
    await b.deps.sessions.check(sid, userId, async () => new Date(Date.now() + 3_600_000));
    expect(b.deps.sessions.holds(sid)).toBe(true);
    // A node whose Redis client is not connected yet: the first announcement fails.
    const config = loadConfig({ ...cluster.env, ROLES: 'server' });
    const logger = createLogger({ logLevel: 'silent', env: 'test' });
    const redis = createRedis(config, logger);
    const cache = createSessionCache({
      ttlMs: 60_000,
      redis,
      prefix: config.redisPrefix,
      logger,
      metrics: createMetrics(),
    });
    try {
      await cache.revoked({ sessionIds: [sid] });
      expect(b.deps.sessions.holds(sid)).toBe(true);
      // Redis comes back: the retry reaches node B.
      await connectRedis(redis);
      await expect.poll(() => b.deps.sessions.holds(sid), { timeout: 10_000 }).toBe(false);
    } finally {
      await cache.close();
      redis.disconnect();
    }
  });
});
