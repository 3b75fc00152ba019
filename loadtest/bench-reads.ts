// `npm run bench:reads`: the hot reads under a crowd, with the Redis read cache off and on in
// the same run. 1,000 clients, each with a session of its own, read a viral post (with its
// likes, comments and author) or a popular profile as fast as they are answered, through one
// server node. Reports requests/s, p50/p99 and the PostgreSQL statements each read cost.
//
//   npm run bench:reads -- [--clients=1000] [--seconds=10] [--rounds=1]
//
// Statements are PostgreSQL's own count (pg_stat_database: every statement the node sends
// outside a transaction commits one). A backend reports its counts when it ends, so each
// phase runs on a node of its own that is stopped before they are read.

import type { Sql } from '../core/db.ts';
import { args, type BenchRun, log, quantile, runBench, sorted } from './harness.ts';
import { cpuSeconds, redisPid } from './throughput-systems.ts';

const CLIENTS = Number(args.get('clients') ?? 1_000);
const SECONDS = Number(args.get('seconds') ?? 10);
const ROUNDS = Number(args.get('rounds') ?? 1);

interface Phase {
  read: string;
  cache: 'off' | 'on';
  requests: number;
  perSecond: number;
  p50: number;
  p99: number;
  statementsPerRead: number;
  failed: number;
  /** CPU milliseconds per read over the measured window, by process. */
  cpu: { server: number; postgres: number; redis: number; clients: number };
}

/** The popular author, their viral post (likes, comments, photos none), and the crowd. */
async function seedCrowd(sql: Sql, clients: number) {
  const [author] = await sql<{ id: string }[]>`
    insert into users (email, handle, display_name, password_hash)
    values ('popular@bench.invalid', 'popular', 'Popular', 'x') returning id`;
  const readers = await sql<{ id: string }[]>`
    insert into users (email, handle, display_name, password_hash)
    select 'reader' || i || '@bench.invalid', 'reader' || i, 'Reader ' || i, 'x'
    from generate_series(1, ${clients}) i returning id`;
  const [post] = await sql<{ id: string }[]>`
    insert into posts (author_id, kind, body, geoprivacy, observed_at)
    values (${author!.id}, 'wild', 'An otter in the harbour', 'open', now())
    returning id`;
  const ids = readers.map((r) => r.id);
  // Every reader follows the author; half like the post; a tenth comment on it.
  await sql`insert into follows (follower_id, followee_id) select unnest(${ids}::uuid[]), ${author!.id}`;
  await sql`
    insert into likes (post_id, user_id) select ${post!.id}, u from unnest(${ids}::uuid[]) with ordinality as t(u, n) where n % 2 = 0`;
  await sql`
    insert into comments (post_id, author_id, body)
    select ${post!.id}, u, 'Lovely' from unnest(${ids}::uuid[]) with ordinality as t(u, n) where n % 10 = 0`;
  await sql`
    update users set follower_count = ${clients}, post_count = 1 where id = ${author!.id}`;
  await sql`update users set following_count = 1 where id = any(${ids}::uuid[])`;
  await sql`
    update posts set like_count = (select count(*) from likes where post_id = ${post!.id}),
      comment_count = (select count(*) from comments where post_id = ${post!.id})
    where id = ${post!.id}`;
  return { authorId: author!.id, postId: post!.id, readerIds: ids };
}

async function committed(sql: Sql, database: string): Promise<number> {
  const [row] = await sql<{ n: string }[]>`
    select xact_commit + xact_rollback as n from pg_stat_database where datname = ${database}`;
  return Number(row!.n);
}

/** The count once every backend of the stopped node has reported (it stops changing). */
async function settledCount(sql: Sql, database: string): Promise<number> {
  let last = await committed(sql, database);
  for (;;) {
    await new Promise((r) => setTimeout(r, 300));
    const now = await committed(sql, database);
    if (now === last) return now;
    last = now;
  }
}

