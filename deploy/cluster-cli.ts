// `npm run cluster`: the compose topology as local processes, behind a local nginx.
//
//   npm run cluster                                   # 2 server, 2 gateway, 2 workers nodes
//   npm run cluster -- --gateways=3 --logs=.data/logs # more gateways, logs to files
//
// Nodes take DATABASE_URL, REDIS_URL, REDIS_PREFIX (and every other setting) from the
// environment; CLUSTER_PORT (8080) is the edge's port, the nodes use the ports after it.
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type RunningCluster, startCluster } from './cluster.ts';

const USAGE = `usage: npm run cluster -- [--servers=2] [--gateways=2] [--workers=2]
                          [--node-port=CLUSTER_PORT+1] [--logs=DIR] [--dir=.data/cluster]`;

function count(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`--${name}: expected a whole number, got "${value}"\n${USAGE}`);
    process.exit(2);
  }
  return n;
}

let args: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    options: {
      servers: { type: 'string' },
      gateways: { type: 'string' },
      workers: { type: 'string' },
      'node-port': { type: 'string' },
      logs: { type: 'string' },
      dir: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  }).values;
}
try {
  args = parse();
} catch (err) {
  console.error(`${(err as Error).message}\n${USAGE}`);
  process.exit(2);
}
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}

const edgePort = count(process.env.CLUSTER_PORT, 8080, 'CLUSTER_PORT');
const dataDir = path.resolve(process.env.DATA_DIR || '.data');
const logDir = args.logs ? path.resolve(args.logs) : undefined;
const files = new Map<string, WriteStream>();
const say = (text: string) => console.log(`cluster   | ${text}`);

const onLine = (name: string, line: string) => {
  if (logDir) {
    let file = files.get(name);
    if (!file) {
      mkdirSync(logDir, { recursive: true });
      file = createWriteStream(path.join(logDir, `${name}.log`), { flags: 'a' });
      files.set(name, file);
    }
    file.write(`${line}\n`);
  } else {
    console.log(`${name.padEnd(9)} | ${line}`);
  }
};

const clusterDir = path.resolve(args.dir ?? path.join(dataDir, 'cluster'));
let cluster: RunningCluster | undefined;
let stopping = false;
const shutdown = (signal: NodeJS.Signals) => {
  if (stopping) {
    say(`${signal} again: killing everything`);
    for (const p of [...(cluster?.nodes ?? []), ...(cluster ? [cluster.nginx] : [])]) {
      void p.kill('SIGKILL');
    }
    process.exit(1);
  }
  stopping = true;
  if (!cluster) {
    // Still starting: what started so far is stopped once the start is over (below).
    say(`${signal}: stopping as soon as everything has started`);
    return;
  }
  say(`${signal}: stopping every node, then the edge`);
  cluster.stop().then(
    () => {
      say('stopped');
      for (const f of files.values()) f.end();
      process.exit(0);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
};
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
// `npm run` passes a SIGTERM to its shell, which dies without passing it on: this process
// is then re-parented. Take that as the SIGTERM it was meant to be.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent && !stopping) shutdown('SIGTERM');
}, 500).unref();

try {
  const nodePort = args['node-port'];
  cluster = await startCluster({
    servers: count(args.servers, 2, 'servers'),
    gateways: count(args.gateways, 2, 'gateways'),
    workers: count(args.workers, 2, 'workers'),
    edgePort,
    ...(nodePort ? { firstNodePort: count(nodePort, edgePort + 1, 'node-port') } : {}),
    env: { ...process.env, DATA_DIR: dataDir },
    dir: clusterDir,
    onLine,
    restartOnExit: true,
    say,
  });
  if (stopping) {
    await cluster.stop();
    process.exit(0);
  }
  for (const n of cluster.nodes) say(`${n.name.padEnd(9)} ${n.url} (pid ${n.pid()})`);
  if (logDir) say(`logs: ${logDir}/<name>.log`);
  say(`edge access log: ${path.join(clusterDir, 'access.log')}`);
  say(`edge: http://localhost:${edgePort}  (API http://localhost:${edgePort}/api/v1, map /map)`);
  say('Ctrl-C stops everything');
} catch (err) {
  console.error(`cluster failed to start: ${(err as Error).message}`);
  process.exit(1);
}
