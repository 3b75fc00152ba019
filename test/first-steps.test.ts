import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { io } from 'socket.io-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { type NodeProcess, runNodeToExit, spawnNode, useNodeScratch } from './helpers/process.ts';

// What a newcomer meets in their first minutes, against the real entrypoint: the root URL,
// the README's curl tour, a plain socket.io client, Ctrl-C under `npm run dev`, and a
// PostgreSQL that is not there.
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const { redisPrefix, dataDir, nodes, database } = useNodeScratch('first');
let env: Record<string, string>;
let node: NodeProcess;

beforeAll(async () => {
  const db = await database();
  // Every role and the embedded S3 store, as `npm start` runs them.
  env = { DATABASE_URL: db.url, REDIS_PREFIX: redisPrefix, DATA_DIR: dataDir, HOST: '127.0.0.1' };
  node = await spawnNode(env);
  nodes.push(node);
});

describe('first steps', { timeout: 120_000 }, () => {
  it('GET / points to the map and to the HTTP and realtime references, which answer', async () => {
    const links = {
      map: '/map',
      docs: '/api/v1/docs',
      openapi: '/api/v1/openapi.json',
      realtime: '/api/v1/docs#realtime',
      asyncapi: '/api/v1/asyncapi.json',
    };
    const json = await fetch(`${node.url}/`);
    expect(json.status).toBe(200);
    expect(await json.json()).toMatchObject({ links });
    const page = await fetch(`${node.url}/`, { headers: { accept: 'text/html,*/*;q=0.8' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    for (const href of Object.values(links)) {
      expect(html).toContain(`href="${href}"`);
      expect((await fetch(`${node.url}${href}`)).status, href).toBe(200);
    }
    const realtime = await (await fetch(`${node.url}/api/v1/docs`)).text();
    expect(realtime).toContain('id="realtime"');
  });

  it("the README's tour (docs/tour.sh) runs through with every status as documented", async () => {
    const run = promisify(execFile);
    const { stderr } = await run('bash', ['docs/tour.sh'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', API: `${node.url}/api/v1` },
      timeout: 60_000,
    }).catch((err: { stdout: string; stderr: string }) => {
      throw new Error(`tour.sh failed:\n${err.stderr}\n${err.stdout}`);
    });
    expect(stderr).toContain('tour: every step answered as documented');

    // And the README's by-hand excerpt of it, as printed there.
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Quick tour with curl'));
    const block = /```sh\n(API=[^\n]*\n[\s\S]*?)```/.exec(
      section.slice(0, section.indexOf('\n## ', 3)),
    )?.[1];
    expect(block).toBeDefined();
    const cwd = mkdtempSync(path.join(tmpdir(), 'unimal-readme-tour-'));
    try {
      const script = block!.replace(/^API=.*$/m, `API=${node.url}/api/v1`);
      const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', script], {
        cwd,
        env: { PATH: process.env.PATH ?? '' },
        timeout: 30_000,
      });
      expect(stdout).toContain('"handle":"ada_lovelace"');
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('a polling request, and a plain io(url) without transports, are told to use websocket', async () => {
    const polling = await fetch(`${node.url}/socket.io/?EIO=4&transport=polling`);
    expect(polling.status).toBe(400);
    expect(await polling.json()).toEqual({
      code: 0,
      message:
        "this server accepts websocket transport only: connect with io(url, { transports: ['websocket'] })",
    });

    const socket = io(node.url, { reconnection: false, auth: { token: 'whatever' } });
    try {
      type PollError = Error & { description?: unknown; context?: { responseText?: string } };
      const { err, body } = await new Promise<{ err: PollError; body: string | undefined }>(
        (resolve, reject) => {
          // Read the body at once: the client aborts its XHR right after this event.
          socket.on('connect_error', (e: PollError) =>
            resolve({ err: e, body: e.context?.responseText }),
          );
          socket.on('connect', () => reject(new Error('connected over polling')));
        },
      );
      expect(err.message).toBe('xhr poll error');
      expect(err.description).toBe(400);
      expect(body).toContain("connect with io(url, { transports: ['websocket'] })");
    } finally {
      socket.close();
    }
  });

  it('Ctrl-C under node --watch (SIGINT and SIGTERM at once) still shuts down gracefully', async () => {
    const dev = await spawnNode(env);
    nodes.push(dev);
    expect((await fetch(`${dev.url}/healthz`)).status).toBe(200);
    dev.proc.kill('SIGINT');
    dev.proc.kill('SIGTERM');
    expect(await dev.stop()).toBe(0);
    expect(dev.logs.some((l) => l.msg === 'second signal: exiting now')).toBe(false);
    expect(dev.logs.some((l) => l.msg === 'stopped')).toBe(true);
  });

  it('PostgreSQL retry messages name host, port and database, never the password', async () => {
    // Port 1 (tcpmux): below the ephemeral range, so no other connection of a busy
    // machine can hold it, and nothing here listens on it.
    const closed = 1;
    const started = Date.now();
    const { code, output } = await runNodeToExit({
      LOG_LEVEL: 'info',
      DATABASE_URL: `postgres://ada:s3cret-pw@127.0.0.1:${closed}/unimal_nowhere`,
      DATABASE_CREATE: 'true',
      DATABASE_CONNECT_TIMEOUT: '1500ms',
      DATA_DIR: dataDir,
    });
    expect(code).toBe(1);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(output).toContain(`PostgreSQL at 127.0.0.1:${closed}/unimal_nowhere not reachable yet`);
    expect(output).toContain('DATABASE_CONNECT_TIMEOUT');
    expect(output).not.toContain('s3cret-pw');
  });
});
