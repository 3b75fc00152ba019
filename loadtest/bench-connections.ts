// `npm run bench:connections -- --sockets=N`: what connected sockets cost one gateway
// node, against a bare Socket.IO server with the same adapter (bare-gateway.ts) in the
// same run. For each: one node process, N sockets connected to it from a process of their
// own (socket-fleet.ts, raw protocol, `--concurrency` handshakes in flight), and the
// node's own figures read through its inspector after a full GC: resident memory and V8
// heap idle and with every socket connected, handshakes per second, connect p50/p99, and
// the CPU the node spends while every socket sits idle.
//
//   npm run bench:connections -- --sockets=19500 --concurrency=200 [--rounds=2] [--cpu-prof=DIR]
import { ADAPTER_MODES, type AdapterMode } from './adapter-modes.ts';
import { startFleet } from './fleet.ts';
import { args, type BenchRun, log, ms, quantile, runBench, sorted } from './harness.ts';
import { attachInspector, inspectorUrl, type ProcessFigures } from './inspector.ts';

const SOCKETS = Number(args.get('sockets') ?? 10_000);
const CONCURRENCY = Number(args.get('concurrency') ?? 200);
/** Rounds of (gateway, bare), alternating which goes first; figures are per round. */
const ROUNDS = Number(args.get('rounds') ?? 1);
/** How long a node is left alone before each reading (timers settle, idle CPU is sampled). */
const SETTLE_MS = Number(args.get('settle') ?? 5_000);
const ADAPTER = (args.get('adapter') ?? 'classic') as AdapterMode;
if (!ADAPTER_MODES.includes(ADAPTER)) throw new Error(`--adapter: one of ${ADAPTER_MODES}`);

interface Outcome {
  connected: number;
  failed: number;
  errors: Record<string, number>;
  handshakesPerSecond: number;
  p50: number;
  p99: number;
  idle: ProcessFigures;
  busy: ProcessFigures;
  idleCpu: number;
}

const settle = () => new Promise((r) => setTimeout(r, SETTLE_MS));

async function measure(
  node: { url: string; stderr: () => string },
  tokens: string[],
): Promise<Outcome> {
  const inspector = await attachInspector(await inspectorUrl(node.stderr));
  const fleet = startFleet();
  try {
    await settle();
    const idle = await inspector.figures();
    const result = await fleet.connect(
      tokens.map((token) => ({ url: node.url, token })),
      CONCURRENCY,
    );
    await settle();
    const busy = await inspector.figures();
    const before = await inspector.cpuSeconds();
    await settle();
    const idleCpu = ((await inspector.cpuSeconds()) - before) / (SETTLE_MS / 1000);
    const times = sorted(result.times);
    return {
      connected: result.connected,
      failed: result.failed,
      errors: result.errors,
      handshakesPerSecond: result.times.length / result.seconds,
      p50: quantile(times, 0.5),
      p99: quantile(times, 0.99),
      idle,
      busy,
      idleCpu,
    };
  } finally {
    await fleet.close();
    inspector.close();
  }
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const perSocket = (o: Outcome, field: keyof ProcessFigures) =>
  (o.busy[field] - o.idle[field]) / Math.max(1, o.connected);

function table(gateway: Outcome, bare: Outcome) {
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
  const rows: Array<[string, string, string, string]> = [
    [
      'sockets connected (failed)',
      `${gateway.connected} (${gateway.failed})`,
      `${bare.connected} (${bare.failed})`,
      '',
    ],
    [
      'handshakes/s',
      gateway.handshakesPerSecond.toFixed(0),
      bare.handshakesPerSecond.toFixed(0),
      ratio(gateway.handshakesPerSecond, bare.handshakesPerSecond),
    ],
    ['connect p50', ms(gateway.p50), ms(bare.p50), ratio(gateway.p50, bare.p50)],
    ['connect p99', ms(gateway.p99), ms(bare.p99), ratio(gateway.p99, bare.p99)],
    [
      'RSS idle → connected',
      `${mib(gateway.idle.rss)} → ${mib(gateway.busy.rss)}`,
      `${mib(bare.idle.rss)} → ${mib(bare.busy.rss)}`,
      '',
    ],
    [
      'RSS per socket',
      kib(perSocket(gateway, 'rss')),
      kib(perSocket(bare, 'rss')),
      ratio(perSocket(gateway, 'rss'), perSocket(bare, 'rss')),
    ],
    [
      'V8 heap per socket',
      kib(perSocket(gateway, 'heapUsed')),
      kib(perSocket(bare, 'heapUsed')),
      ratio(perSocket(gateway, 'heapUsed'), perSocket(bare, 'heapUsed')),
    ],
    [
      'CPU, every socket idle',
      `${(gateway.idleCpu * 100).toFixed(1)} % of a core`,
      `${(bare.idleCpu * 100).toFixed(1)} % of a core`,
      '',
    ],
  ];
  log('| measure | gateway | bare Socket.IO | ratio |');
  log('| --- | ---: | ---: | ---: |');
  for (const row of rows) log(`| ${row.join(' | ')} |`);
  for (const [name, o] of [
    ['gateway', gateway],
    ['bare', bare],
  ] as const) {
    if (o.failed) log(`${name} refusals: ${JSON.stringify(o.errors)}`);
  }
}

async function main(run: BenchRun) {
  log(
    `sockets: ${SOCKETS}, ${CONCURRENCY} handshakes in flight, settle ${SETTLE_MS} ms, ` +
      `adapter ${ADAPTER} for the bare node`,
  );
  const users = await run.sql<{ id: string }[]>`
    insert into users (email, handle, display_name, password_hash)
    select 's' || i || '@bench.test', 's' || i, 'S ' || i, 'scrypt$x'
    from generate_series(1, ${SOCKETS}) as i returning id`;
  const tokens = await run.tokensFor(users.map((u) => u.id));

  for (let round = 0; round < ROUNDS; round++) {
    const outcomes: Partial<Record<'gateway' | 'bare', Outcome>> = {};
    const order = round % 2 === 0 ? (['gateway', 'bare'] as const) : (['bare', 'gateway'] as const);
    for (const which of order) {
      const node =
        which === 'gateway'
          ? await run.start('gateway', { inspect: true })
          : await run.startBare(ADAPTER, `bare${round}#`);
      outcomes[which] = await measure(node, tokens);
      await run.stop(node);
    }
    log(`\n## Round ${round + 1} (${order.join(' first, then ')})`);
    table(outcomes.gateway!, outcomes.bare!);
  }
}

void runBench('bench:connections', main);
