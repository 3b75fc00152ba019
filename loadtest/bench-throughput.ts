// `npm run bench:throughput`: many authors at once. Real processes on this machine: one
// server node, WORKERS workers nodes, and 1, 2 then 4 gateway nodes, with 10,000 followers
// online as raw-protocol sockets (socket-fleet.ts) spread over the gateways.
//
// - Bursts: 100 authors post at once, 100 followers each (10,000 deliveries); ROUNDS
//   rounds after one warm-up. Deliveries/s from the first POST sent to the last arrival;
//   per-delivery latency from its POST's response.
// - Sustained: RATE posts/s for SECONDS s from 1,000 authors (100 online followers each);
//   latency per 10 s window, and the stream's lag and pending per consumer group each second.
// - Baseline, same run: bare Socket.IO nodes (bare-gateway.ts) as many as the gateways,
//   the same sockets, the same messages (same size, same rooms, same schedule) emitted
//   through the same adapter from this process. Every delivery is counted: missing and
//   duplicates are printed.
//
//   npm run bench:throughput -- [--nodes=1,2,4] [--rounds=3] [--rate=200] [--seconds=60]
//     [--workers=1] [--bare-adapters=classic,sharded-static,sharded-dynamic] [--cpu-prof=DIR]
import { Server } from 'socket.io';
import { REDIS_URL } from '../test/helpers/env.ts';
import { ADAPTER_MODES, type AdapterMode, adapterFor } from './adapter-modes.ts';
import { type Fleet, startFleet } from './fleet.ts';
import { args, type BenchRun, log, runBench } from './harness.ts';
import {
  figuresOf,
  fmt,
  median,
  printTable,
  type RoundFigures,
  type Sent,
  windows,
} from './throughput-report.ts';
import { type Audience, seedAudience } from './throughput-setup.ts';
import { bare, cpuSeconds, ours, redisPid, type System, wall } from './throughput-systems.ts';

const NODES = (args.get('nodes') ?? '1,2,4').split(',').map(Number);
const ROUNDS = Number(args.get('rounds') ?? 3);
const RATE = Number(args.get('rate') ?? 200);
const SECONDS = Number(args.get('seconds') ?? 60);
const WORKERS = Number(args.get('workers') ?? 1);
const BARE = (args.get('bare-adapters') ?? 'classic').split(',').filter(Boolean) as AdapterMode[];
for (const mode of BARE) {
  if (!ADAPTER_MODES.includes(mode)) throw new Error(`--bare-adapters: of ${ADAPTER_MODES}`);
}
const SHAPE = { authors: 1_000, followers: 10_000, followsEach: 10 };
const BURST_AUTHORS = 100;
async function burst(system: System, fleet: Fleet, tag: string) {
  await fleet.reset();
  const pids = Object.entries(await system.pids());
  const cpu = pids.map(([, group]) => cpuSeconds(group));
  const sent = await Promise.all(
    Array.from({ length: BURST_AUTHORS }, (_, a) => system.post(a, `${tag}-${a}`)),
  );
  const expected = sent.reduce((n, s) => n + s.expected, 0);
  await fleet.expect(expected, 30_000);
  const figures = figuresOf(sent, await fleet.report());
  const used = pids.map(([name, group], i) => [name, cpuSeconds(group) - cpu[i]!] as const);
  return {
    ...figures,
    cpu: used.reduce((sum, [, seconds]) => sum + seconds, 0),
    cpuBy: used.map(([name, seconds]) => `${name} ${seconds.toFixed(2)}`).join(', '),
  };
}

