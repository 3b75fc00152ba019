/**
 * The realtime section of the reference page (/api/v1/docs#realtime): how a client
 * connects, renews its token and catches up, a client to copy, and the list of events,
 * which docs-realtime.js renders in the browser from /api/v1/asyncapi.json.
 */

/**
 * A whole client of the realtime API, runnable as it stands (`node client.mjs` with
 * socket.io-client installed) once its first three lines name a server and an account.
 * test: core/http/asyncapi.test.ts runs it against a real node.
 */
export const CLIENT_EXAMPLE = `import { io } from 'socket.io-client';

const API = 'http://localhost:3000';
const EMAIL = 'ada@example.com';
const PASSWORD = 'correct horse battery staple';

let tokens = await post('/api/v1/auth/login', { email: EMAIL, password: PASSWORD });
let lastSeenId; // the newest notification held: keep it across restarts
const seen = new Set();

const socket = io(API, {
  path: '/socket.io',
  transports: ['websocket'], // the gateway speaks websocket only
  auth: (cb) => cb({ token: tokens.accessToken }), // read at every (re)connect
});

// After every connect and reconnect: what was missed, then the map view again.
socket.on('connect', async () => {
  try {
    await sync();
    const sub = await socket
      .timeout(10_000)
      .emitWithAck('map:subscribe', { bbox: [-9.25, 38.68, -9.05, 38.8], zoom: 12 });
    if (sub.error) throw new Error(\`map:subscribe: \${sub.error.code}\`);
    console.log(\`watching \${sub.data.cells.length} cells\`);
  } catch (err) {
    console.error(err.message); // rate_limited or unavailable: try again later
  }
});

async function sync() {
  let after = lastSeenId;
  for (;;) {
    const res = await socket
      .timeout(10_000)
      .emitWithAck('notifications:sync', after ? { after } : {});
    if (res.error) throw new Error(\`notifications:sync: \${res.error.code}\`);
    for (const notification of res.data.items) receive(notification);
    if (!res.data.hasMore || res.data.items.length === 0) return;
    after = res.data.items.at(-1).id;
  }
}

function receive(notification) {
  if (seen.has(notification.id)) return; // pushes and syncs overlap on purpose
  seen.add(notification.id);
  lastSeenId = notification.id;
  console.log(\`notification: \${notification.type} by @\${notification.actor?.handle}\`);
}

socket.on('notification', receive);
socket.on('map:sighting', ({ post }) => console.log(\`sighting: \${post.id}\`));
socket.on('map:retract', ({ postId }) => console.log(\`retracted: \${postId}\`));

// Renew on the open socket when 80% of the access token's life has passed.
let renewal = setTimeout(renew, tokens.expiresIn * 800);
async function renew() {
  try {
    await refresh();
    if (socket.connected) {
      const res = await socket.timeout(10_000).emitWithAck('auth:renew', {
        token: tokens.accessToken,
      });
      if (res.error) throw new Error(\`auth:renew: \${res.error.code}\`);
      console.log(\`renewed until \${res.data.expiresAt}\`);
    }
  } catch (err) {
    console.error(err.message); // if the token runs out, the reconnection below refreshes
  }
  renewal = setTimeout(renew, tokens.expiresIn * 800);
}

// Closed by the server: the token ran out (auth:expiring came first) or the session
// ended. socket.io-client does not reconnect by itself then, nor after a refused handshake.
socket.on('auth:expiring', ({ expiresAt }) => console.log(\`token expired at \${expiresAt}\`));
socket.on('disconnect', (reason) => {
  if (reason === 'io server disconnect') reconnect(true);
});
socket.on('connect_error', (err) => {
  if (socket.active) return; // a lost connection: socket.io-client retries on its own
  reconnect(err.message === 'unauthorized'); // else unavailable: wait, then try again
});

async function reconnect(withFreshToken) {
  try {
    await (withFreshToken ? refresh() : wait(5_000));
    socket.connect();
  } catch (err) {
    if (err.status === 401) return stop(); // the session is over
    await wait(5_000); // the network or the server is down: try again
    reconnect(withFreshToken);
  }
}

// One refresh at a time: a refresh token works once, and presenting a spent one
// ends the session.
let refreshing;
function refresh() {
  refreshing ??= post('/api/v1/auth/refresh', { refreshToken: tokens.refreshToken })
    .then((fresh) => {
      tokens = fresh;
    })
    .finally(() => {
      refreshing = undefined;
    });
  return refreshing;
}

function stop() {
  console.error('the session is over: log in again');
  clearTimeout(renewal);
  socket.close();
}

async function post(path, body) {
  const res = await fetch(API + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) {
    throw Object.assign(new Error(\`\${path}: \${json.error.code}\`), { status: res.status });
  }
  return json;
}

const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
`;

