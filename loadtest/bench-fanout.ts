// `npm run bench:fanout`: what a post costs its writer, and how fast its fan-out reaches
// followers. Real processes (one server, two gateway nodes, two workers) on this machine,
// a database and Redis prefix of its own, cleaned up at the end. Prints its figures.
import { io } from 'socket.io-client';
import { type Notification, userRoom } from '../contract/index.ts';
import { createEmitter } from '../core/emitter.ts';
import { createLogger } from '../core/logger.ts';
import { args, type BenchRun, log, ms, quantile, runBench } from './harness.ts';

const POSTS = Number(args.get('posts') ?? 500);
const ONLINE = Number(args.get('online') ?? 10_000);
const ROUNDS = Number(args.get('rounds') ?? 5);
const AUDIENCES = [0, 1_000, 10_000, 100_000];
const MAX_FOLLOWERS = Math.max(...AUDIENCES);

async function main(run: BenchRun) {
  const { sql, sockets, start } = run;

  // ---- seed: one author per audience size, 100k followers shared between them ----
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
  const followerIds = (
    await sql<{ id: string }[]>`select id from users where handle like 'f\\_%' order by handle`
  ).map((r) => r.id);
  for (let a = 0; a < AUDIENCES.length; a++) {
    const n = AUDIENCES[a]!;
    if (n === 0) continue;
    await sql`
      insert into follows (follower_id, followee_id)
      select unnest(${followerIds.slice(0, n)}::uuid[]), ${authorIds[a]!}`;
    await sql`update users set follower_count = ${n} where id = ${authorIds[a]!}`;
  }
  await sql`analyze`;
  log(
    `seeded ${AUDIENCES.length} authors and ${MAX_FOLLOWERS} followers in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );

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
  log(`p99 ratio 100k / 0 followers: ${(p99s.at(-1)! / p99s[0]!).toFixed(2)}×`);
  // The phase's posts are not fanned out: mark them published so the workers start clean.
  await sql`update outbox set published_at = now() where published_at is null`;

  // ---- 2. online delivery to 10k sockets across two gateway nodes ----
  const gateways = [await start('gateway'), await start('gateway')];
  // Written inboxes: every audience here gets a row per follower, as before broadcast
  // authors existed (FANOUT_BROADCAST_THRESHOLD's default would broadcast the largest).
  const written = { env: { FANOUT_BROADCAST_THRESHOLD: '0' } };
  await Promise.all([start('workers', written), start('workers', written)]);
  const online = followerIds.slice(0, ONLINE);
  t = performance.now();
  const onlineTokens = await run.tokensFor(online);
  // Arrivals per notification (keyed by post id, or id for the bare emits), whenever they come.
  const tallies = new Map<string, { count: number; last: number; resolve?: () => void }>();
  for (let i = 0; i < online.length; i += 500) {
    await Promise.all(
      online.slice(i, i + 500).map((_, j) => {
        const k = i + j;
        const socket = io(gateways[k % 2]!.url, {
          path: '/socket.io',
          transports: ['websocket'],
          auth: { token: onlineTokens[k] },
          forceNew: true,
          reconnection: false,
        });
        sockets.push(socket);
        socket.on('notification', (n: Notification) => {
          const key = n.postId ?? n.id;
          const tally = tallies.get(key) ?? { count: 0, last: 0 };
          tallies.set(key, tally);
          tally.count += 1;
          tally.last = performance.now();
          if (tally.count === online.length) tally.resolve?.();
        });
        return new Promise<void>((resolve, reject) => {
          socket.once('connect', () => resolve());
          socket.once('connect_error', (err) => reject(err));
        });
      }),
    );
  }
  log(
    `\n${online.length} sockets connected across 2 gateway nodes in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );

  const waitAll = (key: string, timeoutMs = 30_000) =>
    new Promise<number>((resolve, reject) => {
      const tally = tallies.get(key) ?? { count: 0, last: 0 };
      tallies.set(key, tally);
      const timer = setTimeout(
        () => reject(new Error(`only ${tally.count}/${online.length} sockets received ${key}`)),
        timeoutMs,
      );
      tally.resolve = () => {
        clearTimeout(timer);
        resolve(tally.last);
      };
      if (tally.count === online.length) tally.resolve();
    });

  const redis = run.redis();
  const emitter = createEmitter(
    redis,
    run.redisPrefix,
    createLogger({ logLevel: 'silent', env: 'test' }),
  );
  const rooms = online.map(userRoom);
  const fanoutTimes: number[] = [];
  const bareTimes: number[] = [];
  const a10k = AUDIENCES.indexOf(10_000);
  for (let r = 0; r < ROUNDS; r++) {
    // Baseline: one bare emit per 1000 rooms through the same adapter channel (as the fan-out batches).
    const bareId = `bare-${r}`;
    const start = performance.now();
    const done = waitAll(bareId);
    for (let i = 0; i < rooms.length; i += 1000) {
      emitter.to(rooms.slice(i, i + 1000)).emit('notification', { id: bareId } as Notification);
    }
    bareTimes.push((await done) - start);

    // The real thing: a post by the author those 10k follow, from the response to the last socket.
    const res = await fetch(`${server.url}/api/v1/posts`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${authorTokens[a10k]}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ kind: 'wild', body: `round ${r}` }),
    });
    const answered = performance.now();
    const post = (await res.json()) as { id: string };
    fanoutTimes.push((await waitAll(post.id)) - answered);
  }
  const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  log(
    `\n## Delivery to ${online.length} online followers (median of ${ROUNDS} rounds, max in brackets)`,
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
  for (let r = 0; r < 2; r++) {
    const res = await fetch(`${server.url}/api/v1/posts`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${authorTokens[a100k]}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ kind: 'wild', body: `big ${r}` }),
    });
    const answered = performance.now();
    const post = (await res.json()) as { id: string };
    for (;;) {
      const [c] = await sql<
        { n: number }[]
      >`select count(*)::int as n from notifications where post_id = ${post.id}`;
      if (c!.n >= MAX_FOLLOWERS) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    inboxTimes.push(performance.now() - answered);
  }
  log(
    `| run | time |\n|---|---:|\n${inboxTimes.map((x, i) => `| ${i + 1} | ${ms(x)} |`).join('\n')}`,
  );
  redis.disconnect();
}

void runBench('bench:fanout', main);
