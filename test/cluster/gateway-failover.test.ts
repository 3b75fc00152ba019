import { describe, expect, it } from 'vitest';
import {
  disconnectedSince,
  type EdgeListener,
  listenThroughEdge,
  reconnectedAt,
  seedFollowersWithTokens,
  type TestCluster,
  useTestClusters,
} from '../helpers/cluster.ts';

// Gateways killed outright (SIGKILL) under clients connected through nginx.
const clusters = useTestClusters('failover');

/** Waits until every listener that lost its connection after `since` has it back; the longest wait, in ms. */
async function allBack(listeners: EdgeListener[], since: number): Promise<number> {
  await expect
    .poll(
      () =>
        listeners.filter(
          (l) => disconnectedSince(l, since) && reconnectedAt(l, since) === undefined,
        ).length,
      { timeout: 30_000, interval: 20 },
    )
    .toBe(0);
  const times = listeners.map((l) => reconnectedAt(l, since)).filter((t) => t !== undefined);
  return Math.max(...times.map((t) => t - since));
}

async function connectMany(cluster: TestCluster, tokens: string[]): Promise<EdgeListener[]> {
  const out: EdgeListener[] = [];
  // A few at a time, as clients arrive; the handshake checks each session in PostgreSQL.
  for (let i = 0; i < tokens.length; i += 20) {
    out.push(
      ...(await Promise.all(
        tokens.slice(i, i + 20).map((t) => listenThroughEdge(cluster.edgeUrl, t, clusters.clients)),
      )),
    );
  }
  return out;
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
    const first = await connectMany(
      cluster,
      users.slice(0, 100).map((u) => u.token),
    );
    // least_conn spreads them over both nodes.
    expect(await cluster.socketsOn(g1)).toBeGreaterThan(20);
    expect(await cluster.socketsOn(g2)).toBeGreaterThan(20);

    // Gateway 1 dies: its clients come back through the edge, on gateway 2.
    let killedAt = performance.now();
    expect(await g1.kill('SIGKILL')).toBeNull();
    const firstFailover = await allBack(first, killedAt);
    expect(firstFailover).toBeLessThan(2_000);
    expect(await cluster.socketsOn(g2)).toBe(100);

    // Gateway 1 is back: new connections go to it (least_conn: it has none), not one in
    // fifty as when a restarted node stayed marked failed until a websocket finished.
    await g1.start();
    const later = await connectMany(
      cluster,
      users.slice(100).map((u) => u.token),
    );
    expect(await cluster.socketsOn(g1)).toBe(later.length);

    // Gateway 2 dies: everyone it held comes back on gateway 1, at once.
    killedAt = performance.now();
    expect(await g2.kill('SIGKILL')).toBeNull();
    const secondFailover = await allBack([...first, ...later], killedAt);
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
});
