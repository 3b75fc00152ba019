import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { FANOUT_STREAM } from '../../contract/index.ts';
import { useTestClusters } from '../helpers/cluster.ts';
import { REDIS_URL } from '../helpers/env.ts';
import { seedFollowers } from '../helpers/realtime.ts';

// A workers node killed outright (SIGKILL) in the middle of a large fan-out.
const clusters = useTestClusters('workerscrash');
const redises: Redis[] = [];
afterAll(() => {
  for (const r of redises) r.disconnect();
});

/** The chunk group's pending messages: id and the consumer holding it. */
async function pendingChunks(redis: Redis): Promise<Array<{ id: string; consumer: string }>> {
  const rows = (await redis.xpending(FANOUT_STREAM, 'fanout-chunks', '-', '+', 100)) as Array<
    [string, string, number, number]
  >;
  return rows.map(([id, consumer]) => ({ id, consumer }));
}

/** Whether the chunk group has read every chunk on the stream (none left unread). */
async function allChunksRead(redis: Redis): Promise<boolean> {
  const field = (flat: unknown[], name: string) => flat[flat.indexOf(name) + 1];
  // ioredis does not prefix XINFO's key (it follows the subcommand).
  const key = `${redis.options.keyPrefix ?? ''}${FANOUT_STREAM}`;
  const stream = (await redis.xinfo('STREAM', key)) as unknown[];
  const groups = (await redis.xinfo('GROUPS', key)) as unknown[][];
  const group = groups.find((g) => field(g, 'name') === 'fanout-chunks');
  return !!group && field(group, 'last-delivered-id') === field(stream, 'last-generated-id');
}

describe('a workers node killed in the middle of a fan-out to 10,000 followers', () => {
  it('has its pending work taken over within 3 s, and every follower ends with exactly one inbox row', async () => {
    const cluster = await clusters.start({
      servers: 1,
      gateways: 1,
      workers: 2,
      // A written fan-out (no author broadcasts, however large) is what is crashed here.
      env: { FANOUT_CHUNK_SIZE: '500', FANOUT_BROADCAST_THRESHOLD: '0' },
    });
    const redis = new Redis(REDIS_URL, { keyPrefix: cluster.env.REDIS_PREFIX });
    redises.push(redis);
    const author = await cluster.api.signup();
    const followers = 10_000;
    await seedFollowers(cluster.sql, author.id, followers);

    // Hold one follower's row: the chunk holding them blocks inside its insert (the
    // foreign key check waits on the row), so the kill lands mid-fan-out for certain.
    const [heldFollower] = await cluster.sql<{ id: string }[]>`
      select follower_id as id from follows where followee_id = ${author.id}
      order by follower_id offset ${followers / 2} limit 1`;
    const blocker = await cluster.sql.reserve();
    let post: { id: string };
    let takenOverIn: number;
    let victimName = '';
    try {
      await blocker`begin`;
      await blocker`select 1 from users where id = ${heldFollower!.id} for update`;
      post = await cluster.api.post(author);
      // Every other chunk is done before long; the one holding the held follower waits on
      // its row. Once every chunk has been read and that one alone is pending, its
      // consumer's node is the one to kill. (Pending alone is not enough: between two
      // reads the other node holds nothing while chunks are still unread.)
      const workers = cluster.byRole('workers');
      const nodeOf = (consumer: string) => workers.find((w) => consumer.includes(`-${w.pid()}-`));
      let heldChunk: { id: string; consumer: string } | undefined;
      await expect
        .poll(
          async () => {
            const pending = await pendingChunks(redis);
            heldChunk =
              pending.length === 1 && (await allChunksRead(redis)) ? pending[0] : undefined;
            return heldChunk;
          },
          { timeout: 30_000, interval: 50 },
        )
        .toBeDefined();
      const victim = nodeOf(heldChunk!.consumer)!;
      const survivor = workers.find((w) => w !== victim)!;
      expect(victim).toBeDefined();
      await expect
        .poll(
          async () =>
            (
              await cluster.sql<{ n: number }[]>`
                select count(*)::int as n from pg_stat_activity
                where datname = current_database() and wait_event_type = 'Lock'`
            )[0]!.n,
          { timeout: 30_000, interval: 50 },
        )
        .toBeGreaterThan(0);
      victimName = victim.name;
      const killedAt = performance.now();
      expect(await victim.kill('SIGKILL')).toBeNull();
      // Taken over: that very chunk is now pending on the survivor (waiting on the same row).
      await expect
        .poll(
          async () => {
            const now = (await pendingChunks(redis)).find((p) => p.id === heldChunk!.id);
            return now ? nodeOf(now.consumer) === survivor : false;
          },
          { timeout: 40_000, interval: 20 },
        )
        .toBe(true);
      takenOverIn = performance.now() - killedAt;
      // The counter moves once the survivor has read XCLAIM's reply, a moment after Redis
      // records the claim.
      await expect
        .poll(async () => (await fetch(`${survivor.url}/metrics`)).text(), { timeout: 5_000 })
        .toMatch(/^stream_takeovers_total\{group="fanout-chunks"\} [1-9]/m);
    } finally {
      await blocker`rollback`;
      blocker.release();
    }
    expect(takenOverIn).toBeLessThan(3_000);

    // The survivor finishes: every follower exactly once.
    const inbox = async () =>
      (
        await cluster.sql<{ rows: number; users: number }[]>`
          select count(*)::int as rows, count(distinct user_id)::int as users
          from notifications where post_id = ${post.id}`
      )[0]!;
    await expect
      .poll(async () => (await inbox()).rows, { timeout: 60_000, interval: 200 })
      .toBe(followers);
    expect(await inbox()).toEqual({ rows: followers, users: followers });
    console.info(
      `workers crash: ${victimName} killed mid-fan-out; its pending work taken over in ` +
        `${Math.round(takenOverIn)} ms; ${followers} inbox rows, each once`,
    );
  });
});