async function sustained(system: System, fleet: Fleet, tag: string) {
  await fleet.reset();
  const total = RATE * SECONDS;
  const sends: Promise<Sent>[] = [];
  const samples: Array<{ at: number; groups: Record<string, { lag: number; pending: number }> }> =
    [];
  const startedAt = wall();
  const sampler = setInterval(async () => {
    if (system.groups) samples.push({ at: wall() - startedAt, groups: await system.groups() });
  }, 1_000);
  await new Promise<void>((resolve) => {
    let i = 0;
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((wall() - startedAt) * RATE) / 1000) + 1);
      while (i < due) {
        sends.push(system.post(i % SHAPE.authors, `${tag}-${i}`));
        i += 1;
      }
      if (i >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 10);
  });
  const sent = await Promise.all(sends);
  const expected = sent.reduce((n, s) => n + s.expected, 0);
  // Everything is waited for, however late, as long as deliveries keep coming: a load the
  // system cannot hold shows as growing latency, not as deliveries cut off and "missing".
  let seen = -1;
  for (;;) {
    const { received } = await fleet.expect(expected, 15_000);
    if (received >= expected || received === seen) break;
    seen = received;
  }
  clearInterval(sampler);
  const figures = figuresOf(sent, await fleet.report());
  return { figures, samples, startedAt };
}

/** A connected fleet of every follower, spread over the nodes' urls. */
async function connectFleet(urls: string[], audience: Audience) {
  const fleet = startFleet();
  const result = await fleet.connect(
    audience.followerTokens.map((token, i) => ({ url: urls[i % urls.length]!, token })),
    200,
  );
  if (result.failed) throw new Error(`sockets refused: ${JSON.stringify(result.errors)}`);
  return fleet;
}

interface Measured {
  system: string;
  nodes: number;
  bursts: Array<RoundFigures & { cpu: number; cpuBy: string }>;
  /** Absent with --seconds=0. */
  steady?: Awaited<ReturnType<typeof sustained>>;
}

async function measure(system: System, urls: string[], audience: Audience, nodes: number) {
  const fleet = await connectFleet(urls, audience);
  try {
    await burst(system, fleet, 'warm');
    const bursts = [];
    for (let r = 0; r < ROUNDS; r++) bursts.push(await burst(system, fleet, `b${r}`));
    const steady = SECONDS > 0 ? await sustained(system, fleet, 's') : undefined;
    const m: Measured = { system: system.name, nodes, bursts, ...(steady ? { steady } : {}) };
    report(m);
    return m;
  } finally {
    await fleet.close();
  }
}

function report(m: Measured) {
  log(`\n### ${m.system}, ${m.nodes} gateway node${m.nodes > 1 ? 's' : ''}`);
  printTable(
    ['burst', 'deliveries/s', 'p50', 'p99', 'max', 'last POST answered', 'missing', 'dup', 'CPU'],
    m.bursts.map((b, i) => [
      String(i + 1),
      fmt(b.rate),
      `${fmt(b.p50)} ms`,
      `${fmt(b.p99)} ms`,
      `${fmt(b.max)} ms`,
      `${fmt(b.lastAnswer)} ms`,
      String(b.missing),
      String(b.duplicates),
      `${b.cpu.toFixed(2)} s (${b.cpuBy})`,
    ]),
  );
  if (!m.steady) return;
  const { figures, samples, startedAt } = m.steady;
  log(
    `\nsustained ${RATE} posts/s for ${SECONDS} s: ${fmt(figures.deliveries)} deliveries, ` +
      `${fmt(figures.rate)}/s, p50 ${fmt(figures.p50)} ms, p99 ${fmt(figures.p99)} ms, ` +
      `max ${fmt(figures.max)} ms, missing ${figures.missing}, duplicates ${figures.duplicates}`,
  );
  const rows = windows(figures, startedAt, 10).map((w) => {
    const inWindow = samples.filter((s) => s.at >= w.from * 1000 && s.at < (w.from + 10) * 1000);
    const worst = (group: string, field: 'lag' | 'pending') =>
      Math.max(0, ...inWindow.map((s) => s.groups[group]?.[field] ?? 0));
    return [
      `${w.from}–${w.from + 10} s`,
      fmt(w.count),
      `${fmt(w.p50)} ms`,
      `${fmt(w.p99)} ms`,
      samples.length ? `${worst('fanout', 'lag')} / ${worst('fanout', 'pending')}` : '–',
      samples.length ? `${worst('map', 'lag')} / ${worst('notify', 'lag')}` : '–',
    ];
  });
  printTable(
    ['window', 'deliveries', 'p50', 'p99', 'fanout lag / pending (max)', 'map / notify lag'],
    rows,
  );
}

