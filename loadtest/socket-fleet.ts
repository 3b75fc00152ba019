// A process of many sockets for the capacity benchmarks, kept out of the nodes being
// measured. It speaks the Socket.IO wire protocol (Engine.IO 4) over plain `ws`: a
// socket.io-client per socket would cost the fleet more CPU than the gateway it loads,
// and on two shared cores that would be measured too.
//
// Commands arrive as JSON lines on stdin; each is answered with one JSON line on stdout:
//   { cmd: 'connect', targets: [{ url, token }], concurrency }
//       → { connected, failed, errors, times, seconds }   (times: each handshake, ms)
//   { cmd: 'expect', total, timeoutMs }
//       → { received, duplicates } once `total` deliveries arrived since the last reset
//   { cmd: 'report' } → { received, duplicates, arrivals: { [key]: wall-clock ms[] } }
//   { cmd: 'reset' } → { ok }        { cmd: 'close' } → closes every socket and exits
// A delivery is a `notification` event; its key is the payload's `postId`, else its `id`.
// A socket that receives one key twice counts a duplicate.
import { createInterface } from 'node:readline';
import WebSocket from 'ws';

interface Target {
  url: string;
  token: string;
}

type Command =
  | { cmd: 'connect'; targets: Target[]; concurrency: number }
  | { cmd: 'expect'; total: number; timeoutMs: number }
  | { cmd: 'report' }
  | { cmd: 'reset' }
  | { cmd: 'close' };

/**
 * Wall-clock milliseconds, comparable across processes on one machine: the system clock
 * read now (see `wall` in bench-throughput.ts for why not `performance.timeOrigin`).
 */
const wallClock = () => Date.now();

const sockets: WebSocket[] = [];
let arrivals = new Map<string, number[]>();
let received = 0;
let duplicates = 0;
let waiter: { total: number; done: () => void } | undefined;

const reply = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);

function onDelivery(seen: Set<string>, frame: string) {
  const at = wallClock();
  // 42["notification",{...}]: an event without an ack id.
  let parsed: unknown;
  try {
    parsed = JSON.parse(frame.slice(2));
  } catch {
    return;
  }
  if (!Array.isArray(parsed) || parsed[0] !== 'notification') return;
  const payload = parsed[1] as { id?: string; postId?: string | null };
  const key = payload.postId ?? payload.id ?? '';
  if (seen.has(key)) {
    duplicates += 1;
    return;
  }
  seen.add(key);
  const times = arrivals.get(key);
  if (times) times.push(at);
  else arrivals.set(key, [at]);
  received += 1;
  if (waiter && received >= waiter.total) waiter.done();
}

/** One socket through the Socket.IO handshake; resolves with null or the refusal. */
function connectOne({ url, token }: Target): Promise<string | null> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`, {
      perMessageDeflate: false,
    });
    const seen = new Set<string>();
    let settled = false;
    const settle = (error: string | null) => {
      if (settled) return;
      settled = true;
      if (error) ws.terminate();
      else sockets.push(ws);
      resolve(error);
    };
    ws.on('message', (data) => {
      const frame = data.toString();
      switch (frame[0]) {
        case '0': // Engine.IO open: join the main namespace with the token
          ws.send(`40${JSON.stringify({ token })}`);
          return;
        case '2': // ping
          ws.send('3');
          return;
        case '4':
          if (frame[1] === '0') settle(null);
          else if (frame[1] === '4') settle(frame.slice(2));
          else if (frame[1] === '2') onDelivery(seen, frame);
          return;
      }
    });
    ws.on('error', (err) => settle(err.message));
    ws.on('close', () => settle('closed'));
  });
}

async function connect(targets: Target[], concurrency: number) {
  const times: number[] = [];
  const errors: Record<string, number> = {};
  let next = 0;
  let failed = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, targets.length) }, async () => {
      while (next < targets.length) {
        const target = targets[next++]!;
        const t0 = performance.now();
        const error = await connectOne(target);
        if (error === null) times.push(performance.now() - t0);
        else {
          failed += 1;
          errors[error] = (errors[error] ?? 0) + 1;
        }
      }
    }),
  );
  return {
    connected: times.length,
    failed,
    errors,
    times,
    seconds: (performance.now() - started) / 1000,
  };
}

for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line) as Command;
  switch (command.cmd) {
    case 'connect':
      reply(await connect(command.targets, command.concurrency));
      break;
    case 'expect': {
      if (received < command.total) {
        await new Promise<void>((done) => {
          const timer = setTimeout(done, command.timeoutMs);
          waiter = {
            total: command.total,
            done: () => {
              clearTimeout(timer);
              done();
            },
          };
        });
        waiter = undefined;
      }
      reply({ received, duplicates });
      break;
    }
    case 'report':
      reply({ received, duplicates, arrivals: Object.fromEntries(arrivals) });
      break;
    case 'reset':
      arrivals = new Map();
      received = 0;
      duplicates = 0;
      reply({ ok: true });
      break;
    case 'close':
      for (const ws of sockets) ws.terminate();
      process.exit(0);
  }
}
