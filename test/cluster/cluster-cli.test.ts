import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { connectUnimal } from '../../client/socket-client.ts';
import { createTestDatabase, deleteRedisPrefix } from '../helpers/context.ts';
import { baseTestEnv } from '../helpers/env.ts';
import { httpApi } from '../helpers/http.ts';
import { freePorts } from '../helpers/services.ts';

// `npm run cluster` as a newcomer runs it: the whole topology behind nginx, then stopped.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('npm run cluster', () => {
  it('starts nginx and two nodes of each role, serves the whole API and sockets through the edge, and stops everything on SIGTERM', async () => {
    const db = await createTestDatabase('cli');
    cleanups.push(db.drop);
    const dir = mkdtempSync(path.join(tmpdir(), 'unimal-cli-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const prefix = `test:${inject('runId')}:cli:`;
    cleanups.push(() => deleteRedisPrefix(prefix));
    const [edgePort] = await freePorts(7);
    const logs = path.join(dir, 'logs');

    // Through npm, as the README says; the embedded store, as on a fresh machine.
    const npm = spawn('npm', ['run', '-s', 'cluster', '--', `--logs=${logs}`], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? dir,
        ...baseTestEnv(),
        LOG_LEVEL: 'info',
        DATABASE_URL: db.url,
        REDIS_PREFIX: prefix,
        DATA_DIR: path.join(dir, 'data'),
        CLUSTER_PORT: String(edgePort),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanups.push(() => {
      npm.kill('SIGKILL');
    });
    let out = '';
    npm.stdout!.setEncoding('utf8').on('data', (c: string) => {
      out += c;
    });
    npm.stderr!.setEncoding('utf8').on('data', (c: string) => {
      out += c;
    });
    const exited = once(npm, 'close');
    await expect
      .poll(() => out.includes('edge: http://localhost:') || npm.exitCode !== null, {
        timeout: 90_000,
        interval: 100,
      })
      .toBe(true);
    expect(out).toContain(`edge: http://localhost:${edgePort}`);
    const pids = [...out.matchAll(/\(pid (\d+)\)/g)].map((m) => Number(m[1]));
    expect(pids).toHaveLength(6);
    for (const name of [
      'server-1',
      'server-2',
      'gateway-1',
      'gateway-2',
      'workers-1',
      'workers-2',
    ]) {
      expect(out).toContain(name);
    }

    const edge = `http://127.0.0.1:${edgePort}`;
    // The curl tour, both photo uploads included (presigned ones through /storage).
    const { stderr } = await promisify(execFile)('bash', ['docs/tour.sh'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', API: `${edge}/api/v1` },
      timeout: 60_000,
    }).catch((err: { stdout: string; stderr: string }) => {
      throw new Error(`tour.sh through the edge failed:\n${err.stderr}\n${err.stdout}`);
    });
    expect(stderr).toContain('tour: every step answered as documented');
    // A socket through the edge hears a post.
    const api = httpApi(edge);
    const [author, fan] = [await api.signup(), await api.signup()];
    await api.follow(fan, author);
    const heard: string[] = [];
    const client = connectUnimal({
      url: edge,
      getToken: () => fan.accessToken,
      onNotification: (n) => {
        if (n.postId) heard.push(n.postId);
      },
    });
    cleanups.push(() => client.close());
    await client.ready;
    const post = await api.post(author);
    await expect.poll(() => heard, { timeout: 15_000 }).toContain(post.id);
    client.close();
    // Each node's log went to a file of its own (nginx's errors too, should it have any;
    // its access log is in the cluster folder).
    const files = readdirSync(logs);
    for (const n of ['gateway-1', 'gateway-2', 'server-1', 'server-2', 'workers-1', 'workers-2']) {
      expect(files).toContain(`${n}.log`);
    }
    expect(readFileSync(path.join(dir, 'data', 'cluster', 'access.log'), 'utf8')).toMatch(
      /"POST \/api\/v1\/posts HTTP\/1\.1" 201/,
    );
    expect(readFileSync(path.join(logs, 'server-1.log'), 'utf8')).toMatch(/"msg":"listening on/);

    // SIGTERM to npm (which does not pass it on to the script): everything stops.
    const nginxPid = Number(readFileSync(path.join(dir, 'data', 'cluster', 'nginx.pid'), 'utf8'));
    npm.kill('SIGTERM');
    await expect
      .poll(() => [...pids, nginxPid].filter(alive).length, { timeout: 40_000, interval: 100 })
      .toBe(0);
    await exited;
    expect(out).toContain('cluster   | stopped');
    expect(existsSync(path.join(dir, 'data', 'cluster', 'nginx.pid'))).toBe(false);
  });
});
