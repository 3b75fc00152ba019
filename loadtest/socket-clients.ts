// A process of sockets for bench-sockets.ts, so that the clients' own memory and CPU stay
// out of the node being measured. Reads one JSON line on stdin, { url, tokens,
// concurrency }, connects every token (websocket, `concurrency` handshakes in flight),
// prints one JSON line with each connect's time, then holds the sockets open until its
// stdin closes.
import { createInterface } from 'node:readline';
import { io, type Socket } from 'socket.io-client';

const lines = createInterface({ input: process.stdin });
const first = await new Promise<string>((resolve) => lines.once('line', resolve));
const { url, tokens, concurrency } = JSON.parse(first) as {
  url: string;
  tokens: string[];
  concurrency: number;
};

const sockets: Socket[] = [];
const times: number[] = [];
let failed = 0;
let next = 0;
const started = performance.now();
const connectOne = (token: string) =>
  new Promise<void>((resolve) => {
    const t0 = performance.now();
    const socket = io(url, {
      transports: ['websocket'],
      auth: { token },
      reconnection: false,
      timeout: 30_000,
    });
    sockets.push(socket);
    socket.once('connect', () => {
      times.push(performance.now() - t0);
      resolve();
    });
    socket.once('connect_error', () => {
      failed += 1;
      resolve();
    });
  });
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < tokens.length) await connectOne(tokens[next++]!);
  }),
);
const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({ times, failed, seconds }));
lines.on('close', () => {
  for (const s of sockets) s.close();
  process.exit(0);
});
