// `npm run bench:map`: the live map under a million sightings. Seeds them (npm run seed's
// generator), then measures GET /api/v1/map/cells at city and country zoom, and the time
// from a POST to `map:sighting` at 1,000 subscribed sockets, with same-run baselines.

import { io } from 'socket.io-client';
import { mapRoom } from '../contract/index.ts';
import { createEmitter } from '../core/emitter.ts';
import { createLogger } from '../core/logger.ts';
import { MAP_RESOLUTIONS, mapCells } from '../domain/map/geo.ts';
import { buildPostView } from '../test/helpers/builders.ts';
import { args, type BenchRun, log, ms, quantile, runBench, sorted } from './harness.ts';
import { seed } from './seed.ts';

const SIGHTINGS = Number(args.get('sightings') ?? 1_000_000);
const REQUESTS = Number(args.get('requests') ?? 300);
const SOCKETS = Number(args.get('sockets') ?? 1_000);
const POSTS = Number(args.get('posts') ?? 100);

const LISBON = { lat: 38.7223, lng: -9.1393 };

async function main(run: BenchRun) {
  const { sql } = run;
  let t = performance.now();
  await seed(sql, { seed: 1, users: 5_000, sightings: SIGHTINGS });
  const [{ n } = { n: 0 }] = await sql<{ n: number }[]>`select count(*)::int as n from posts`;
  log(`seeded ${n} sightings in ${((performance.now() - t) / 1000).toFixed(0)} s`);

  const server = await run.start('server');
  const gateway = await run.start('gateway');
  await run.start('workers');
  const [viewer] = (await sql<{ id: string }[]>`select id from users order by handle limit 1`).map(
    (r) => r.id,
  );
  const [token] = await run.tokensFor([viewer!]);
  const get = async (path: string) => {
    const started = performance.now();
    const res = await fetch(`${server.url}${path}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${path} answered ${res.status}`);
    return performance.now() - started;
  };

  // ---- map/cells at city and country zoom, against a trivial authenticated read ----
  const views = [
    { name: 'city (zoom 12, ~18 × 13 km)', zoom: 12, w: 0.2, h: 0.12 },
    { name: 'country (zoom 6, ~550 × 670 km)', zoom: 6, w: 6, h: 6 },
    { name: 'continent (zoom 3, ~4,500 km)', zoom: 3, w: 50, h: 35 },
  ];
  log(
    `\n## GET /api/v1/map/cells over ${n} sightings (${REQUESTS} requests each, after 30 warm-up)`,
  );
  log('| view | p50 | p95 | p99 |\n|---|---:|---:|---:|');
  let jitter = 0;
  const baseline: number[] = [];
  for (const v of views) {
    const times: number[] = [];
    for (let i = 0; i < REQUESTS + 30; i++) {
      // Pan around Lisbon a little so the same answer is not asked for over and over.
      jitter = (jitter + 0.37) % 1;
      const lat = LISBON.lat + (jitter - 0.5) * v.h * 0.2;
      const lng = LISBON.lng + (jitter - 0.5) * v.w * 0.2;
      const bbox = [lng - v.w / 2, lat - v.h / 2, lng + v.w / 2, lat + v.h / 2]
        .map((x) => x.toFixed(4))
        .join(',');
      const d = await get(`/api/v1/map/cells?bbox=${bbox}&zoom=${v.zoom}`);
      if (i >= 30) times.push(d);
      if (i >= 30 && v === views[0]) baseline.push(await get('/api/v1/me'));
    }
    const s = sorted(times);
    log(
      `| ${v.name} | ${ms(quantile(s, 0.5))} | ${ms(quantile(s, 0.95))} | ${ms(quantile(s, 0.99))} |`,
    );
  }
  const b = sorted(baseline);
  log(
    `| baseline: GET /api/v1/me | ${ms(quantile(b, 0.5))} | ${ms(quantile(b, 0.95))} | ${ms(quantile(b, 0.99))} |`,
  );

  // ---- POST → map:sighting at 1,000 sockets watching Lisbon ----
  const watchers = (
    await sql<{ id: string }[]>`select id from users order by handle offset 1 limit ${SOCKETS}`
  ).map((r) => r.id);
  const tokens = await run.tokensFor(watchers);
  const arrivals = new Map<string, number[]>();
  const expect = new Map<string, () => void>();
  const bbox = [LISBON.lng - 0.1, LISBON.lat - 0.06, LISBON.lng + 0.1, LISBON.lat + 0.06];
  t = performance.now();
  await Promise.all(
    tokens.map(async (tok) => {
      const socket = io(gateway.url, {
        path: '/socket.io',
        transports: ['websocket'],
        auth: { token: tok },
        forceNew: true,
        reconnection: false,
      });
      run.sockets.push(socket);
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
      const res = await socket.timeout(20_000).emitWithAck('map:subscribe', { bbox, zoom: 12 });
      if ('error' in res) throw new Error(res.error.message);
      socket.on('map:sighting', (s: { post: { id: string } }) => {
        const list = arrivals.get(s.post.id) ?? [];
        list.push(performance.now());
        arrivals.set(s.post.id, list);
        if (list.length === SOCKETS) expect.get(s.post.id)?.();
      });
    }),
  );
  log(
    `\n${SOCKETS} sockets subscribed to central Lisbon at zoom 12 in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );

  const perDelivery: number[] = [];
  const lastDelivery: number[] = [];
  for (let i = 0; i < POSTS; i++) {
    const started = performance.now();
    const res = await fetch(`${server.url}/api/v1/posts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        kind: 'stray',
        body: `live ${i}`,
        location: { lat: LISBON.lat + (i % 7) * 0.003, lng: LISBON.lng },
      }),
    });
    const { id } = (await res.json()) as { id: string };
    const answered = performance.now();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`post ${id}: ${arrivals.get(id)?.length ?? 0} deliveries`)),
        20_000,
      );
      expect.set(id, () => {
        clearTimeout(timer);
        resolve();
      });
      if ((arrivals.get(id)?.length ?? 0) === SOCKETS) expect.get(id)!();
    });
    for (const at of arrivals.get(id)!) perDelivery.push(at - started);
    lastDelivery.push(Math.max(...arrivals.get(id)!) - answered);
  }

  // Baseline: a bare emit to the same rooms through the same adapter.
  const redis = run.redis();
  const emitter = createEmitter(
    redis,
    run.redisPrefix,
    createLogger({ logLevel: 'silent', env: 'test' }),
  );
  const cells = mapCells(LISBON.lat, LISBON.lng);
  const rooms = cells.map((c, i) => mapRoom(MAP_RESOLUTIONS[i]!, c));
  const bare: number[] = [];
  for (let i = 0; i < POSTS; i++) {
    const id = `bare-${i}`;
    const started = performance.now();
    const done = new Promise<void>((resolve) => expect.set(id, resolve));
    emitter.to(rooms).emit('map:sighting', {
      post: buildPostView({ id }),
      cell: cells[0]!,
      cells: {},
    });
    await done;
    bare.push(Math.max(...arrivals.get(id)!) - started);
  }
  redis.disconnect();
  const pd = sorted(perDelivery);
  const ld = sorted(lastDelivery);
  const bd = sorted(bare);
  log(`\n## POST → map:sighting at ${SOCKETS} subscribed sockets (${POSTS} posts)`);
  log('| measure | p50 | p99 |\n|---|---:|---:|');
  log(
    `| each delivery, from sending the POST | ${ms(quantile(pd, 0.5))} | ${ms(quantile(pd, 0.99))} |`,
  );
  log(
    `| last socket, from the POST's response | ${ms(quantile(ld, 0.5))} | ${ms(quantile(ld, 0.99))} |`,
  );
  log(
    `| baseline: bare emit to the same rooms, last socket | ${ms(quantile(bd, 0.5))} | ${ms(quantile(bd, 0.99))} |`,
  );
  log(`ratio (last socket, p50): ${(quantile(ld, 0.5) / quantile(bd, 0.5)).toFixed(2)}×`);
}

void runBench('bench:map', main);
