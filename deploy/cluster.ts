import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, type ParsedConfig, type Role } from '../core/config.ts';
import { createSql, ensureDatabase } from '../core/db.ts';
import { localSigningCredentials } from '../core/embedded-store.ts';
import { migrate } from '../core/migrate.ts';
import { renderNginxConfig } from './nginx-config.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/**
 * The compose topology as local processes: nginx in front of server, gateway and
 * workers nodes (each the real entrypoint, `main.ts`, with one role), on one
 * PostgreSQL database and one Redis namespace. `npm run cluster` runs it; the
 * cluster tests drive it (kill a node, start it again, watch through the edge).
 */
export interface ClusterOptions {
  servers: number;
  gateways: number;
  workers: number;
  /** The edge's port (CLUSTER_PORT). */
  edgePort: number;
  /** The nodes' ports, one after another from this one (default: the edge's + 1). */
  firstNodePort?: number;
  /** Every node's environment: DATABASE_URL, REDIS_URL, REDIS_PREFIX, S3_*, JWT_SECRET… */
  env: Record<string, string | undefined>;
  /** The cluster's own folder: the rendered nginx.conf, nginx's prefix (temp files, pid). */
  dir: string;
  /** Each line a node or nginx prints, by name (`server-1`, `nginx`…). */
  onLine?: (name: string, line: string) => void;
  /** Start a node again when it dies on its own, as compose's `restart: unless-stopped`. */
  restartOnExit?: boolean;
  /** The nginx binary (default: NGINX_BIN, else `nginx` on the PATH or in /usr/sbin). */
  nginx?: string;
  /** What the cluster itself has to say (migrations applied, a node restarted). */
  say?: (text: string) => void;
}

