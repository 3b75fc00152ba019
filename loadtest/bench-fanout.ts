// `npm run bench:fanout`: what a post costs its writer, and how fast its fan-out reaches
// followers. Real processes (one server, two gateway nodes, two workers) on this machine,
// a database and Redis prefix of its own, cleaned up at the end. Prints its figures.
//
//   npm run bench:fanout -- [--followers=100000] [--posts=500] [--online=10000] [--rounds=5]
//     [--threshold=10000] [--reads=1000] [--inbox-authors=50] [--inbox-posts=200]
//
// In order: (1) POST latency by audience, no worker running; the inbox reads of a follower
// of --inbox-authors broadcast authors against a written inbox of as many rows; (2, 3)
// written inboxes (workers with FANOUT_BROADCAST_THRESHOLD=0: a row per follower, as
// before broadcast authors existed): delivery to the followers online, 100,000 inbox rows;
// (4) broadcast authors (workers with FANOUT_BROADCAST_THRESHOLD=--threshold): delivery of
// a post by the author with --followers followers, and rows written per post.
// BENCHMARKS.md says what each part measures.
import { type Notification, userRoom } from '../contract/index.ts';
import { broadcastPart } from './fanout-broadcast.ts';
import { measureInboxReads, seedInboxReaders } from './fanout-inbox-reads.ts';
import {
  describeWrites,
  drained,
  insertedTotal,
  post,
  settledWrites,
  writesBetween,
} from './fanout-pipeline.ts';
import { args, type BenchRun, benchEmitter, log, ms, quantile, runBench } from './harness.ts';
import { connectFollowers } from './online-followers.ts';

