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

/** Pending messages of the chunk group, by consumer name. */
async function pendingByConsumer(redis: Redis): Promise<Map<string, number>> {
  const [, , , consumers] = (await redis.xpending(FANOUT_STREAM, 'fanout-chunks')) as [
    number,
    string | null,
    string | null,
    Array<[string, string]> | null,
  ];
  return new Map((consumers ?? []).map(([name, n]) => [name, Number(n)]));
}

describe('a workers node killed in the middle of a fan-out to 10,000 followers', () => {
  it('has its pending work taken over within 3 s, and every follower ends with exactly one inbox row', async () => {
    const cluster = await clusters.start({
      servers: 1,
      gateways: 1,
      workers: 2,
      env: { FANOUT_CHUNK_SIZE: '500' },
    });
    const redis = new Redis(REDIS_URL, { keyPrefix: cluster.env.REDIS_PREFIX });
    redises.push(redis);
    const author = await cluster.api.signup();
    const followers = 10_000;
    await seedFollowers(cluster.sql, author.id, followers);

    // Hold one follower's row: the chunk holding them blocks inside its insert (the
    // foreign key check waits on the row), so the kill lands mid-fan-out for certain.
    const [held] = await cluster.sql<{ id: string }[]>`
      select follower_id as id from follows where followee_id = ${author.id}
      order by follower_id offset ${followers / 2} limit 1`;
    const blocker = await cluster.sql.reserve();
    let post: { id: string };
    let takenOverIn: number;
    let victimName = '';
    try {
      await blocker`begin`;
      await blocker`select 1 from users where id = ${held!.id} for update`;
      post = await cluster.api.post(author);
      // Every other chunk is done before long; the one holding the held follower waits on
      // its row. Once it is the only one pending, its consumer's node is the one to kill.
      const workers = cluster.byRole('workers');
      const nodeOf = (consumer: string) => workers.find((w) => consumer.includes(`-${w.pid()}-`));
      await expect
        .poll(
          async () => {
            const pending = [...(await pendingByConsumer(redis))].filter(([, n]) => n > 0);
            return pending.length === 1 && pending[0]![1] === 1 ? pending[0]![0] : undefined;
          },
          { timeout: 30_000, interval: 50 },
        )
        .toBeDefined();
      const [holder] = [...(await pendingByConsumer(redis))].find(([, n]) => n > 0)!;
      const victim = nodeOf(holder)!;
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
      // Taken over: the chunk is now pending on the survivor (waiting on the same row).
      await expect
        .poll(
          async () =>
            [...(await pendingByConsumer(redis))].some(
              ([name, n]) => n > 0 && nodeOf(name) === survivor,
            ),
          { timeout: 40_000, interval: 20 },
        )
        .toBe(true);
      takenOverIn = performance.now() - killedAt;
      const metrics = await (await fetch(`${survivor.url}/metrics`)).text();
      expect(metrics).toMatch(/^stream_takeovers_total\{group="fanout-chunks"\} [1-9]/m);
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
