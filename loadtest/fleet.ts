// The benchmark's side of socket-fleet.ts: spawns the process and sends it commands.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface ConnectResult {
  connected: number;
  failed: number;
  errors: Record<string, number>;
  times: number[];
  seconds: number;
}

export interface FleetReport {
  received: number;
  duplicates: number;
  /** Per delivery key (post id), the wall-clock time of each socket's arrival. */
  arrivals: Record<string, number[]>;
}

/** A process holding sockets (see socket-fleet.ts). */
export function startFleet() {
  const proc = spawn(
    process.execPath,
    [
      '--max-old-space-size=4096',
      '--import',
      'tsx',
      fileURLToPath(new URL('./socket-fleet.ts', import.meta.url)),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const answers: Array<(line: string) => void> = [];
  createInterface({ input: proc.stdout! }).on('line', (line) => answers.shift()?.(line));
  const send = <T>(command: unknown) =>
    new Promise<T>((resolve, reject) => {
      answers.push((line) => resolve(JSON.parse(line) as T));
      proc.stdin!.write(`${JSON.stringify(command)}\n`, (err) => err && reject(err));
    });
  return {
    connect: (targets: Array<{ url: string; token: string }>, concurrency: number) =>
      send<ConnectResult>({ cmd: 'connect', targets, concurrency }),
    /** Resolves once `total` deliveries arrived since the last reset, or after the timeout. */
    expect: (total: number, timeoutMs: number) =>
      send<{ received: number; duplicates: number }>({ cmd: 'expect', total, timeoutMs }),
    report: () => send<FleetReport>({ cmd: 'report' }),
    reset: () => send<{ ok: true }>({ cmd: 'reset' }),
    async close() {
      if (proc.exitCode !== null) return;
      const closed = new Promise((resolve) => proc.once('close', resolve));
      proc.stdin!.write(`${JSON.stringify({ cmd: 'close' })}\n`);
      await closed;
    },
  };
}

export type Fleet = ReturnType<typeof startFleet>;