const escapeHtml = (text: string) =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/** The section as the page serves it; the events' list is filled in by docs-realtime.js. */
export const REALTIME_SECTION = `<section id="realtime" class="rt">
  <h2>Realtime API (Socket.IO)</h2>
  <p>Socket.IO 4 on this host, path <code>/socket.io</code>, websocket transport only.
  Every event both ways, its payload, ack and errors are in
  <a href="./asyncapi.json">asyncapi.json</a> (AsyncAPI 3.0), generated from the zod
  schemas the gateway validates with; the list below is rendered from it. It takes a
  client's point of view: <em>send</em> is what a client emits, <em>receive</em> what the
  server pushes. Every ack is <code>{ data }</code> or <code>{ error: { code, message } }</code>.</p>

  <h3 id="realtime-flow">Connect, renew and sync</h3>
  <ol>
    <li><strong>Connect</strong> with the access token of <code>POST /api/v1/auth/login</code>:
    <code>io(origin, { path: '/socket.io', transports: ['websocket'], auth: { token } })</code>.
    A refused token ends in <code>connect_error</code> with the message <code>unauthorized</code>:
    refresh it over HTTP, then connect again. <code>unavailable</code> means the node is shutting
    down or a dependency is down: connect again after a pause. socket.io-client retries neither
    by itself; it does reconnect by itself after a lost connection or <code>server:draining</code>.</li>
    <li><strong>Sync</strong> after every connect and reconnect: <code>notifications:sync
    { after: lastSeenId }</code> with the newest notification id held (nothing the first time),
    again with <code>after</code> = the last item's id while <code>hasMore</code>. Pushes made
    while the socket was away are not replayed; the sync brings them. Drop ids you already
    have: pushes and syncs overlap on purpose.</li>
    <li><strong>Subscribe</strong> to the map again after every reconnect:
    <code>map:subscribe { bbox, zoom }</code>. A subscription belongs to its socket, and a new
    one replaces the last.</li>
    <li><strong>Renew</strong> before the access token runs out (<code>expiresIn</code> seconds
    after login or refresh; <code>auth:renew</code>'s ack says <code>expiresAt</code>): refresh
    over HTTP (<code>POST /api/v1/auth/refresh { refreshToken }</code>, one at a time: a spent
    refresh token ends the session) and send <code>auth:renew { token }</code> on the open
    socket, which keeps its rooms and map subscription. If the token runs out first, the
    server sends <code>auth:expiring</code> and disconnects the socket (reason
    <code>io server disconnect</code>, which socket.io-client does not retry): refresh, connect
    again with the new token, then sync and subscribe as after any reconnect. A logout closes
    the session's sockets the same way; the refresh then fails with 401: log in again.</li>
  </ol>

  <h3 id="realtime-example">A client to copy</h3>
  <p>Node 18 or later (or a bundler) with <code>socket.io-client</code> installed; name your
  server and account in the first lines.</p>
  <pre class="rt-example"><code>${escapeHtml(CLIENT_EXAMPLE)}</code></pre>

  <h3 id="realtime-events">Events</h3>
  <div id="realtime-events-list"><p>Reading <a href="./asyncapi.json">asyncapi.json</a>…</p></div>
</section>`;
