import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectUnimal } from '../../client/socket-client.ts';
import { authorWithAudience, expectEveryInboxOnce, useTestClusters } from '../helpers/cluster.ts';
import { httpApi } from '../helpers/http.ts';
import { type PostgresInstance, startPostgresInstance } from '../helpers/services.ts';

// A PostgreSQL server of this file's own, stopped and started again under load (the
// shared one serves every other test and must never restart).
const clusters = useTestClusters('pgrestart');
let pg: PostgresInstance;
beforeAll(async () => {
  pg = await startPostgresInstance();
}, 60_000);
afterAll(async () => {
  await pg?.destroy();
});

describe('PostgreSQL restarted under load', () => {
  it('answers 503 with Retry-After meanwhile, loses nothing committed, and every node recovers on its own', async () => {
    const cluster = await clusters.start({
      servers: 2,
      gateways: 2,
      workers: 2,
      adminUrl: pg.adminUrl,
      env: { FANOUT_CHUNK_SIZE: '50' },
    });
    const { author, followers, listeners } = await authorWithAudience(
      cluster,
      clusters.clients,
      200,
      20,
    );

    // Posts and reads in a loop, through the edge, for the whole outage.
    const posted: string[] = [];
    const statuses = new Map<number, number>();
    const unexplained: string[] = [];
    let running = true;
    const loop = async (step: () => Promise<{ status: number; retryAfter: string | null }>) => {
      while (running) {
        const { status, retryAfter } = await step();
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (status === 503 && !retryAfter) unexplained.push('503 without Retry-After');
        if (status !== 503 && status >= 300) unexplained.push(`status ${status}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${cluster.edgeUrl}/api/v1${path}`, {
        method,
        headers: {
          authorization: `Bearer ${author.accessToken}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
      });
      const json = (await res.json()) as { id: string };
      return { res, json };
    };
    const loops = [
      ...[1, 2].map(() =>
        loop(async () => {
          const { res, json } = await call('POST', '/posts', { kind: 'pet', body: 'still here' });
          if (res.status === 201) posted.push(json.id);
          return { status: res.status, retryAfter: res.headers.get('retry-after') };
        }),
      ),
      ...['/feed', '/me', `/users/${author.id}/posts`].map((path) =>
        loop(async () => {
          const { res } = await call('GET', path);
          return { status: res.status, retryAfter: res.headers.get('retry-after') };
        }),
      ),
    ];

    await expect.poll(() => posted.length, { timeout: 15_000 }).toBeGreaterThanOrEqual(10);
    await pg.stop();
    const stoppedAt = performance.now();
    // Down for three seconds at least, under load all along.
    await expect
      .poll(() => (performance.now() - stoppedAt > 3_000 ? (statuses.get(503) ?? 0) : 0), {
        timeout: 20_000,
        interval: 100,
      })
      .toBeGreaterThan(20);
    const postedBefore = posted.length;
    await pg.start();
    const startedAt = performance.now();
    // Back to work without any node restarted.
    await expect
      .poll(() => posted.length, { timeout: 30_000, interval: 20 })
      .toBeGreaterThan(postedBefore);
    const recoveredIn = performance.now() - startedAt;
    await expect
      .poll(() => posted.length, { timeout: 30_000, interval: 100 })
      .toBeGreaterThan(postedBefore + 20);
    running = false;
    await Promise.all(loops);
    expect(unexplained).toEqual([]);
    expect([...statuses.keys()].sort()).toEqual([200, 201, 503]);

    // Every node serves again: each server node directly, each gateway by a handshake,
    // and the workers by fanning out a post made now.
    for (const node of cluster.nodes) {
      expect(node.running(), cluster.logs.get(node.name)?.slice(-15).join('\n')).toBe(true);
      await expect
        .poll(async () => (await fetch(`${node.url}/readyz`)).status, { timeout: 20_000 })
        .toBe(200);
    }
    for (const node of cluster.byRole('server')) {
      expect((await httpApi(node.url).call('GET', '/me', author.accessToken)).status).toBe(200);
    }
    for (const node of cluster.byRole('gateway')) {
      const client = connectUnimal({ url: node.url, getToken: () => followers[0]!.accessToken });
      clusters.clients.push(client);
      await client.ready;
    }
    const last = await cluster.api.post(author);
    posted.push(last.id);

    // Nothing committed is lost: every post answered 201 is there, and reaches every
    // follower's inbox exactly once, those whose fan-out the outage interrupted included.
    const [stored] = await cluster.sql<{ n: number }[]>`
      select count(*)::int as n from posts where id = any(${posted}::uuid[])`;
    expect(stored!.n).toBe(posted.length);
    await expectEveryInboxOnce(cluster.sql, posted, 200);
    // The clients online through it all hear of the last post.
    await expect
      .poll(() => listeners.filter((l) => l.received.some((n) => n.postId === last.id)).length, {
        timeout: 15_000,
      })
      .toBe(listeners.length);
    console.info(
      `PostgreSQL restart: ${[...statuses].map(([s, n]) => `${n}×${s}`).join(', ')}; ` +
        `first post ${Math.round(recoveredIn)} ms after PostgreSQL was back; ` +
        `${posted.length} posts, each in 200 inboxes once`,
    );
  });
});