export interface ClusterProcess {
  name: string;
  port: number;
  url: string;
  pid(): number | undefined;
  running(): boolean;
  /** Starts the process (again) and waits until it answers. */
  start(): Promise<void>;
  /** Sends a signal and waits for the exit; resolves with the exit code (null when killed). */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface ClusterNode extends ClusterProcess {
  role: Role;
}

export interface RunningCluster {
  edgeUrl: string;
  nodes: ClusterNode[];
  nginx: ClusterProcess;
  node(name: string): ClusterNode;
  byRole(role: Role): ClusterNode[];
  /** SIGTERM to every node, then nginx; resolves when all have exited. */
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;

/** Creates the database if needed and applies migrations, once, before any node starts. */
export async function prepareCluster(
  env: Record<string, string | undefined>,
  say: (text: string) => void = () => {},
): Promise<ParsedConfig> {
  const config = loadConfig(env as NodeJS.ProcessEnv);
  if (config.databaseCreate && (await ensureDatabase(config.databaseUrl))) {
    say('database created');
  }
  const sql = createSql({ ...config, databasePoolSize: 1 });
  try {
    const { applied } = await migrate(sql);
    say(applied.length ? `migrations applied: ${applied.join(', ')}` : 'schema up to date');
  } finally {
    await sql.end({ timeout: 5 });
  }
  // Secrets every node shares through DATA_DIR, made once here rather than raced for.
  if (config.s3.embedded && !(config.s3.accessKeyId && config.s3.secretAccessKey)) {
    localSigningCredentials(config.dataDir);
  }
  return config;
}

/** Is a TCP port free on the loopback address? */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

export async function startCluster(options: ClusterOptions): Promise<RunningCluster> {
  const counts: Array<[Role, number]> = [
    ['server', options.servers],
    ['gateway', options.gateways],
    ['workers', options.workers],
  ];
  for (const [role, n] of counts) {
    if (!Number.isInteger(n) || n < 0 || n > 32)
      throw new Error(`${role} nodes: 0 to 32, got ${n}`);
  }
  if (options.servers < 1 || options.gateways < 1) {
    throw new Error('the edge needs at least one server and one gateway node');
  }
  const edgeUrl = `http://127.0.0.1:${options.edgePort}`;
  const publicUrl = `http://localhost:${options.edgePort}`;
  const config = await prepareCluster(options.env, options.say);

  const layout: Array<{ name: string; role: Role; port: number }> = [];
  let port = options.firstNodePort ?? options.edgePort + 1;
  for (const [role, n] of counts) {
    for (let i = 1; i <= n; i++) layout.push({ name: `${role}-${i}`, role, port: port++ });
  }
  await stopStaleNginx(options.dir);
  for (const p of [options.edgePort, ...layout.map((n) => n.port)]) {
    if (!(await portIsFree(p))) {
      throw new Error(`port ${p} is in use (CLUSTER_PORT, --node-port): pick other ports`);
    }
  }

  const nodeEnv: Record<string, string> = {
    ...(Object.fromEntries(
      Object.entries(options.env).filter(([, v]) => v !== undefined),
    ) as Record<string, string>),
    HOST: '127.0.0.1',
    // Migrated above, once.
    MIGRATE_ON_START: 'false',
    DATABASE_CREATE: 'false',
    // Client addresses come from the edge's X-Forwarded-For.
    TRUST_PROXY: 'true',
    // A stopping node leaves its idle connections for the edge to close (4 s), as in
    // production: closing one under a request in flight would fail that request.
    SHUTDOWN_IDLE_WAIT: options.env.SHUTDOWN_IDLE_WAIT || '5s',
    DATA_DIR: config.dataDir,
    // Links handed to clients point at the edge, whichever node made them.
    MEDIA_PUBLIC_URL: options.env.MEDIA_PUBLIC_URL || `${publicUrl}/media`,
    ...(config.s3.embedded
      ? { S3_PUBLIC_ENDPOINT: options.env.S3_PUBLIC_ENDPOINT || `${publicUrl}/storage` }
      : {}),
  };
  const nodes = layout.map(({ name, role, port: nodePort }) =>
    managedProcess({
      name,
      port: nodePort,
      command: process.execPath,
      args: ['--import', 'tsx', 'main.ts'],
      env: { ...nodeEnv, ROLES: role, PORT: String(nodePort) },
      readyPath: '/readyz',
      ipc: true,
      options,
    }),
  ) as ClusterNode[];
  layout.forEach((l, i) => {
    nodes[i]!.role = l.role;
  });

  mkdirSync(options.dir, { recursive: true });
  // nginx's workers (an unprivileged user when started as root) write temporary files here.
  chmodSync(options.dir, 0o755);
  const confFile = path.join(options.dir, 'nginx.conf');
  writeFileSync(
    confFile,
    renderNginxConfig({
      servers: nodes.filter((n) => n.role === 'server').map((n) => `127.0.0.1:${n.port}`),
      gateways: nodes.filter((n) => n.role === 'gateway').map((n) => `127.0.0.1:${n.port}`),
      listen: `127.0.0.1:${options.edgePort}`,
      errorLog: 'stderr',
      accessLog: 'access.log',
    }),
  );
  const nginx = managedProcess({
    name: 'nginx',
    port: options.edgePort,
    command: options.nginx ?? nginxBinary(),
    args: ['-p', path.resolve(options.dir), '-c', confFile, '-e', 'stderr', '-g', 'daemon off;'],
    env: { PATH: process.env.PATH ?? '' },
    readyPath: '/healthz',
    ipc: false,
    options,
  });

  const everything = [...nodes, nginx];
  try {
    await Promise.all(nodes.map((n) => n.start()));
    await nginx.start();
  } catch (err) {
    await Promise.allSettled(everything.map((p) => p.kill('SIGKILL')));
    throw err;
  }

  return {
    edgeUrl,
    nodes,
    nginx,
    node(name) {
      const found = nodes.find((n) => n.name === name);
      if (!found) throw new Error(`no node ${name}`);
      return found;
    },
    byRole: (role) => nodes.filter((n) => n.role === role),
    async stop() {
      await Promise.allSettled(nodes.map((n) => n.kill('SIGTERM')));
      await nginx.kill('SIGTERM');
    },
  };
}

/** Debian installs nginx in /usr/sbin, which is not on every user's PATH. */
function nginxBinary(): string {
  if (process.env.NGINX_BIN) return process.env.NGINX_BIN;
  const onPath = (process.env.PATH ?? '')
    .split(path.delimiter)
    .some((dir) => dir && existsSync(path.join(dir, 'nginx')));
  return onPath || !existsSync('/usr/sbin/nginx') ? 'nginx' : '/usr/sbin/nginx';
}

/**
 * An nginx left running by a supervisor that was killed outright (nodes stop on their
 * own when it dies, nginx cannot tell) still holds the edge's port: stop it first.
 */
async function stopStaleNginx(dir: string): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(path.join(dir, 'nginx.pid'), 'utf8').trim());
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!cmdline.includes('nginx') || !cmdline.includes(path.resolve(dir))) return;
  } catch {
    return; // no pid file, or no such process: nothing left behind
  }
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return; // gone
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface ProcessSpec {
  name: string;
  port: number;
  command: string;
  args: string[];
  env: Record<string, string>;
  /** Give the process an IPC channel: a node stops when it closes (the supervisor died). */
  ipc: boolean;
  /** Answers 200 once the process is ready (readiness for nodes, liveness for nginx). */
  readyPath: string;
  options: ClusterOptions;
}

