import { describe, expect, it } from 'vitest';
import {
  authorWithAudience,
  disconnectedSince,
  type EdgeListener,
  expectEveryInboxOnce,
  keepPosting,
  listenMany,
  reconnectedAt,
  seedFollowersWithTokens,
  useTestClusters,
} from '../helpers/cluster.ts';

// Gateways killed outright (SIGKILL) under clients connected through nginx.
const clusters = useTestClusters('failover');

/**
 * Waits until the `held` listeners of a node killed at `since` have each lost their
 * connection and got it back; the longest wait, in ms. (Counting the losses first: a
 * client hears of the close a moment after the kill, and one that has not yet is not
 * "back" either.)
 */
async function allBack(listeners: EdgeListener[], since: number, held: number): Promise<number> {
  await expect
    .poll(
      () =>
        listeners.filter(
          (l) => disconnectedSince(l, since) && reconnectedAt(l, since) !== undefined,
        ).length,
      { timeout: 30_000, interval: 20 },
    )
    .toBe(held);
  const times = listeners.map((l) => reconnectedAt(l, since)).filter((t) => t !== undefined);
  return Math.max(...times.map((t) => t - since));
}

describe('gateway failover through the edge', () => {
  it('a gateway that restarted takes new websockets again, and carries every client when the other dies', async () => {
    const cluster = await clusters.start({ servers: 1, gateways: 2, workers: 1 });
    const [g1, g2] = cluster.byRole('gateway') as [
      (typeof cluster.nodes)[0],
      (typeof cluster.nodes)[0],
    ];
    const author = await cluster.api.signup();
    const users = await seedFollowersWithTokens(
      cluster.sql,
      author.id,
      140,
      cluster.env.JWT_SECRET!,
    );
    const first = await listenMany(
      cluster.edgeUrl,
      users.slice(0, 100).map((u) => u.accessToken),
      clusters.clients,
    );
    // least_conn spreads them over both nodes.
    expect(await cluster.socketsOn(g1)).toBeGreaterThan(20);
    expect(await cluster.socketsOn(g2)).toBeGreaterThan(20);

    // Gateway 1 dies: its clients come back through the edge, on gateway 2.
    const onFirst = await cluster.socketsOn(g1);
    let killedAt = performance.now();
    expect(await g1.kill('SIGKILL')).toBeNull();
    const firstFailover = await allBack(first, killedAt, onFirst);
    expect(firstFailover).toBeLessThan(2_000);
    expect(await cluster.socketsOn(g2)).toBe(100);

    // Gateway 1 is back: new connections go to it (least_conn: it has none), not one in
    // fifty as when a restarted node stayed marked failed until a websocket finished.
    await g1.start();
    const later = await listenMany(
      cluster.edgeUrl,
      users.slice(100).map((u) => u.accessToken),
      clusters.clients,
    );
    expect(await cluster.socketsOn(g1)).toBe(later.length);

    // Gateway 2 dies: everyone it held comes back on gateway 1, at once.
    const onSecond = await cluster.socketsOn(g2);
    killedAt = performance.now();
    expect(await g2.kill('SIGKILL')).toBeNull();
    const secondFailover = await allBack([...first, ...later], killedAt, onSecond);
    expect(secondFailover).toBeLessThan(2_000);
    expect(await cluster.socketsOn(g1)).toBe(140);
    console.info(
      `gateway failover: every client back ${Math.round(firstFailover)} ms after the first kill, ` +
        `${Math.round(secondFailover)} ms after the second`,
    );

    // Everyone hears a post made now.
    const post = await cluster.api.post(author);
    await expect
      .poll(
        () =>
          [...first, ...later].filter((l) => l.received.some((n) => n.postId === post.id)).length,
        { timeout: 15_000 },
      )
      .toBe(140);
  });

  it('a gateway killed while 200 clients listen and a post goes out every 200 ms: everyone reconnects and, after a sync, holds every notification exactly once', async () => {
    const cluster = await clusters.start({ servers: 1, gateways: 2, workers: 2 });
    const { author, listeners } = await authorWithAudience(cluster, clusters.clients, 200, 200);
    const gateways = cluster.byRole('gateway');
    const counts = await Promise.all(gateways.map((g) => cluster.socketsOn(g)));
    const victim = gateways[counts[0]! >= counts[1]! ? 0 : 1]!;
    const held = Math.max(...counts);

    // A post every 200 ms through the edge, before, across and after the kill.
    const poster = keepPosting(cluster, author, 200);
    const { posted } = poster;
    await expect.poll(() => posted.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(8);
    const killedAt = performance.now();
    expect(await victim.kill('SIGKILL')).toBeNull();
    const back = await allBack(listeners, killedAt, held);
    const moved = listeners.filter((l) => disconnectedSince(l, killedAt)).length;
    const atKill = posted.length;
    await expect.poll(() => posted.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(atKill + 15);
    await poster.stop();
    expect(poster.failures).toEqual([]);
    expect(moved).toBe(held);
    expect(back).toBeLessThan(2_000);

    // Pushes missed while a client was away come with the sync (the helper syncs on every
    // reconnect; one more now picks up what was in flight when it did).
    await Promise.all(listeners.map((l) => l.client.sync()));
    await expect
      .poll(
        () =>
          listeners.filter((l) => posted.every((id) => l.received.some((n) => n.postId === id)))
            .length,
        { timeout: 30_000, interval: 200 },
      )
      .toBe(listeners.length);
    for (const l of listeners) {
      const ids = l.received.filter((n) => n.type === 'post').map((n) => n.postId);
      expect(ids.length).toBe(posted.length);
      expect(new Set(ids)).toEqual(new Set(posted));
    }
    await expectEveryInboxOnce(cluster.sql, posted, 200);
    const pushes = listeners.reduce((sum, l) => sum + l.pushes, 0);
    console.info(
      `gateway killed under load: ${moved} clients moved, all back in ${Math.round(back)} ms; ` +
        `${posted.length} posts, ${pushes} pushes for ${200 * posted.length} notifications`,
    );
  });
});
