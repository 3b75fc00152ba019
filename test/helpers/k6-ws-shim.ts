// Stands in for k6's `k6/ws` module (no k6 binary runs here) so that the k6 scripts'
// Socket.IO client can be exercised against a real gateway. It mirrors the parts of the
// k6 API that loadtest/k6/socketio.js uses: connect(url, params, fn(socket)), socket.on,
// send, close, setTimeout. Unlike k6, connect resolves when the socket closes.
import WebSocket from 'ws';

type Handler = (data?: unknown) => void;

function connect(
  url: string,
  _params: unknown,
  callback: (socket: unknown) => void,
): Promise<void> {
  const ws = new WebSocket(url);
  const handlers: Record<string, Handler> = {};
  const timers: NodeJS.Timeout[] = [];
  callback({
    on(event: string, fn: Handler) {
      handlers[event] = fn;
    },
    send(data: string) {
      ws.send(data);
    },
    close() {
      ws.close();
    },
    setTimeout(fn: () => void, ms: number) {
      timers.push(setTimeout(fn, ms));
    },
  });
  ws.on('open', () => handlers.open?.());
  ws.on('message', (data) => handlers.message?.(data.toString()));
  return new Promise((resolve) => {
    ws.on('close', () => {
      for (const t of timers) clearTimeout(t);
      handlers.close?.();
      resolve();
    });
    ws.on('error', () => ws.close());
  });
}

export default { connect };
