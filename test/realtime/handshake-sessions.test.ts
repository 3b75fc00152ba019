import { beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.ts';
import { createRedis } from '../../core/redis.ts';
import { createSessionCache } from '../../core/session-cache.ts';
import { admitConnections } from '../../gateway/handshake.ts';
import type { AppSocket } from '../../gateway/socket-events.ts';
import type { RunningNode } from '../../node.ts';
import { notReady } from '../helpers/before-all.ts';
import { type HttpApi, httpApi } from '../helpers/http.ts';
import { connectRawSocket, nodeUrl, useInProcessNodes } from '../helpers/realtime.ts';

// A handshake's session is checked through the node's session cache, like an HTTP request's:
// a session revoked on one node must still be refused by every other at once, and a node
// that does not hear revocations must ask PostgreSQL every time.
const cluster = useInProcessNodes();

const sessionOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).sid as string;

let started: { a: RunningNode; b: RunningNode; api: HttpApi } | undefined;
beforeAll(async () => {
  const a = await cluster.start('server');
  const b = await cluster.start('gateway');
  started = { a, b, api: httpApi(nodeUrl(a)) };
});
const nodes = () => started ?? notReady('two nodes');

/** Handshakes node B answered from memory so far. */
const hits = async (node: RunningNode) =>
  (await node.deps.metrics.sessionCache.get()).values.find((v) => v.labels.outcome === 'hit')
    ?.value ?? 0;

/** Runs the gateway's admission on a socket carrying `token`: undefined when admitted. */
const admit = async (guard: ReturnType<typeof admitConnections>, token: string) => {
  const socket = { handshake: { auth: { token } }, data: {} } as unknown as AppSocket;
  return new Promise<string | undefined>((resolve) => {
    void guard(socket, (err) => resolve(err?.message));
  });
};

describe('the handshake and the session cache', () => {
  it('a session logged out through node A is refused by node B, which held it, right after the logout answers', async () => {
    const { b, api } = nodes();
    const me = await api.signup();
    // The node subscribes to the revocation channel at its first session check.
    const opener = connectRawSocket(nodeUrl(b), { token: me.accessToken });
    expect(await opener.outcome).toBe('connected');
    opener.socket.close();
    await expect.poll(() => b.deps.sessions.listening, { timeout: 10_000 }).toBe(true);
    // Several sessions, one after the other: a refusal that depended on luck would show.
    for (let round = 0; round < 5; round++) {
      const { body } = await api.call('POST', '/auth/login', undefined, {
        email: me.input.email,
        password: me.input.password,
      });
      const { accessToken, refreshToken } = body as { accessToken: string; refreshToken: string };
      const first = connectRawSocket(nodeUrl(b), { token: accessToken });
      expect(await first.outcome).toBe('connected');
      first.socket.close();
      expect(b.deps.sessions.holds(sessionOf(accessToken))).toBe(true);
      // Admitted again from memory, without asking PostgreSQL.
      const before = await hits(b);
      const second = connectRawSocket(nodeUrl(b), { token: accessToken });
      expect(await second.outcome).toBe('connected');
      second.socket.close();
      expect(await hits(b)).toBe(before + 1);

      expect((await api.call('POST', '/auth/logout', undefined, { refreshToken })).status).toBe(
        204,
      );
      const after = connectRawSocket(nodeUrl(b), { token: accessToken });
      expect(await after.outcome).toBe('unauthorized');
      after.socket.close();
      expect(b.deps.sessions.holds(sessionOf(accessToken))).toBe(false);
    }
  });

  it('a node that does not hear revocations checks every handshake against PostgreSQL', async () => {
    const { a, b, api } = nodes();
    const logger = createLogger({ logLevel: 'silent', env: 'test' });
    // Its revocation channel on a Redis that never answers: never subscribed.
    const deafRedis = createRedis(
      { redisUrl: 'redis://127.0.0.1:1', redisPrefix: 'deaf:' },
      logger,
    );
    const deaf = createSessionCache({
      ttlMs: 60_000,
      redis: deafRedis,
      prefix: 'deaf:',
      logger,
      metrics: b.deps.metrics,
    });
    try {
      const revokeInDatabaseOnly = (token: string) => a.deps.sql`
        update sessions set revoked_at = now(), revoked_reason = 'logout'
        where id = ${sessionOf(token)}`;
      const deafGuard = admitConnections({ ...b.deps, sessions: deaf }, () => false);
      const mine = await api.signup();
      expect(await admit(deafGuard, mine.accessToken)).toBeUndefined();
      expect(deaf.listening).toBe(false);
      expect(deaf.holds(sessionOf(mine.accessToken))).toBe(false);
      // Revoked without a word to any node: only PostgreSQL knows.
      await revokeInDatabaseOnly(mine.accessToken);
      expect(await admit(deafGuard, mine.accessToken)).toBe('unauthorized');

      // The same on node B's own cache, which hears revocations, is answered from memory
      // (the sweep and the session room, not the handshake, close such a socket later):
      // what shows that the refusal above came from PostgreSQL.
      const listeningGuard = admitConnections(b.deps, () => false);
      const theirs = await api.signup();
      expect(await admit(listeningGuard, theirs.accessToken)).toBeUndefined();
      await expect.poll(() => b.deps.sessions.listening, { timeout: 10_000 }).toBe(true);
      expect(await admit(listeningGuard, theirs.accessToken)).toBeUndefined();
      expect(b.deps.sessions.holds(sessionOf(theirs.accessToken))).toBe(true);
      await revokeInDatabaseOnly(theirs.accessToken);
      expect(await admit(listeningGuard, theirs.accessToken)).toBeUndefined();
    } finally {
      await deaf.close();
      deafRedis.disconnect();
    }
  });
});
