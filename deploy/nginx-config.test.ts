import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { COMPOSE_NGINX, COMPOSE_NGINX_CONF, renderNginxConfig } from './nginx-config.ts';

const scratch = mkdtempSync(path.join(tmpdir(), 'unimal-nginx-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/**
 * `nginx -t` with a prefix of its own (the config's relative paths land there). Its output
 * goes to a file: the compose config logs to /dev/stderr, which cannot be opened on the
 * socket pair Node gives a child for a pipe (ENXIO), as it can on a container's pipe.
 */
async function nginxTest(file: string): Promise<{ code: number | null; output: string }> {
  const prefix = mkdtempSync(path.join(scratch, 'prefix-'));
  const outFile = path.join(prefix, 'output');
  const fd = openSync(outFile, 'w');
  try {
    const proc = spawn('nginx', ['-t', '-p', prefix, '-c', file, '-e', 'stderr'], {
      stdio: ['ignore', fd, fd],
    });
    const [code] = await once(proc, 'close');
    return { code: code as number | null, output: readFileSync(outFile, 'utf8') };
  } finally {
    closeSync(fd);
  }
}

const LOCAL = {
  servers: ['127.0.0.1:18081', '127.0.0.1:18082'],
  gateways: ['127.0.0.1:18083', '127.0.0.1:18084', '127.0.0.1:18085'],
  listen: '127.0.0.1:18080',
  errorLog: 'stderr',
  accessLog: 'access.log',
};

describe('the edge configuration', () => {
  it('deploy/nginx.conf (compose) is the template rendered with the compose addresses', () => {
    expect(readFileSync(COMPOSE_NGINX_CONF, 'utf8')).toBe(renderNginxConfig(COMPOSE_NGINX));
  });

  it('both renders pass `nginx -t` on the machine nginx (1.22: no `resolve`)', async () => {
    const compose = await nginxTest(fileURLToPath(COMPOSE_NGINX_CONF));
    expect(compose.output).toContain('test is successful');
    expect(compose.code).toBe(0);
    const local = path.join(scratch, 'local.conf');
    writeFileSync(local, renderNginxConfig(LOCAL));
    const checked = await nginxTest(local);
    expect(checked.output).toContain('test is successful');
    expect(checked.code).toBe(0);
  });

  it('differ only in node addresses, port and log targets', () => {
    const compose = renderNginxConfig(COMPOSE_NGINX).split('\n');
    const local = renderNginxConfig({ ...LOCAL, gateways: LOCAL.gateways.slice(0, 2) }).split('\n');
    expect(local).toHaveLength(compose.length);
    const differing = compose
      .map((line, i) => [line.trim(), local[i]!.trim()] as const)
      .filter(([a, b]) => a !== b)
      .map(([a]) => a.split(/\s+/)[0]);
    expect(new Set(differing)).toEqual(new Set(['server', 'listen', 'error_log', 'access_log']));
  });

  it('repeats a node line per node and keeps its parameters', () => {
    const text = renderNginxConfig(LOCAL);
    expect(text.match(/server 127\.0\.0\.1:1808[345] max_fails=0;/g)).toHaveLength(3);
    expect(text.match(/server 127\.0\.0\.1:1808[12] max_fails=1 fail_timeout=2s;/g)).toHaveLength(
      2,
    );
    // The websocket failover settings: never mark a gateway down, spread by count.
    expect(text).toMatch(/upstream unimal_gateway \{[^}]*least_conn;[^}]*max_fails=0;/);
  });

  it('refuses what would break the config or a node list left empty', () => {
    expect(() => renderNginxConfig({ ...LOCAL, gateways: [] })).toThrow(/at least one gateways/);
    expect(() => renderNginxConfig({ ...LOCAL, servers: ['127.0.0.1:1; evil'] })).toThrow(
      /not host:port/,
    );
    expect(() => renderNginxConfig({ ...LOCAL, accessLog: 'x; include /etc/passwd' })).toThrow(
      /not usable/,
    );
    expect(() => renderNginxConfig(LOCAL, 'listen {{port}};')).toThrow(/unknown \{\{port\}\}/);
    expect(() => renderNginxConfig(LOCAL, '{{server}} {{gateway}}')).toThrow(/one list per line/);
  });
});