async function main(run: BenchRun) {
  log(
    `gateway nodes ${NODES.join(', ')}; ${ROUNDS} bursts of ${BURST_AUTHORS} authors × 100 followers; ` +
      `sustained ${RATE} posts/s for ${SECONDS} s; ${WORKERS} workers node(s); bare adapters ${BARE.join(', ')}`,
  );
  const audience = await seedAudience(run, SHAPE);
  const server = await run.start('server');
  const workers = [];
  for (let i = 0; i < WORKERS; i++) workers.push(await run.start('workers'));
  const results: Measured[] = [];
  for (const n of NODES) {
    const gateways = [];
    for (let i = 0; i < n; i++) gateways.push(await run.start('gateway'));
    const pids = {
      server: [server.proc.pid!],
      workers: workers.map((w) => w.proc.pid!),
      gateways: gateways.map((g) => g.proc.pid!),
      redis: [await redisPid()],
    };
    results.push(
      await measure(
        ours(run, server.url, pids, audience),
        gateways.map((g) => g.url),
        audience,
        n,
      ),
    );
    for (const g of gateways) await run.stop(g);
    // Each phase leaves ~300,000 more inbox rows; vacuumed and analysed now, as autovacuum
    // would do in its own time, so that its work does not land in the next phase's bursts.
    await run.sql`vacuum analyze`;
    for (const mode of BARE) {
      const channel = `bare-${mode}-${n}#`;
      const nodes = [];
      for (let i = 0; i < n; i++) nodes.push(await run.startBare(mode, channel));
      const emitting = adapterFor(mode, REDIS_URL, `${run.redisPrefix}${channel}`);
      const emitter = new Server({ adapter: emitting.adapter });
      const pids = { gateways: nodes.map((b) => b.proc.pid!), redis: [await redisPid()] };
      const system = bare(emitter, pids, audience, mode);
      results.push(
        await measure(
          system,
          nodes.map((b) => b.url),
          audience,
          n,
        ),
      );
      await emitting.close();
      for (const b of nodes) await run.stop(b);
    }
  }
  summary(results);
}

function summary(results: Measured[]) {
  log('\n## Summary (bursts: median of rounds; ratio = Unimal / bare classic, same node count)');
  const rows: string[][] = [];
  for (const m of results) {
    const base = results.find((r) => r.nodes === m.nodes && r.system.includes('(classic)'));
    const rate = median(m.bursts.map((b) => b.rate));
    const baseRate = base ? median(base.bursts.map((b) => b.rate)) : Number.NaN;
    const p99 = median(m.bursts.map((b) => b.p99));
    const baseP99 = base ? median(base.bursts.map((b) => b.p99)) : Number.NaN;
    rows.push([
      m.system,
      String(m.nodes),
      fmt(rate),
      `${(rate / baseRate).toFixed(2)}×`,
      `${fmt(median(m.bursts.map((b) => b.p50)))} / ${fmt(p99)} ms`,
      `${(p99 / baseP99).toFixed(2)}×`,
      `${median(m.bursts.map((b) => b.cpu)).toFixed(2)} s`,
      m.steady ? `${fmt(m.steady.figures.p50)} / ${fmt(m.steady.figures.p99)} ms` : '–',
      `${m.bursts.reduce((n, b) => n + b.missing, 0) + (m.steady?.figures.missing ?? 0)} / ` +
        `${m.bursts.reduce((n, b) => n + b.duplicates, 0) + (m.steady?.figures.duplicates ?? 0)}`,
    ]);
  }
  printTable(
    [
      'system',
      'gateways',
      'burst deliveries/s',
      'ratio',
      'burst p50 / p99',
      'p99 ratio',
      'burst CPU',
      'sustained p50 / p99',
      'missing / dup',
    ],
    rows,
  );
}

void runBench('bench:throughput', main);
