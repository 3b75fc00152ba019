import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { spawnNode, useNodeScratch } from './helpers/process.ts';

// A client's broken framing or a client that goes away mid-body is the client's fault:
// never an error-level log line, never a 5xx in /metrics. Over a raw socket, against the
// real entrypoint, so the logs are the ones an operator would read.
const { redisPrefix, dataDir, nodes, database } = useNodeScratch('framing');

/** Writes `chunks` on a raw TCP socket, then reads until the server closes (or `ms` pass). */
function rawExchange(port: number, chunks: string[], opts: { end?: boolean; ms?: number } = {}) {
  return new Promise<string>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    const done = () => {
      socket.destroy();
      resolve(received);
    };
    const timer = setTimeout(done, opts.ms ?? 2_000);
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      received += d;
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.on('connect', async () => {
      for (const chunk of chunks) {
        socket.write(chunk);
        await new Promise((r) => setTimeout(r, 50));
      }
      if (opts.end) socket.destroy();
    });
  });
}

const head = (port: number) =>
  'POST /api/v1/auth/login HTTP/1.1\r\n' +
  `Host: 127.0.0.1:${port}\r\n` +
  'Content-Type: application/json\r\n' +
  'Transfer-Encoding: chunked\r\n\r\n';

/** Requests counted in /metrics whose labels match `labels`. */
async function requestCount(url: string, labels: RegExp): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('http_request_duration_seconds_count') && labels.test(l))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

describe('broken client framing', { timeout: 60_000 }, () => {
  it('a malformed chunk size or an aborted body is no server error: no 5xx metric, no error log', async () => {
    const db = await database();
    const node = await spawnNode({
      DATABASE_URL: db.url,
      REDIS_PREFIX: redisPrefix,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
    });
    nodes.push(node);

    // A chunk-size line that is not hex.
    const malformed = await rawExchange(node.port, [
      head(node.port),
      'zz\r\n{"email":1}\r\n0\r\n\r\n',
    ]);
    expect(malformed).toMatch(/^HTTP\/1\.1 400 /);
    expect(malformed).toContain('"code":"validation_failed"');
    // A client that goes away halfway through a chunked body.
    await rawExchange(node.port, [head(node.port), '40\r\n{"email":"a@b.co",'], { end: true });
    // And one with a declared length it never sends.
    await rawExchange(
      node.port,
      [
        'POST /api/v1/auth/login HTTP/1.1\r\n' +
          `Host: 127.0.0.1:${node.port}\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"em`,
      ],
      { end: true },
    );
    // All three reach the app and end as 400s; wait until they are counted.
    await expect.poll(() => requestCount(node.url, /status="400"/), { timeout: 10_000 }).toBe(3);

    // The node still serves, and counted nothing as a server error.
    expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
    expect(await requestCount(node.url, /status="5\d\d"/)).toBe(0);
    // pino levels: 50 error, 60 fatal.
    expect(node.logs.filter((l) => typeof l.level === 'number' && l.level >= 50)).toEqual([]);
    expect(node.stderr()).toBe('');
  });
});
