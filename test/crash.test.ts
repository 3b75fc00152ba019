import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, deleteRedisPrefix, s3TestEnv } from './helpers/context.ts';
import { httpApi } from './helpers/http.ts';
import { type NodeProcess, spawnNode } from './helpers/process.ts';
import { seedFollowers } from './helpers/realtime.ts';

// Real processes, killed for real (SIGKILL: no shutdown hooks, no acks).
let env: Record<string, string>;
let sql: postgres.Sql;
let drop: () => Promise<void>;
let dataDir: string;
const nodes: NodeProcess[] = [];

beforeAll(async () => {
  const db = await createTestDatabase('crash');
  drop = db.drop;
  dataDir = mkdtempSync(path.join(tmpdir(), 'unimal-crash-'));
  sql = postgres(db.url, { max: 2, onnotice: () => {} });
  env = {
    ...s3TestEnv(),
    DATABASE_URL: db.url,
    REDIS_PREFIX: `test:${inject('runId')}:${randomBytes(4).toString('hex')}:`,
    DATA_DIR: dataDir,
    FANOUT_CHUNK_SIZE: '100',
    // Crashes in the middle of written fan-outs: no author broadcasts, however large.
    FANOUT_BROADCAST_THRESHOLD: '0',
    STREAM_CLAIM_IDLE: '1s',
    STREAM_BLOCK: '200ms',
  };
});

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
  await sql?.end();
  await deleteRedisPrefix(env.REDIS_PREFIX!);
  await drop?.();
  rmSync(dataDir, { recursive: true, force: true });
});

async function start(roles: string) {
  const node = await spawnNode({ ...env, ROLES: roles });
  nodes.push(node);
  return node;
}

const inboxRows = async (postId: string) =>
  (
    await sql`select count(*)::int as n, count(distinct user_id)::int as users from notifications where post_id = ${postId}`
  )[0] as {
    n: number;
    users: number;
  };

describe('crashes', { timeout: 120_000 }, () => {
  it('a worker killed in the middle of a large fan-out: every follower still ends with exactly one inbox row', async () => {
    const server = await start('server');
    const api = httpApi(server.url);
    const author = await api.signup();
    const followers = 20_000;
    await seedFollowers(sql, author.id, followers);
    const doomed = await start('workers');

    // Hold one follower's row: the chunk holding them blocks inside its insert (the
    // foreign key check waits on the row), so the kill lands mid-fan-out for certain.
    const [held] = await sql`
      select follower_id as id from follows where followee_id = ${author.id}
      order by follower_id offset ${followers / 2} limit 1`;
    const blocker = await sql.reserve();
    let atKill: number;
    let post: { id: string };
    try {
      await blocker`begin`;
      await blocker`select 1 from users where id = ${held!.id} for update`;
      post = await api.post(author);
      await expect
        .poll(
          async () =>
            (
              await sql`select count(*)::int as n from pg_stat_activity
                where datname = current_database() and wait_event_type = 'Lock'`
            )[0]!.n,
          { timeout: 30_000, interval: 50 },
        )
        .toBeGreaterThan(0);
      expect(await doomed.stop('SIGKILL')).toBeNull();
      atKill = (await inboxRows(post.id)).n;
    } finally {
      await blocker`rollback`;
      blocker.release();
    }
    expect(atKill).toBeLessThan(followers);

    // Another worker claims what the dead one left pending and finishes the job.
    const survivor = await start('workers');
    await expect
      .poll(async () => (await inboxRows(post.id)).n, { timeout: 60_000, interval: 200 })
      .toBe(followers);
    expect(await inboxRows(post.id)).toEqual({ n: followers, users: followers });
    expect(survivor.proc.exitCode).toBeNull();
  });

  it('a worker killed in the middle of an account deletion step: another finishes it, with the same result', async () => {
    const server = await start('server');
    const api = httpApi(server.url);
    const victim = await api.signup();
    const fans = await Promise.all([api.signup(), api.signup(), api.signup()]);
    for (const f of fans) await api.follow(f, victim);
    const doomed = await start('workers');
    // Hold one fan's row so the social step blocks half-way, inside its transaction.
    const blocker = await sql.reserve();
    try {
      await blocker`begin`;
      await blocker`select 1 from users where id = ${fans[0]!.id} for update`;
      expect(
        (await api.call('DELETE', '/me', victim.accessToken, { password: victim.input.password }))
          .status,
      ).toBe(202);
      // Every other domain finishes; the social step waits on the held row, mid-transaction.
      await expect
        .poll(
          async () =>
            (
              await sql`select domain from account_deletion_steps where user_id = ${victim.id} order by domain`
            ).map((r) => r.domain),
          { timeout: 45_000, interval: 100 },
        )
        .toEqual(['auth', 'board', 'notifications', 'photos']);
      expect(await doomed.stop('SIGKILL')).toBeNull();
    } finally {
      await blocker`rollback`;
      blocker.release();
    }
    // The killed transaction rolled back; a new worker claims the pending message and redoes it.
    await start('workers');
    await expect
      .poll(
        async () =>
          (
            await sql`select count(*)::int as n from account_deletion_steps where user_id = ${victim.id}`
          )[0]!.n,
        { timeout: 30_000, interval: 200 },
      )
      .toBe(5);
    const counts =
      await sql`select following_count from users where id in ${sql(fans.map((f) => f.id))}`;
    expect(counts.map((r) => r.following_count)).toEqual([0, 0, 0]);
    const [edges] =
      await sql`select count(*)::int as n from follows where followee_id = ${victim.id}`;
    expect(edges!.n).toBe(0);
  });

  it('the server killed right after a post commits: the fan-out still happens', async () => {
    const server = await start('server');
    await start('workers');
    const api = httpApi(server.url);
    const author = await api.signup();
    await seedFollowers(sql, author.id, 250);
    const post = await api.post(author);
    expect(await server.stop('SIGKILL')).toBeNull();
    await expect
      .poll(async () => (await inboxRows(post.id)).n, { timeout: 20_000, interval: 100 })
      .toBe(250);
  });
});
