import { describe, expect, it } from 'vitest';
import {
  authorWithAudience,
  disconnectedSince,
  expectEveryInboxOnce,
  reconnectedAt,
  useTestClusters,
} from '../helpers/cluster.ts';

// SIGTERM, as an orchestrator stops a node to replace it, under steady load.
const clusters = useTestClusters('graceful');

describe('a node of each role stopped with SIGTERM under load', () => {
  it('fails no accepted request, moves the sockets to the other gateway, and leaves no fan-out half done', async () => {
    const cluster = await clusters.start({
      servers: 2,
      gateways: 2,
      workers: 2,
      env: { FANOUT_CHUNK_SIZE: '100' },
    });
    const { author, followers, listeners } = await authorWithAudience(
      cluster,
      clusters.clients,
      600,
      100,
    );

    // Fourteen clients in a loop: two post, six read their feed, six edit their profile.
    const readers = await Promise.all(
      Array.from({ length: 12 }, () => cluster.api.signup()).map(async (p) => {
        const u = await p;
        await cluster.api.follow(u, author);
        return u;
      }),
    );
    const posted: string[] = [];
    const failures: string[] = [];
    let requests = 0;
    let running = true;
    const loops = [
      ...Array.from({ length: 2 }, () => async () => {
        const res = await cluster.api.call('POST', '/posts', author.accessToken, {
          kind: 'wild',
          body: 'steady',
        });
        if (res.status === 201) posted.push(res.body.id);
        return res.status === 201 ? undefined : `POST /posts ${res.status}`;
      }),
      ...readers.map((u, i) => async () => {
        const res =
          i % 2 === 0
            ? await cluster.api.call('GET', '/feed', u.accessToken)
            : await cluster.api.call('PATCH', '/me', u.accessToken, { bio: `bio ${requests}` });
        return res.status === 200
          ? undefined
          : `${i % 2 ? 'PATCH /me' : 'GET /feed'} ${res.status}`;
      }),
    ].map(async (step) => {
      while (running) {
        requests += 1;
        const failed = await step().catch((err: Error) => `network: ${err.message}`);
        if (failed) failures.push(failed);
      }
    });

    await expect.poll(() => posted.length, { timeout: 15_000 }).toBeGreaterThanOrEqual(10);
    const stoppedAt = performance.now();
    const before = requests;
    const [server, gateway, workers] = ['server-1', 'gateway-1', 'workers-1'].map((n) =>
      cluster.node(n),
    );
    const onGateway = await cluster.socketsOn(gateway!);
    const codes = await Promise.all([server!, gateway!, workers!].map((n) => n.kill('SIGTERM')));
    // Load goes on against the survivors for a while.
    await expect.poll(() => requests, { timeout: 20_000 }).toBeGreaterThan(before + 300);
    running = false;
    await Promise.all(loops);

    expect(codes).toEqual([0, 0, 0]);
    expect(failures).toEqual([]);
    // The gateway's clients were told to go and came back on the other one.
    const moved = () =>
      listeners.filter(
        (l) => disconnectedSince(l, stoppedAt) && reconnectedAt(l, stoppedAt) !== undefined,
      ).length;
    await expect.poll(moved, { timeout: 20_000, interval: 50 }).toBe(onGateway);
    expect(await cluster.socketsOn(cluster.node('gateway-2'))).toBe(100);

    // Every post reached every follower's inbox exactly once: the stopped workers node
    // finished its batch or handed it back.
    const audience = followers.length + readers.length;
    await expectEveryInboxOnce(cluster.sql, posted, audience);
    console.info(
      `graceful stop: ${requests} requests, none failed; ${moved()} sockets moved; ` +
        `${posted.length} posts × ${audience} followers delivered`,
    );
  });
});
