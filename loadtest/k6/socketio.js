// Socket.IO (Engine.IO v4) spoken over k6's websocket module: enough of the protocol for
// a client of the Unimal gateway — connect with a token, answer pings, receive events,
// emit with acknowledgements. Packet format: https://socket.io/docs/v4/socket-io-protocol/
import ws from 'k6/ws';

/**
 * @typedef {{ code: string, message: string }} AckError
 * @typedef {{
 *   emit: (event: string, payload: unknown, ack?: (res: unknown) => void) => void,
 *   close: () => void,
 *   setTimeout: (fn: () => void, ms: number) => void,
 * }} SioClient
 * @typedef {{
 *   onConnect?: (client: SioClient) => void,
 *   onConnectError?: (message: string) => void,
 *   onEvent?: (event: string, payload: unknown, client: SioClient) => void,
 *   onClose?: () => void,
 * }} SioHandlers
 */

/**
 * Opens a Socket.IO connection to `baseUrl` (http://host:port) with `auth: { token }`.
 * Blocks the VU until the connection closes, as k6/ws does.
 * @param {string} baseUrl
 * @param {string} token
 * @param {SioHandlers} handlers
 */
export function connectSocketIO(baseUrl, token, handlers) {
  const url = `${baseUrl.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`;
  /** @type {Map<number, (res: unknown) => void>} */
  const acks = new Map();
  let nextAck = 1;
  return ws.connect(url, null, (socket) => {
    /** @type {SioClient} */
    const client = {
      emit(event, payload, ack) {
        if (ack) {
          const id = nextAck++;
          acks.set(id, ack);
          socket.send(`42${id}${JSON.stringify([event, payload])}`);
        } else {
          socket.send(`42${JSON.stringify([event, payload])}`);
        }
      },
      close() {
        socket.close();
      },
      setTimeout(fn, ms) {
        socket.setTimeout(fn, ms);
      },
    };
    socket.on('message', (data) => {
      const text = String(data);
      const type = text[0];
      if (type === '0') {
        // Engine.IO open: join the default namespace with the token.
        socket.send(`40${JSON.stringify({ token })}`);
      } else if (type === '2') {
        socket.send('3'); // pong
      } else if (type === '4') {
        handleSocketIO(text.slice(1));
      }
    });
    socket.on('close', () => handlers.onClose && handlers.onClose());

    /** @param {string} packet */
    function handleSocketIO(packet) {
      const kind = packet[0];
      const body = packet.slice(1);
      if (kind === '0') {
        if (handlers.onConnect) handlers.onConnect(client);
      } else if (kind === '4') {
        const message = /** @type {{ message?: string }} */ (JSON.parse(body)).message;
        if (handlers.onConnectError) handlers.onConnectError(message || 'connect_error');
        socket.close();
      } else if (kind === '2') {
        const [event, payload] = JSON.parse(body.replace(/^\d+/, ''));
        if (handlers.onEvent) handlers.onEvent(event, payload, client);
      } else if (kind === '3') {
        const m = /^(\d+)(.*)$/.exec(body);
        if (!m) return;
        const ack = acks.get(Number(m[1]));
        acks.delete(Number(m[1]));
        if (ack) ack(JSON.parse(m[2] || '[]')[0]);
      } else if (kind === '1') {
        socket.close(); // the server closed the session
      }
    }
  });
}
