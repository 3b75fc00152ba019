// The live animal map, in the browser. Bundled by esbuild from this file (see routes.ts);
// it shares the contract module and the client helper with the server and the tests.
import { cellToBoundary } from 'h3-js';
import L from 'leaflet';
import type { MapCellCount, MapRetraction, MapSighting } from '../../contract/index.ts';
import { connectUnimal, type UnimalClient } from '../socket-client.ts';
import { createSession, SessionEnded, type TokenPair } from './session.ts';

declare global {
  interface Window {
    UNIMAL_MAP: { tileUrl: string; attribution: string };
  }
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = (text: string) => {
  $('status').textContent = text;
};

// The token pair lives in sessionStorage (this tab only); see session.ts.
const session = createSession({
  storage: sessionStorage,
  fetch: (url, init) => fetch(url, init),
});

async function signIn(email: string, password: string): Promise<void> {
  const res = await fetch('/api/v1/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  const body = (await res.json().catch(() => ({}))) as Partial<TokenPair> & {
    error?: { message: string };
  };
  if (!res.ok || !body.accessToken || !body.refreshToken) {
    throw new Error(body.error?.message ?? `sign-in failed (${res.status})`);
  }
  session.save({ accessToken: body.accessToken, refreshToken: body.refreshToken });
}

/** The running map, while signed in. */
let running: { stop(): void } | undefined;

/** Back to the sign-in form, on top, with the reason: the map and its socket are gone. */
function showSignIn(message = '') {
  running?.stop();
  running = undefined;
  $('map').hidden = true;
  $('signin').hidden = false;
  $('signin-message').textContent = message;
  $<HTMLFormElement>('signin').querySelector<HTMLInputElement>('input[name=password]')!.value = '';
  $('summary').textContent = '';
  status('signed out');
  $<HTMLInputElement>('signin-email').focus();
}

const SESSION_ENDED = 'Your session has ended. Please sign in again.';

function start() {
  running?.stop();
  $('signin').hidden = true;
  $('signin-message').textContent = '';
  $('map').hidden = false;
  status('connecting…');
  const map = L.map('map', { worldCopyJump: true }).setView([38.72, -9.14], 12);
  const { tileUrl, attribution } = window.UNIMAL_MAP;
  // Background tiles are optional: the cells and sightings draw on a plain map without them.
  if (tileUrl) L.tileLayer(tileUrl, { attribution, maxZoom: 19 }).addTo(map);

  const cellLayer = L.layerGroup().addTo(map);
  const sightingLayer = L.layerGroup().addTo(map);
  const markers = new Map<string, L.Layer>();
  let counts = new Map<string, MapCellCount>();
  let resolution = 0;

  const drawCells = () => {
    cellLayer.clearLayers();
    const max = Math.max(1, ...[...counts.values()].map((c) => c.count));
    for (const c of counts.values()) {
      const shape = L.polygon(cellToBoundary(c.cell) as L.LatLngExpression[], {
        weight: 1,
        color: '#b45309',
        fillColor: '#f59e0b',
        fillOpacity: 0.15 + 0.5 * (c.count / max),
      });
      shape.bindTooltip(`${c.count} sighting${c.count === 1 ? '' : 's'}`);
      shape.addTo(cellLayer);
    }
    $('summary').textContent = `${counts.size} cells · r${resolution}`;
  };

  let stopped = false;
  /** The session is over: back to the sign-in form (once). */
  const ended = () => {
    if (!stopped) showSignIn(SESSION_ENDED);
  };
  /** The token the socket was last admitted or renewed with. */
  let socketToken: string | null = null;

  // Called before every (re)connection: refreshes first when the access token is (nearly)
  // out or was refused. Null (stay offline) once the session is over; a passing failure
  // (network down) rejects, and the client tries again later.
  const getToken = async (): Promise<string | null> => {
    if (stopped) return null;
    try {
      socketToken = await session.validToken();
      return socketToken;
    } catch (err) {
      if (err instanceof SessionEnded) {
        ended();
        return null;
      }
      throw err;
    }
  };

  const client: UnimalClient = connectUnimal({ url: location.origin, getToken });
  // A refused first handshake also lands in connect_error, handled below.
  client.ready.catch(() => {});

  // Renew before the access token runs out: refresh, then hand the new token to the open
  // socket (auth:renew), so the gateway keeps it instead of closing it at expiry.
  let renewTimer: ReturnType<typeof setTimeout> | undefined;
  let renewFailures = 0;
  const scheduleRenewal = (delay = session.renewIn()) => {
    clearTimeout(renewTimer);
    if (!stopped) renewTimer = setTimeout(() => void renew(), delay);
  };
  const renew = async () => {
    try {
      const token = await session.validToken();
      if (stopped) return;
      if (client.socket.connected && token !== socketToken) {
        const res = await client.emitWithAck('auth:renew', { token }, 5_000);
        if ('error' in res) {
          // Refused (the session may have just ended): the next round refreshes and finds out.
          if (res.error.code === 'unauthorized') session.invalidate();
          throw new Error(res.error.message);
        }
        socketToken = token;
      }
      renewFailures = 0;
      scheduleRenewal();
    } catch (err) {
      if (err instanceof SessionEnded) return ended();
      if (stopped) return;
      // Network down or the socket closing: try again soon. If the token runs out first,
      // the gateway closes the socket and the reconnection refreshes it anyway.
      scheduleRenewal(Math.min(30_000, 500 * 2 ** renewFailures++));
    }
  };
  scheduleRenewal();

  // After sleep, a hidden tab (timers throttled) or a network loss: check the token first,
  // then make sure the socket is (re)connecting.
  const wake = () => {
    if (stopped || document.visibilityState === 'hidden') return;
    if (session.renewIn() === 0) scheduleRenewal(0);
    if (!client.socket.connected && !client.socket.active) {
      void getToken().then(
        (token) => {
          if (token && !stopped && !client.socket.connected) client.socket.connect();
        },
        () => {
          // Still offline: the client's own retries carry on.
        },
      );
    }
  };
  document.addEventListener('visibilitychange', wake);
  window.addEventListener('online', wake);

  client.socket.on('connect', () => {
    status('connecting…');
    void subscribe();
  });
  client.socket.on('connect_error', (err) => {
    // Refused at the handshake: the token ran out while away (sleep, network loss) or was
    // revoked. The next attempt refreshes first; a refused refresh ends the session.
    if (err.message === 'unauthorized') session.invalidate();
    if (!stopped) status('reconnecting…');
  });
  // The gateway is about to close the socket because its token ran out.
  client.socket.on('auth:expiring', () => session.invalidate());
  client.socket.on('disconnect', (reason) => {
    // Closed by the server: token expired, session revoked (logout), or a drain. Refresh
    // before reconnecting, which also tells whether the session is still alive.
    if (reason === 'io server disconnect') session.invalidate();
    if (!stopped) status('reconnecting…');
  });

  running = {
    stop() {
      stopped = true;
      clearTimeout(renewTimer);
      document.removeEventListener('visibilitychange', wake);
      window.removeEventListener('online', wake);
      client.close();
      map.remove();
    },
  };

  async function subscribe() {
    const b = map.getBounds();
    const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v, i) =>
      i % 2 === 0 ? Math.max(-180, Math.min(180, v)) : Math.max(-90, Math.min(90, v)),
    ) as [number, number, number, number];
    let res: Awaited<ReturnType<typeof client.emitWithAck<'map:subscribe'>>>;
    try {
      res = await client.emitWithAck('map:subscribe', { bbox, zoom: map.getZoom() });
    } catch {
      // No answer (the socket dropped): the next connection subscribes again.
      return;
    }
    if (stopped) return;
    if ('error' in res) {
      status(res.error.message);
      return;
    }
    resolution = res.data.resolution;
    counts = new Map(res.data.cells.map((c) => [c.cell, c]));
    drawCells();
    status('live');
  }
  map.on('moveend', () => {
    if (client.socket.connected) void subscribe();
  });

  client.socket.on('map:sighting', (s: MapSighting) => {
    const loc = s.post.location;
    if (!loc) return;
    const marker = L.marker([loc.lat, loc.lng], {
      icon: L.divIcon({
        className: 'sighting',
        iconSize: [18, 18],
        html: `<span data-post-id="${s.post.id}" data-kind="${s.post.kind}" title="${s.post.kind}"></span>`,
      }),
    });
    marker.bindPopup(`<b>${escapeHtml(String(s.post.body ?? ''))}</b>`);
    marker.addTo(sightingLayer);
    markers.set(s.post.id, marker);
    const cell = s.cells[String(resolution)];
    if (cell) {
      const c = counts.get(cell) ?? { cell, count: 0, lastAt: new Date().toISOString() };
      counts.set(cell, { ...c, count: c.count + 1 });
      drawCells();
    }
  });
  client.socket.on('map:retract', (r: MapRetraction) => {
    const marker = markers.get(r.postId);
    if (marker) sightingLayer.removeLayer(marker);
    markers.delete(r.postId);
  });
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

$('signin').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.target as HTMLFormElement;
  const data = new FormData(form);
  try {
    status('signing in…');
    $('signin-message').textContent = '';
    await signIn(String(data.get('email')), String(data.get('password')));
    start();
  } catch (err) {
    status('signed out');
    $('signin-message').textContent = (err as Error).message;
  }
});

// Resume the session of this tab (a reload): refresh first if the access token ran out
// meanwhile, so the map never starts on a dead token.
if (session.hasSession()) {
  status('resuming session…');
  session.validToken().then(
    () => start(),
    (err: unknown) => {
      if (err instanceof SessionEnded) showSignIn(SESSION_ENDED);
      // Offline or the server unavailable: start anyway, the client retries.
      else start();
    },
  );
} else {
  showSignIn();
}
