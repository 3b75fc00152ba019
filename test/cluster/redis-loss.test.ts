import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FANOUT_STREAM } from '../../contract/index.ts';
import { STREAM_EPOCH_KEY } from '../../workers/stream-epoch.ts';
import {
  authorWithAudience,
  expectEveryInboxOnce,
  keepPosting,
  useTestClusters,
} from '../helpers/cluster.ts';
import { type RedisServer, startRedisServer } from '../helpers/services.ts';

// A Redis of this file's own, killed and started again empty (no persistence) while posts
// go out: the streams, their groups and whatever they held are gone at once.
const clusters = useTestClusters('redisloss');
let redisServer: RedisServer;
const clients: Redis[] = [];
let cleanup: () => Promise<void> = async () => {};
beforeAll(async () => {
  redisServer = await startRedisServer();
});
afterAll(async () => {
  await cleanup();
  for (const c of clients) c.disconnect();
  await redisServer?.stop();
});

describe('Redis loses its data mid-traffic', () => {
  it('every post committed before, during and after reaches every follower exactly once, and the sockets hear pushes again', async () => {
    const cluster = await clusters.start({
      servers: 1,
      gateways: 2,
      workers: 2,
      env: { REDIS_URL: redisServer.url, FANOUT_CHUNK_SIZE: '50' },
    });
    const redis = new Redis(redisServer.url, {
      keyPrefix: cluster.env.REDIS_PREFIX,
      maxRetriesPerRequest: null,
    });
    clients.push(redis);
    const { author, listeners } = await authorWithAudience(cluster, clusters.clients, 300, 30);

    // Hold one follower's row: every post's chunk holding them waits inside its insert,
    // so fan-out chunks pile up in the stream, unfinished, when Redis loses them.
    const [held] = await cluster.sql<{ id: string }[]>`
      select follower_id as id from follows where followee_id = ${author.id}
      order by follower_id offset 150 limit 1`;
    const blocker = await cluster.sql.reserve();
    await blocker`begin`;
    await blocker`select 1 from users where id = ${held!.id} for update`;
    let holding = true;
    const release = async () => {
      if (!holding) return;
      holding = false;
      await blocker`rollback`;
      blocker.release();
    };
    cleanup = release;

    // A post every 100 ms through the edge, all along.
    const poster = keepPosting(cluster, author, 100);
    const { posted } = poster;
    await expect.poll(() => posted.length, { timeout: 15_000 }).toBeGreaterThanOrEqual(15);
    const epochBefore = await redis.get(STREAM_EPOCH_KEY);
    expect(epochBefore).toBeTruthy();

    // Work is queued and unfinished: chunks wait on the held row.
    const queued = await redis.xlen(FANOUT_STREAM);
    expect(queued).toBeGreaterThan(0);

    await redisServer.restartEmpty();
    const atLoss = posted.length;
    await expect.poll(() => posted.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(atLoss + 30);
    await poster.stop();
    await release();
    // Posting needs PostgreSQL only: nothing was refused while Redis was away.
    expect(poster.failures).toEqual([]);

    // A new epoch, and every post in every inbox exactly once, those the lost streams held
    // included (published again from the outbox).
    await expect.poll(() => redis.get(STREAM_EPOCH_KEY), { timeout: 20_000 }).not.toBe(epochBefore);
    await expectEveryInboxOnce(cluster.sql, posted, 300);

    // The sockets hear pushes again (the adapter subscribed anew on both gateways)...
    const last = await cluster.api.post(author);
    await expect
      .poll(() => listeners.filter((l) => l.received.some((n) => n.postId === last.id)).length, {
        timeout: 20_000,
      })
      .toBe(listeners.length);
    // ...and after a sync each holds every post exactly once.
    posted.push(last.id);
    await Promise.all(listeners.map((l) => l.client.sync()));
    for (const l of listeners) {
      const ids = l.received.filter((n) => n.type === 'post').map((n) => n.postId);
      expect(ids.length).toBe(posted.length);
      expect(new Set(ids)).toEqual(new Set(posted));
    }
    // Every node lived through it.
    for (const node of [...cluster.nodes, cluster.nginx]) expect(node.running()).toBe(true);
    console.info(
      `Redis lost its data: ${posted.length} posts (${atLoss} before the loss, ${queued} ` +
        `fan-out chunks on the lost stream), each in 300 inboxes once; pushes back on every socket`,
    );
  });
});
