import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, inject } from 'vitest';
import { createTestDatabase, deleteRedisPrefix } from './context.ts';
import { baseTestEnv } from './env.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface NodeProcess {
  proc: ChildProcess;
  port: number;
  url: string;
  /** Every log line so far (JSON objects from pino, or raw text). */
  logs: Array<Record<string, unknown>>;
  stderr: () => string;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs the real entrypoint (`main.ts`) as a child process and waits until it listens. */
export async function spawnNode(
  env: Record<string, string>,
  timeoutMs = 30_000,
  /** Node's own options before the script (e.g. `--cpu-prof`, not allowed in NODE_OPTIONS). */
  execArgv: string[] = [],
): Promise<NodeProcess> {
  const proc = spawn(process.execPath, [...execArgv, '--import', 'tsx', 'main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...baseTestEnv(), LOG_LEVEL: 'info', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  let buffered = '';
  let onLine: ((line: Record<string, unknown>) => void) | undefined;
  proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    let nl = buffered.indexOf('\n');
    while (nl >= 0) {
      const text = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        line = { raw: text };
      }
      logs.push(line);
      onLine?.(line);
      nl = buffered.indexOf('\n');
    }
  });
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  // 'close', not 'exit': by then the output has been read to its end.
  const exited = once(proc, 'close').then(([code]) => code as number | null);

  // With a fixed port the node is ready when /healthz answers (its logs may be quiet);
  // with PORT=0 the port comes from its "listening" log line.
  const fixedPort = Number(env.PORT ?? 0);
  const port = await new Promise<number>((resolve, reject) => {
    if (fixedPort > 0) {
      const deadline = Date.now() + timeoutMs;
      const poll = async () => {
        if (proc.exitCode !== null) return;
        try {
          if ((await fetch(`http://127.0.0.1:${fixedPort}/healthz`)).ok) return resolve(fixedPort);
        } catch {
          // not listening yet
        }
        if (Date.now() > deadline) {
          proc.kill('SIGKILL');
          return reject(new Error(`node did not start in ${timeoutMs} ms: ${stderr}`));
        }
        setTimeout(poll, 50);
      };
      void poll();
      exited.then((code) =>
        reject(new Error(`node exited with ${code} before listening: ${stderr}`)),
      );
      return;
    }
    const timer = setTimeout(() => {
      // Never leave a half-started node behind.
      proc.kill('SIGKILL');
      reject(new Error(`node did not start in ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    const check = (line: Record<string, unknown>) => {
      if (typeof line.port === 'number' && String(line.msg).startsWith('listening')) {
        clearTimeout(timer);
        resolve(line.port);
      }
    };
    for (const line of logs) check(line);
    onLine = check;
    exited.then((code) => {
      clearTimeout(timer);
      reject(
        new Error(`node exited with ${code} before listening: ${stderr}${JSON.stringify(logs)}`),
      );
    });
  });
  onLine = undefined;

  return {
    proc,
    port,
    url: `http://127.0.0.1:${port}`,
    logs,
    stderr: () => stderr,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/**
 * Runs the entrypoint (or another script of the project) to its end; resolves with its
 * exit code and its output, stdout and stderr together.
 */
export async function runNodeToExit(
  env: Record<string, string>,
  script = 'main.ts',
): Promise<{ code: number | null; output: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...baseTestEnv(), PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  proc.stdout!.setEncoding('utf8').on('data', (c: string) => {
    output += c;
  });
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => {
    output += c;
  });
  const [code] = await once(proc, 'close');
  return { code: code as number | null, output };
}

/**
 * What a test file that starts real entrypoints needs around them: a Redis prefix and
 * a DATA_DIR of its own, the nodes it started and the databases it made, all removed
 * after the file's last test (nodes killed first, so nothing writes while it goes).
 */
export function useNodeScratch(name: string): {
  redisPrefix: string;
  dataDir: string;
  /** Every node started here; killed after the last test. */
  nodes: NodeProcess[];
  /** A fresh test database of this file, dropped after the last test. */
  database(): Promise<{ name: string; url: string }>;
} {
  const redisPrefix = `test:${inject('runId')}:${name}:`;
  const dataDir = mkdtempSync(path.join(tmpdir(), `unimal-${name}-`));
  const nodes: NodeProcess[] = [];
  const dropped: Array<() => Promise<void>> = [];
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
    await Promise.all(dropped.map((d) => d()));
    await deleteRedisPrefix(redisPrefix);
    rmSync(dataDir, { recursive: true, force: true });
  });
  return {
    redisPrefix,
    dataDir,
    nodes,
    async database() {
      const db = await createTestDatabase(name);
      dropped.push(db.drop);
      return db;
    },
  };
}