/** One process of the cluster: started, waited for, signalled, and restarted if asked. */
function managedProcess(spec: ProcessSpec): ClusterProcess {
  const { name, port, options } = spec;
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let exited: Promise<number | null> = Promise.resolve(null);
  // Set while the cluster means the process to be down (killed, stopping): no restart then.
  let wanted = false;
  let restarts = 0;
  let spawnError: Error | undefined;
  let wasReady = false;

  const lines = (stream: NodeJS.ReadableStream) => {
    let buffered = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buffered += chunk;
      let nl = buffered.indexOf('\n');
      while (nl >= 0) {
        options.onLine?.(name, buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
        nl = buffered.indexOf('\n');
      }
    });
    stream.on('end', () => {
      if (buffered) options.onLine?.(name, buffered);
    });
  };

  const spawnOnce = () => {
    const proc = spawn(spec.command, spec.args, {
      cwd: ROOT,
      env: spec.env,
      stdio: spec.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
      // A process group of its own: a signal reaches nginx's workers with their master
      // (a SIGKILLed master leaves them running, holding the port and the output pipes),
      // and a Ctrl-C reaches the supervisor alone, which stops everything in order.
      detached: true,
    });
    // The channel only tells the node when this process is gone; it must not keep this
    // process alive, nor be written to.
    proc.channel?.unref();
    child = proc;
    lines(proc.stdout!);
    lines(proc.stderr!);
    // 'close': the output has been read to its end by then. A process that could not be
    // started at all (no such binary) emits 'error' instead: that is an exit too.
    spawnError = undefined;
    proc.on('error', (err) => {
      spawnError = err;
      options.onLine?.(name, `failed to start: ${err.message}`);
    });
    exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
      proc.once('close', (code, signal) => resolve([code, signal]));
      proc.once('error', () => {
        if (proc.pid === undefined) resolve([null, null]);
      });
    }).then(([code, signal]) => {
      // Only a process that was up once: one that never started fails its first start().
      if (wanted && wasReady && options.restartOnExit) {
        const delay = Math.min(1_000 * 2 ** restarts, 10_000);
        restarts += 1;
        options.say?.(`${name} exited (${code ?? signal}); starting it again in ${delay} ms`);
        setTimeout(() => {
          if (wanted) void handle.start().catch(() => {});
        }, delay).unref();
      }
      return code;
    });
  };

  const answers = async () => {
    try {
      const res = await fetch(`${url}${spec.readyPath}`, { signal: AbortSignal.timeout(2_000) });
      await res.body?.cancel();
      return res.ok;
    } catch {
      return false;
    }
  };

  const handle: ClusterProcess = {
    name,
    port,
    url,
    pid: () => child?.pid,
    running: () => child?.pid !== undefined && child.exitCode === null && child.signalCode === null,
    async start() {
      if (handle.running()) return;
      wanted = true;
      spawnOnce();
      const proc = child!;
      const deadline = Date.now() + READY_TIMEOUT_MS;
      while (!(await answers())) {
        if (spawnError) throw new Error(`${name} could not start: ${spawnError.message}`);
        if (proc.exitCode !== null || proc.signalCode !== null) {
          throw new Error(
            `${name} exited (${proc.exitCode ?? proc.signalCode}) before it was ready`,
          );
        }
        if (Date.now() > deadline) {
          await handle.kill('SIGKILL');
          throw new Error(`${name} was not ready within ${READY_TIMEOUT_MS} ms`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      restarts = 0;
      wasReady = true;
    },
    async kill(signal = 'SIGKILL') {
      wanted = false;
      const proc = child;
      if (!proc || !handle.running()) return exited;
      const send = (sig: NodeJS.Signals) => {
        try {
          process.kill(-proc.pid!, sig);
        } catch {
          proc.kill(sig);
        }
      };
      send(signal);
      const timer = setTimeout(() => send('SIGKILL'), STOP_TIMEOUT_MS);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  return handle;
}