/** Reads until the node's cache answers from Redis (it connects on its own after start). */
async function cacheInUse(url: string, token: string, path: string) {
  for (;;) {
    await fetch(`${url}/api/v1${path}`, { headers: { authorization: `Bearer ${token}` } }).then(
      (r) => r.arrayBuffer(),
    );
    const metrics = await (await fetch(`${url}/metrics`)).text();
    if (/^read_cache_lookups_total\{[^}]*outcome="hit"\} [1-9]/m.test(metrics)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function phase(
  run: BenchRun,
  database: string,
  tokens: string[],
  read: { name: string; path: string },
  cache: 'off' | 'on',
): Promise<Phase> {
  const before = await settledCount(run.sql, database);
  const node = await run.start('server', {
    env: { READ_CACHE: cache === 'on' ? 'true' : 'false' },
  });
  const latencies: number[] = [];
  let failed = 0;
  const get = async (token: string) => {
    const started = performance.now();
    const res = await fetch(`${node.url}/api/v1${read.path}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    await res.arrayBuffer();
    if (res.status !== 200) failed++;
    return performance.now() - started;
  };
  if (cache === 'on') await cacheInUse(node.url, tokens[0]!, read.path);
  // Warm-up: every client once (its session checked, its connection open).
  await Promise.all(tokens.map(get));
  let requests = tokens.length;
  // Every pooled connection is open after the warm-up: its backends are the node's.
  const backends = (
    await run.sql<{ pid: number }[]>`
      select pid from pg_stat_activity where datname = ${database} and pid <> pg_backend_pid()`
  ).map((r) => r.pid);
  const redis = await redisPid();
  const cpuNow = () => ({
    server: cpuSeconds([node.proc.pid!]),
    postgres: cpuSeconds(backends),
    redis: cpuSeconds([redis]),
    clients: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
  });
  const cpuBefore = cpuNow();
  const started = performance.now();
  const until = started + SECONDS * 1000;
  await Promise.all(
    tokens.map(async (token) => {
      while (performance.now() < until) {
        latencies.push(await get(token));
        requests++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const cpuAfter = cpuNow();
  const perRead = (role: keyof typeof cpuBefore) =>
    ((cpuAfter[role] - cpuBefore[role]) * 1000) / latencies.length;
  await run.stop(node);
  const statements = (await settledCount(run.sql, database)) - before;
  const s = sorted(latencies);
  return {
    read: read.name,
    cache,
    requests: latencies.length,
    perSecond: latencies.length / elapsed,
    p50: quantile(s, 0.5),
    p99: quantile(s, 0.99),
    // Over every request the node answered, the warm-up's included.
    statementsPerRead: statements / requests,
    failed,
    cpu: {
      server: perRead('server'),
      postgres: perRead('postgres'),
      redis: perRead('redis'),
      clients: perRead('clients'),
    },
  };
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

runBench('bench:reads', async (run) => {
  const [row] = await run.sql<{ database: string }[]>`select current_database() as database`;
  const database = row!.database;
  const crowd = await seedCrowd(run.sql, CLIENTS);
  await run.sql`vacuum analyze`;
  const tokens = await run.tokensFor(crowd.readerIds);
  log(`${CLIENTS} clients, ${SECONDS} s a phase, ${ROUNDS} round(s); one server node a phase`);
  const reads = [
    { name: 'viral post', path: `/posts/${crowd.postId}` },
    { name: 'popular profile', path: `/users/${crowd.authorId}` },
  ];
  const phases: Phase[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const read of reads) {
      for (const cache of ['off', 'on'] as const) {
        const p = await phase(run, database, tokens, read, cache);
        phases.push(p);
        log(
          `  ${p.read}, cache ${p.cache}: ${fmt(p.perSecond)} req/s, p50 ${fmt(p.p50, 1)} ms, ` +
            `p99 ${fmt(p.p99, 1)} ms, ${fmt(p.statementsPerRead, 3)} statements/read, ${p.failed} failed; ` +
            `CPU ms/read: server ${fmt(p.cpu.server, 3)}, PostgreSQL ${fmt(p.cpu.postgres, 3)}, ` +
            `Redis ${fmt(p.cpu.redis, 3)}, clients ${fmt(p.cpu.clients, 3)}`,
        );
      }
    }
  }
  log(
    '\n| read | cache | requests | requests/s | ratio | p50 | p99 | statements/read | ratio | CPU/read: server | PostgreSQL | Redis |',
  );
  log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const read of reads) {
    const of = (cache: 'off' | 'on') =>
      phases.filter((p) => p.read === read.name && p.cache === cache);
    const median = (xs: number[]) => quantile(sorted(xs), 0.5);
    const off = of('off');
    const offRate = median(off.map((p) => p.perSecond));
    const offStatements = median(off.map((p) => p.statementsPerRead));
    for (const cache of ['off', 'on'] as const) {
      const ps = of(cache);
      const rate = median(ps.map((p) => p.perSecond));
      const statements = median(ps.map((p) => p.statementsPerRead));
      log(
        `| ${read.name} | ${cache} | ${fmt(ps.reduce((n, p) => n + p.requests, 0))} | ${fmt(rate)} | ` +
          `${(rate / offRate).toFixed(2)}× | ${fmt(median(ps.map((p) => p.p50)), 1)} ms | ` +
          `${fmt(median(ps.map((p) => p.p99)), 1)} ms | ${fmt(statements, 3)} | ` +
          `${cache === 'off' ? '1' : `1/${fmt(offStatements / Math.max(statements, 1e-9), 0)}`} | ` +
          `${fmt(median(ps.map((p) => p.cpu.server)), 3)} ms | ` +
          `${fmt(median(ps.map((p) => p.cpu.postgres)), 3)} ms | ${fmt(median(ps.map((p) => p.cpu.redis)), 3)} ms |`,
      );
    }
  }
});
