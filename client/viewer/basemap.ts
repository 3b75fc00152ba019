// Geography without a tile server: Natural Earth's countries (world-atlas, served by the app
// at /map/basemap/) drawn as land, coastlines and borders under everything else. Raster
// tiles, when a tile server is configured, sit on top; where they fail to load (the server
// is unreachable) this shows through.
import L from 'leaflet';
import { feature, mesh } from 'topojson-client';
import type { GeometryCollection, Topology } from 'topojson-specification';

/**
 * The level of detail for a zoom: each finer one is worth its size from where the coarser
 * one's coastline visibly departs from the real one (about 40, 240 and 980 kB gzipped).
 */
const detailFor = (zoom: number): Detail =>
  zoom >= 7 ? 'countries-10m' : zoom >= 4 ? 'countries-50m' : 'countries-110m';

type Detail = 'countries-110m' | 'countries-50m' | 'countries-10m';

/** The land, coast and border layers of one level of detail. */
function layersOf(topology: Topology, renderer: L.Renderer): L.Layer[] {
  const countries = topology.objects.countries as GeometryCollection;
  // GeoJSON layers hand their options to the paths they make, the renderer included
  // (Leaflet's types leave it out).
  const options = (style: L.PathOptions): L.GeoJSONOptions & L.PathOptions => ({
    pane: 'basemap',
    renderer,
    interactive: false,
    style,
  });
  return [
    L.geoJSON(
      feature(topology, countries),
      options({ stroke: false, fillColor: '#f3efe6', fillOpacity: 1 }),
    ),
    // Shared arcs are borders, arcs of one country only are coastlines.
    L.geoJSON(
      mesh(topology, countries, (a, b) => a !== b),
      options({ color: '#a8a29e', weight: 1, dashArray: '3 3' }),
    ),
    L.geoJSON(
      mesh(topology, countries, (a, b) => a === b),
      options({ color: '#7c9cb0', weight: 1.2 }),
    ),
  ];
}

/**
 * Draws the basemap on `map` and keeps its level of detail in step with the zoom.
 * The map's container says what is drawn in `data-basemap` (the tests read it).
 */
export function addBasemap(map: L.Map): void {
  map.createPane('basemap');
  // Under the tiles (200) and everything drawn on top.
  map.getPane('basemap')!.style.zIndex = '150';
  const renderer = L.canvas({ pane: 'basemap', padding: 0.5 });
  const loaded = new Map<Detail, Promise<L.Layer[]>>();
  let shown: { detail: Detail; layers: L.Layer[] } | undefined;
  const load = (detail: Detail) => {
    let layers = loaded.get(detail);
    if (!layers) {
      layers = fetch(`/map/basemap/${detail}.json`)
        .then((res) => {
          if (!res.ok) throw new Error(`basemap ${detail}: ${res.status}`);
          return res.json() as Promise<Topology>;
        })
        .then((topology) => layersOf(topology, renderer));
      // A failed load is tried again at the next zoom change.
      layers.catch(() => loaded.delete(detail));
      loaded.set(detail, layers);
    }
    return layers;
  };
  // Data may arrive after the map is gone (signed out meanwhile): nothing to draw on then.
  let gone = false;
  map.on('unload', () => {
    gone = true;
  });
  const show = (detail: Detail, layers: L.Layer[]) => {
    if (gone) return;
    for (const layer of shown?.layers ?? []) layer.remove();
    for (const layer of layers) layer.addTo(map);
    shown = { detail, layers };
    map.getContainer().dataset.basemap = detail;
  };
  const update = async () => {
    const detail = detailFor(map.getZoom());
    if (shown?.detail === detail) return;
    // Nothing drawn yet and the finer data on its way (a second or more for the finest):
    // the coarse world first, so the map never starts as an empty sea.
    if (!shown && detail !== 'countries-110m') {
      load('countries-110m').then(
        (layers) => {
          if (!shown) show('countries-110m', layers);
        },
        () => {},
      );
    }
    let layers: L.Layer[];
    try {
      layers = await load(detail);
    } catch {
      return;
    }
    // The zoom may have moved on while this loaded.
    if (detailFor(map.getZoom()) !== detail || shown?.detail === detail) return;
    show(detail, layers);
  };
  map.on('zoomend', () => void update());
  void update();
}
