// The live animal map, in the browser. Bundled by esbuild from this file (see routes.ts);
// it shares the contract module and the client helper with the server and the tests.
import { cellToBoundary } from 'h3-js';
import L from 'leaflet';
import type { MapCellCount, MapRetraction, MapSighting } from '../../core/contract.ts';
import { connectUnimal, type UnimalClient } from '../../gateway/client.ts';

declare global {
  interface Window {
    UNIMAL_MAP: { tileUrl: string; attribution: string };
  }
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = (text: string) => {
  $('status').textContent = text;
};

async function signIn(email: string, password: string): Promise<string> {
  const res = await fetch('/api/v1/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  const body = (await res.json()) as { accessToken: string; error?: { message: string } };
  if (!res.ok) throw new Error(body.error?.message ?? `sign-in failed (${res.status})`);
  sessionStorage.setItem('unimal.token', body.accessToken);
  return body.accessToken as string;
}

function start(token: string) {
  $('signin').hidden = true;
  $('map').hidden = false;
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

  const client: UnimalClient = connectUnimal({
    url: location.origin,
    getToken: () => sessionStorage.getItem('unimal.token') ?? token,
  });
  client.socket.on('connect', () => {
    status('live');
    void subscribe();
  });
  client.socket.on('disconnect', () => status('reconnecting…'));

  async function subscribe() {
    const b = map.getBounds();
    const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v, i) =>
      i % 2 === 0 ? Math.max(-180, Math.min(180, v)) : Math.max(-90, Math.min(90, v)),
    ) as [number, number, number, number];
    const res = await client.emitWithAck('map:subscribe', { bbox, zoom: map.getZoom() });
    if ('error' in res) {
      status(res.error.message);
      return;
    }
    resolution = res.data.resolution;
    counts = new Map(res.data.cells.map((c) => [c.cell, c]));
    drawCells();
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
    start(await signIn(String(data.get('email')), String(data.get('password'))));
  } catch (err) {
    status((err as Error).message);
  }
});

const saved = sessionStorage.getItem('unimal.token');
if (saved) start(saved);
