// `npm run bench:sockets`: what connected sockets cost one gateway node, the input of the
// README's sizing. One gateway node (a real process), N sockets connected to it from a
// process of their own (`concurrency` handshakes in flight), and the node's own figures
// from /metrics: resident memory and V8 heap, idle (the same-run baseline) and with every
// socket connected, once it has settled; handshakes per second and connect latency.
//
//   npm run bench:sockets -- --sockets=10000 --concurrency=200
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { args, log, ms, quantile, runBench, sorted } from './harness.ts';

const SOCKETS = Number(args.get('sockets') ?? 10_000);
const CONCURRENCY = Number(args.get('concurrency') ?? 200);
/** How long the node is left alone before each reading (timers, GC). */
const SETTLE_MS = Number(args.get('settle') ?? 10_000);

async function nodeFigures(url: string) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN);
  return {
    rss: read('process_resident_memory_bytes'),
    heap: read('nodejs_heap_size_used_bytes'),
    sockets: read('sockets_connected'),
    cpuSeconds: read('process_cpu_seconds_total'),
  };
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const settle = () => new Promise((r) => setTimeout(r, SETTLE_MS));

await runBench('bench:sockets', async (run) => {
  log(`sockets: ${SOCKETS}, ${CONCURRENCY} handshakes in flight, settle ${SETTLE_MS} ms`);
  const gateway = await run.start('gateway');
  const users = await run.sql<{ id: string }[]>`
    insert into users (email, handle, display_name, password_hash)
    select 's' || i || '@bench.test', 's' || i, 'S ' || i, 'scrypt$x'
    from generate_series(1, ${SOCKETS}) as i returning id`;
  const tokens = await run.tokensFor(users.map((u) => u.id));

  await settle();
  const idle = await nodeFigures(gateway.url);

  const clients = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./socket-clients.ts', import.meta.url))],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  clients.stdin!.write(
    `${JSON.stringify({ url: gateway.url, tokens, concurrency: CONCURRENCY })}\n`,
  );
  let output = '';
  clients.stdout!.setEncoding('utf8');
  while (!output.includes('\n')) output += ((await once(clients.stdout!, 'data')) as [string])[0];
  const connected = JSON.parse(output) as { times: number[]; failed: number; seconds: number };
  await settle();
  const busy = await nodeFigures(gateway.url);
  const cpuBefore = busy.cpuSeconds;
  await settle();
  const idleCpu = ((await nodeFigures(gateway.url)).cpuSeconds - cpuBefore) / (SETTLE_MS / 1000);
  clients.stdin!.end();
  await once(clients, 'close');

  const t = sorted(connected.times);
  const n = busy.sockets;
  log('');
  log('| measure | value |');
  log('| --- | ---: |');
  log(`| sockets connected (failed) | ${n} (${connected.failed}) |`);
  log(`| handshakes/s | ${(connected.times.length / connected.seconds).toFixed(0)} |`);
  log(`| connect p50 / p99 | ${ms(quantile(t, 0.5))} / ${ms(quantile(t, 0.99))} |`);
  log(`| RSS idle → connected | ${mib(idle.rss)} → ${mib(busy.rss)} |`);
  log(`| RSS per socket | ${((busy.rss - idle.rss) / n / 1024).toFixed(1)} KiB |`);
  log(`| V8 heap idle → connected | ${mib(idle.heap)} → ${mib(busy.heap)} |`);
  log(`| V8 heap per socket | ${((busy.heap - idle.heap) / n / 1024).toFixed(1)} KiB |`);
  log(`| CPU with every socket idle | ${(idleCpu * 100).toFixed(1)} % of a core |`);
});
