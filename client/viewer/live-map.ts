// The signed-in viewer: the map with its basemap, cells, sightings, filters and side list,
// kept live by the socket.
import L from 'leaflet';
import type { Bbox, MapRetraction, MapSighting, Post } from '../../contract/index.ts';
import { addBasemap } from './basemap.ts';
import { addCells } from './cells.ts';
import { currentFilters, type Filters, onFiltersChange, passes } from './filters.ts';
import { type ConnectionState, openConnection } from './live-connection.ts';
import type { ViewerSession } from './session.ts';
import { createSideList, SIDE_LIST_SIZE } from './side-list.ts';
import { addSightings, MARKERS_FROM_ZOOM } from './sightings.ts';

const $ = (id: string) => document.getElementById(id)!;

const STATE_TEXT: Record<ConnectionState, string> = {
  connecting: 'connecting…',
  live: 'live',
  reconnecting: 'reconnecting…',
  offline: 'offline',
};

export function showConnection(state: ConnectionState | 'signed-out') {
  $('connection').dataset.state = state;
  $('status').textContent = state === 'signed-out' ? 'signed out' : STATE_TEXT[state];
}

/** The view in the address: `#zoom/lat/lng`, so a reload or a shared link opens it again. */
function viewFromHash(): { center: L.LatLngTuple; zoom: number } {
  const [z, lat, lng] = location.hash.slice(1).split('/').map(Number);
  if (
    Number.isInteger(z) &&
    z! >= 1 &&
    z! <= 19 &&
    Math.abs(lat ?? Number.NaN) <= 85 &&
    Math.abs(lng ?? Number.NaN) <= 180
  ) {
    return { center: [lat!, lng!], zoom: z! };
  }
  return { center: [38.72, -9.14], zoom: 12 };
}

function boxOf(map: L.Map): Bbox {
  const b = map.getBounds();
  const lng = (v: number) => Math.max(-180, Math.min(180, v));
  const lat = (v: number) => Math.max(-90, Math.min(90, v));
  return {
    minLng: lng(b.getWest()),
    minLat: lat(b.getSouth()),
    maxLng: lng(b.getEast()),
    maxLat: lat(b.getNorth()),
  };
}

const bboxText = (b: Bbox) => [b.minLng, b.minLat, b.maxLng, b.maxLat].join(',');

/** Starts the map for the signed-in session; `ended` is called once the session is over. */
export function startLiveMap(options: { session: ViewerSession; ended(): void }): {
  stop(): void;
} {
  const { session } = options;
  const { center, zoom } = viewFromHash();
  const map = L.map('map', { worldCopyJump: true, minZoom: 2 }).setView(center, zoom);
  addBasemap(map);
  const { tileUrl, attribution } = window.UNIMAL_MAP;
  if (tileUrl) L.tileLayer(tileUrl, { attribution, maxZoom: 19 }).addTo(map);
  const cells = addCells(map, (text) => {
    $('summary').textContent = text;
  });
  const sightings = addSightings(map);
  const sideList = createSideList((post) => sightings.open(post));

  let filters: Filters = currentFilters();
  let generation = 0;
  let stopped = false;

  const connection = openConnection({
    session,
    ended: options.ended,
    state: showConnection,
    connected: () => void subscribe(generation),
  });
  const { client } = connection;

  /** The counts of the view, and its room subscriptions, for the current filters. */
  async function subscribe(asOf: number) {
    if (!client.socket.connected) return;
    let res: Awaited<ReturnType<typeof client.emitWithAck<'map:subscribe'>>>;
    try {
      res = await client.emitWithAck('map:subscribe', {
        bbox: bboxText(boxOf(map)),
        zoom: map.getZoom(),
        ...filters,
      });
    } catch {
      // No answer (the socket dropped): the next connection subscribes again.
      return;
    }
    if (stopped || asOf !== generation) return;
    if ('error' in res) {
      // Superseded by a later subscription: that one answers.
      if (res.error.code !== 'conflict') $('summary').textContent = res.error.message;
      return;
    }
    cells.set(res.data.cells, res.data.resolution);
    showConnection('live');
  }

  /** The newest sightings in view: the side list, and the markers from street zoom on. */
  async function readSightings(asOf: number) {
    const street = map.getZoom() >= MARKERS_FROM_ZOOM;
    const query = new URLSearchParams({
      bbox: bboxText(boxOf(map)),
      limit: String(street ? 100 : SIDE_LIST_SIZE),
    });
    if (filters.kind) query.set('kind', filters.kind);
    if (filters.since) query.set('since', filters.since);
    let posts: Post[];
    try {
      const token = await session.validToken();
      const res = await fetch(`/api/v1/map/sightings?${query}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      if (!res.ok) return;
      posts = ((await res.json()) as { items: Post[] }).items;
    } catch {
      // Offline or the session ending: the socket's state says so; the next view reads again.
      return;
    }
    if (stopped || asOf !== generation) return;
    sideList.set(posts);
    sightings.showInView(street ? posts : []);
  }

  /** A new view or new filters: read everything again (answers to older ones are dropped). */
  const refresh = () => {
    const asOf = ++generation;
    void subscribe(asOf);
    void readSightings(asOf);
  };
  map.on('moveend', () => {
    const c = map.getCenter();
    history.replaceState(null, '', `#${map.getZoom()}/${c.lat.toFixed(5)}/${c.lng.toFixed(5)}`);
    refresh();
  });
  // A link to another view opened in this tab (or back/forward through the views).
  const followHash = () => {
    const view = viewFromHash();
    const c = map.getCenter();
    const same =
      view.zoom === map.getZoom() &&
      Math.abs(view.center[0] - c.lat) < 1e-5 &&
      Math.abs(view.center[1] - c.lng) < 1e-5;
    if (!same) map.setView(view.center, view.zoom);
  };
  window.addEventListener('hashchange', followHash);
  const stopFilters = onFiltersChange(() => {
    filters = currentFilters();
    const keep = (post: Post) => passes(post, filters);
    sightings.retain(keep);
    sideList.retain(keep);
    refresh();
  });
  refresh();

  client.socket.on('map:sighting', (s: MapSighting) => {
    if (!passes(s.post, filters)) return;
    const cell = s.cells[String(cells.resolution())];
    if (cell) cells.bump(cell);
    sightings.addLive(s.post);
    const loc = s.post.location;
    if (loc && map.getBounds().contains([loc.lat, loc.lng])) sideList.add(s.post);
  });
  let recount: ReturnType<typeof setTimeout> | undefined;
  client.socket.on('map:retract', (r: MapRetraction) => {
    sightings.remove(r.postId);
    sideList.remove(r.postId);
    // Which count it was in depends on filters the retraction does not carry: read them
    // again, once for a burst of retractions.
    clearTimeout(recount);
    recount = setTimeout(() => void subscribe(generation), 300);
  });

  return {
    stop() {
      stopped = true;
      clearTimeout(recount);
      window.removeEventListener('hashchange', followHash);
      stopFilters();
      connection.stop();
      map.remove();
    },
  };
}