const POSTS = Number(args.get('posts') ?? 500);
const ONLINE = Number(args.get('online') ?? 10_000);
const ROUNDS = Number(args.get('rounds') ?? 5);
/** The broadcast author's audience (and, past 100,000, the largest of the POST latencies). */
const FOLLOWERS = Number(args.get('followers') ?? 100_000);
const THRESHOLD = Number(args.get('threshold') ?? 10_000);
const READS = Number(args.get('reads') ?? 1_000);
const INBOX_AUTHORS = Number(args.get('inbox-authors') ?? 50);
const INBOX_POSTS = Number(args.get('inbox-posts') ?? 200);
/** The written part's audiences, as they always were, and the broadcast author's. */
const WRITTEN_AUDIENCES = [0, 1_000, 10_000, 100_000];
const AUDIENCES = [...new Set([...WRITTEN_AUDIENCES, FOLLOWERS])].sort((a, b) => a - b);
const MAX_FOLLOWERS = Math.max(...AUDIENCES);
for (const [name, value] of Object.entries({ FOLLOWERS, ONLINE, ROUNDS, POSTS, READS })) {
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name.toLowerCase()}: ${value}`);
}

const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

async function main(run: BenchRun) {
  const { sql, start } = run;

  // ---- seed: one author per audience size, the followers shared between them ----
  let t = performance.now();
  const [row] = await sql<{ ids: string[] }[]>`
    with made as (
      insert into users (email, handle, display_name, password_hash)
      select 'author' || n || '@bench.test', 'author_' || n, 'Author ' || n, 'scrypt$x'
      from unnest(${AUDIENCES}::int[]) as n returning id, handle
    ) select array_agg(id order by length(handle), handle) as ids from made`;
  const authorIds = row!.ids;
  await sql`
    insert into users (email, handle, display_name, password_hash)
    select 'f' || i || '@bench.test', 'f_' || i, 'Follower ' || i, 'scrypt$x'
    from generate_series(1, ${MAX_FOLLOWERS}) as i`;
  log(`seeded ${AUDIENCES.length} authors and ${MAX_FOLLOWERS} followers in ${seconds(t)}`);
  // Each audience is the first n followers by handle. Through the trigger on follows, which
  // starts each edge's follow period (sql/0012_broadcast_inbox.sql), as a follow does.
  for (let a = 0; a < AUDIENCES.length; a++) {
    const n = AUDIENCES[a]!;
    if (n === 0) continue;
    t = performance.now();
    await sql`
      insert into follows (follower_id, followee_id)
      select id, ${authorIds[a]!} from (
        select id from users where handle like 'f\\_%' order by handle limit ${n}
      ) first_n`;
    await sql`update users set follower_count = ${n} where id = ${authorIds[a]!}`;
    log(`${n} follows (and their follow periods, by the trigger) in ${seconds(t)}`);
  }
  t = performance.now();
  const readers = await seedInboxReaders(sql, {
    authors: INBOX_AUTHORS,
    postsEach: INBOX_POSTS,
  });
  log(
    `seeded ${INBOX_AUTHORS} broadcast authors with ${INBOX_POSTS} posts each, their follower and a written inbox of as many rows in ${seconds(t)}`,
  );
  t = performance.now();
  await sql`analyze`;
  log(`analyze in ${seconds(t)}`);
  const onlineIds = (
    await sql<{ id: string }[]>`
      select id from users where handle like 'f\\_%' order by handle limit ${ONLINE}`
  ).map((r) => r.id);

  const authorTokens = await run.tokensFor(authorIds);
  const server = await start('server');

  // ---- 1. the writer's cost: POST latency by audience, workers stopped ----
  // No worker runs here, so this is the request path alone; the fan-out is measured below.
  log(
    `\n## POST /api/v1/posts latency (${POSTS} requests per author, interleaved, after 50 warm-up)`,
  );
  const latencies = AUDIENCES.map(() => [] as number[]);
  const serverSide = AUDIENCES.map(() => [] as number[]);
  for (let i = 0; i < POSTS + 50; i++) {
    for (let a = 0; a < AUDIENCES.length; a++) {
      const started = performance.now();
      const res = await fetch(`${server.url}/api/v1/posts`, {
        method: 'POST',
        headers: { authorization: `Bearer ${authorTokens[a]}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          kind: 'stray',
          body: `bench ${i}`,
          location: { lat: 38.7, lng: -9.1 },
        }),
      });
      await res.arrayBuffer();
      if (res.status !== 201) throw new Error(`POST answered ${res.status}`);
      if (i >= 50) {
        latencies[a]!.push(performance.now() - started);
        serverSide[a]!.push(
          Number(/dur=([\d.]+)/.exec(res.headers.get('server-timing') ?? '')?.[1] ?? Number.NaN),
        );
      }
    }
  }
  const p99s: number[] = [];
  log('| followers | p50 | p99 | max | in the server (Server-Timing) p50 / p99 |');
  log('|---:|---:|---:|---:|---:|');
  for (let a = 0; a < AUDIENCES.length; a++) {
    const s = latencies[a]!.sort((x, y) => x - y);
    const inside = serverSide[a]!.sort((x, y) => x - y);
    p99s.push(quantile(s, 0.99));
    log(
      `| ${AUDIENCES[a]} | ${ms(quantile(s, 0.5))} | ${ms(quantile(s, 0.99))} | ${ms(s.at(-1)!)} | ` +
        `${ms(quantile(inside, 0.5))} / ${ms(quantile(inside, 0.99))} |`,
    );
  }
  const p99Ratio = (n: number) => p99s[AUDIENCES.indexOf(n)]! / p99s[0]!;
  log(`p99 ratio 100k / 0 followers: ${p99Ratio(100_000).toFixed(2)}×`);
  if (FOLLOWERS !== 100_000) {
    log(`p99 ratio ${FOLLOWERS} / 0 followers: ${p99Ratio(FOLLOWERS).toFixed(2)}×`);
  }
  // The phase's posts are not fanned out: mark them published so the workers start clean.
  await sql`update outbox set published_at = now() where published_at is null`;

  // ---- the inbox of a follower of broadcast authors, read over HTTP, workers stopped ----
  const reads = await measureInboxReads(run, server.url, readers, READS);

  // ---- 2. online delivery to 10k sockets across two gateway nodes ----
  const gateways = [await start('gateway'), await start('gateway')];
  const gatewayUrls = gateways.map((g) => g.url);
  // Written inboxes: every audience here gets a row per follower, as before broadcast
  // authors existed (FANOUT_BROADCAST_THRESHOLD's default would broadcast the largest).
  const written = { env: { FANOUT_BROADCAST_THRESHOLD: '0' } };
  const writtenWorkers = await Promise.all([start('workers', written), start('workers', written)]);
  t = performance.now();
  const online = await connectFollowers(run, gatewayUrls, onlineIds);
  log(`\n${online.size} sockets connected across 2 gateway nodes in ${seconds(t)}`);

  const { redis, emitter } = benchEmitter(run);
  const rooms = onlineIds.map(userRoom);
  const fanoutTimes: number[] = [];
  const bareTimes: number[] = [];
  const a10k = AUDIENCES.indexOf(10_000);
  for (let r = 0; r < ROUNDS; r++) {
    // Baseline: one bare emit per 1000 rooms through the same adapter channel (as the fan-out batches).
    const bareId = `bare-${r}`;
    const started = performance.now();
    const done = online.waitAll(bareId);
    for (let i = 0; i < rooms.length; i += 1000) {
      emitter.to(rooms.slice(i, i + 1000)).emit('notification', { id: bareId } as Notification);
    }
    bareTimes.push((await done) - started);

    // The real thing: a post by the author those 10k follow, from the response to the last socket.
    const sent = await post(server.url, authorTokens[a10k]!, { kind: 'wild', body: `round ${r}` });
    fanoutTimes.push((await online.waitAll(sent.id)) - sent.answeredAt);
  }
  const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  log(
    `\n## Delivery to ${online.size} online followers (median of ${ROUNDS} rounds, max in brackets)`,
  );
  log('| path | last socket reached after |');
  log('|---|---:|');
  log(
    `| POST → fan-out worker → adapter (from the POST's response) | ${ms(med(fanoutTimes))} (${ms(Math.max(...fanoutTimes))}) |`,
  );
  log(
    `| bare emit to the same rooms through the same adapter | ${ms(med(bareTimes))} (${ms(Math.max(...bareTimes))}) |`,
  );
  log(`ratio: ${(med(fanoutTimes) / med(bareTimes)).toFixed(2)}×`);

  // ---- 3. the whole audience: 100k inbox rows ----
  log('\n## 100,000 followers: time from the POST response until every inbox row exists');
  const a100k = AUDIENCES.indexOf(100_000);
  const inboxTimes: number[] = [];
  let writtenRows = 0;
  for (let r = 0; r < 2; r++) {
    // The second post's whole handling is counted too (PostgreSQL's statistics, settled).
    const before = r === 1 ? await settledWrites(run) : undefined;
    const sent = await post(server.url, authorTokens[a100k]!, { kind: 'wild', body: `big ${r}` });
    for (;;) {
      const [c] = await sql<
        { n: number }[]
      >`select count(*)::int as n from notifications where post_id = ${sent.id}`;
      if (c!.n >= 100_000) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    inboxTimes.push(performance.now() - sent.answeredAt);
    if (before) {
      await drained(run);
      const writes = writesBetween(before, await settledWrites(run));
      writtenRows = insertedTotal(writes);
      log(`rows inserted by the second post's whole handling: ${describeWrites(writes)}`);
    }
  }
  log(
    `| run | time |\n|---|---:|\n${inboxTimes.map((x, i) => `| ${i + 1} | ${ms(x)} |`).join('\n')}`,
  );
  online.close();
  redis.disconnect();
  await Promise.all(writtenWorkers.map((node) => run.stop(node)));

  // ---- 4. broadcast authors: the same pipeline with the threshold on ----
  const tokenOf = (n: number) => authorTokens[AUDIENCES.indexOf(n)]!;
  const broadcast = await broadcastPart(run, {
    serverUrl: server.url,
    gatewayUrls,
    author: {
      id: authorIds[AUDIENCES.indexOf(FOLLOWERS)]!,
      token: tokenOf(FOLLOWERS),
      followers: FOLLOWERS,
    },
    others: AUDIENCES.filter((n) => n >= THRESHOLD && n > 0 && n !== FOLLOWERS).map((n) => ({
      token: tokenOf(n),
      followers: n,
    })),
    threshold: THRESHOLD,
    online: ONLINE,
    rounds: ROUNDS,
  });

  // ---- the issue's targets, from this run ----
  const verdict = (met: boolean) => (met ? 'met' : 'MISSED');
  const ratio = p99Ratio(FOLLOWERS);
  const reached = med(broadcast.delivery);
  const rowCounts = broadcast.rows.map((r) => r.inserted);
  // Constant: the same few rows at every audience, none of them a follower's inbox row.
  const constant =
    rowCounts.every((n) => n === rowCounts[0]) && broadcast.rows.every((r) => r.written === 0);
  log('\n## Against the targets (this run)');
  log('| target | measured | verdict |');
  log('|---|---:|---|');
  log(
    `| POST p99 at ${FOLLOWERS} followers within 1.1× of 0 followers | ${ratio.toFixed(2)}× | ${verdict(ratio <= 1.1)} |`,
  );
  log(
    `| last of ${ONLINE} online followers ≤ 1 s after the response | ${ms(reached)} (max ${ms(Math.max(...broadcast.delivery))}) | ${verdict(reached <= 1000)} (${(reached / 1000).toFixed(2)}×) |`,
  );
  log(
    `| rows per broadcast post constant (written post at 100k: ${writtenRows}) | ${broadcast.rows.map((r) => `${r.inserted} at ${r.followers}`).join(', ')} | ${verdict(constant)} |`,
  );
  for (const read of ['page', 'count']) {
    const p99 = reads.p99[`broadcast ${read} unread`]!;
    const base = reads.p99[`written ${read} unread`]!;
    log(
      `| ${read === 'page' ? 'first page' : 'unread count'} p99 ≤ 10 ms, follower of ${INBOX_AUTHORS} broadcast authors | ${ms(p99)} (written: ${ms(base)}, ${(p99 / base).toFixed(2)}×) | ${verdict(p99 <= 10)} (${(p99 / 10).toFixed(2)}×) |`,
    );
  }
}

void runBench('bench:fanout', main);
