import { once } from 'node:events';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { useInProcessNodes } from './helpers/realtime.ts';

// What a reverse proxy sees of a node that begins to stop: its pooled keep-alive
// connection must not be closed under a request it is sending at that very moment.
const cluster = useInProcessNodes();

/** One raw keep-alive connection, and the responses read from it as text. */
async function keepAliveConnection(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let buffered = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
  });
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return {
    socket,
    ended,
    async request(path: string): Promise<string> {
      const from = buffered.length;
      socket.write(`GET ${path} HTTP/1.1\r\nHost: edge\r\n\r\n`);
      // A response is whole once its declared body has arrived.
      for (;;) {
        const text = buffered.slice(from);
        const head = text.indexOf('\r\n\r\n');
        const length = /content-length: (\d+)/i.exec(text)?.[1];
        if (head >= 0 && length && Buffer.byteLength(text.slice(head + 4)) >= Number(length)) {
          return text;
        }
        await Promise.race([
          once(socket, 'data'),
          ended.then(() =>
            Promise.reject(new Error(`connection closed; got: ${JSON.stringify(text)}`)),
          ),
        ]);
      }
    },
  };
}

describe('a node that begins to stop', () => {
  it('answers a request that arrives on an idle keep-alive connection, and closes the connection with it', async () => {
    const node = await cluster.start('server', { SHUTDOWN_IDLE_WAIT: '3s' });
    const conn = await keepAliveConnection(node.port);
    expect(await conn.request('/healthz')).toMatch(/^HTTP\/1\.1 200/);

    // The connection is idle; the node is told to stop, and the proxy's next request is
    // already on its way on that connection.
    const stopped = node.stop();
    const answer = await conn.request('/healthz');
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    expect(answer).toMatch(/\r\nconnection: close\r\n/i);
    await conn.ended;
    await stopped;
  });

  it('closes connections left idle after SHUTDOWN_IDLE_WAIT, without waiting for SHUTDOWN_TIMEOUT', async () => {
    const node = await cluster.start('server', {
      SHUTDOWN_IDLE_WAIT: '300ms',
      SHUTDOWN_TIMEOUT: '30s',
    });
    const conn = await keepAliveConnection(node.port);
    expect(await conn.request('/healthz')).toMatch(/^HTTP\/1\.1 200/);
    const started = performance.now();
    await node.stop();
    await conn.ended;
    // Well before the 30 s timeout: the idle connection was closed once the wait was over.
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});
