import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { portIsFree } from '../../deploy/cluster.ts';

const run = promisify(execFile);

/**
 * Ports for the processes a test starts, below the kernel's ephemeral range (32768 and
 * up): a port there is never handed to an outgoing connection, so a node killed and
 * started again finds its port still free.
 */
export async function freePorts(count: number): Promise<number[]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = 20_000 + Math.floor(Math.random() * (12_000 - count));
    const ports = Array.from({ length: count }, (_, i) => first + i);
    const free = await Promise.all(ports.map(portIsFree));
    if (free.every(Boolean)) return ports;
  }
  throw new Error(`no ${count} consecutive free ports found below 32000`);
}

export interface RedisServer {
  url: string;
  port: number;
  /** Kills it outright and starts a new one on the same port, empty (no persistence). */
  restartEmpty(): Promise<void>;
  stop(): Promise<void>;
}

/** A redis-server of the test's own (the shared one must never lose its data or restart). */
export async function startRedisServer(): Promise<RedisServer> {
  const [port] = await freePorts(1);
  const dir = mkdtempSync(path.join(tmpdir(), 'unimal-redis-'));
  let proc: ChildProcess | undefined;
  const start = async () => {
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    proc = child;
    let output = '';
    child.stdout!.setEncoding('utf8');
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server: ${output}`)), 10_000);
      child.stdout!.on('data', (chunk: string) => {
        output += chunk;
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited (${code}): ${output}`));
      });
    });
    child.stdout!.resume();
  };
  const kill = async () => {
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = once(proc, 'exit');
    proc.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}/0`,
    port: port!,
    async restartEmpty() {
      await kill();
      await start();
    },
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface PostgresInstance {
  /** The instance's `postgres` database; swap the path for another. */
  adminUrl: string;
  port: number;
  /** `pg_ctl stop -m fast`: every connection is cut, new ones are refused. */
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

/** The PostgreSQL server binaries of this machine (Debian keeps them out of the PATH). */
function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const dir = path.join(root, v, 'bin');
    if (existsSync(path.join(dir, 'initdb'))) return dir;
  }
  return ''; // on the PATH, then
}

/**
 * A PostgreSQL server of the test's own, in a temporary folder (the shared one must never
 * restart under other tests). As root, it runs as the `postgres` user, which initdb needs.
 */
export async function startPostgresInstance(): Promise<PostgresInstance> {
  const [port] = await freePorts(1);
  const dir = mkdtempSync(path.join(tmpdir(), 'unimal-pg-'));
  const data = path.join(dir, 'data');
  const bin = postgresBin();
  const tool = (name: string) => (bin ? path.join(bin, name) : name);
  const asRoot = process.getuid?.() === 0;
  let uid = -1;
  let gid = -1;
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: g } = await run('id', ['-g', 'postgres']);
    uid = Number(stdout.trim());
    gid = Number(g.trim());
    chownSync(dir, uid, gid);
  }
  const pg = (name: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', tool(name), ...args]) : run(tool(name), args);
  await pg('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  const start = async () => {
    await pg('pg_ctl', [
      'start',
      '-w',
      '-t',
      '30',
      '-D',
      data,
      '-l',
      path.join(dir, 'log'),
      '-o',
      options,
    ]);
  };
  const stop = async () => {
    await pg('pg_ctl', ['stop', '-w', '-m', 'fast', '-D', data]);
  };
  await start();
  return {
    adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port: port!,
    start,
    stop,
    async destroy() {
      await pg('pg_ctl', ['stop', '-w', '-m', 'immediate', '-D', data]).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
