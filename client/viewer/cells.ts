// The hexagons: every cell's sightings, coloured on a scale the legend explains, with the
// count written on the cell from city zoom on.
import { cellToBoundary, cellToLatLng } from 'h3-js';
import L from 'leaflet';
import type { MapCellCount } from '../../contract/index.ts';
import { classBreaks, colourFor, legendRows } from './colour-scale.ts';

/**
 * Between these zooms the counts are written on the cells (city zoom); from street zoom on,
 * every sighting is a marker of its own and a label would sit on top of them.
 */
export const COUNT_LABELS_FROM_ZOOM = 10;
const COUNT_LABELS_BELOW_ZOOM = 15;
/** Above this many cells in view, labels would cover each other: colour alone tells. */
const MAX_LABELS = 400;

export interface CellLayer {
  /** Replaces every cell (a new view or new filters). */
  set(cells: MapCellCount[], resolution: number): void;
  /** One more sighting in `cell` (a live one), at the resolution on show. */
  bump(cell: string): void;
  resolution(): number;
}

export function addCells(map: L.Map, summary: (text: string) => void): CellLayer {
  const polygons = L.layerGroup().addTo(map);
  const labels = L.layerGroup().addTo(map);
  let counts = new Map<string, MapCellCount>();
  let resolution = 0;

  const legend = new L.Control({ position: 'bottomleft' });
  const legendBox = L.DomUtil.create('div', 'legend');
  legend.onAdd = () => legendBox;
  legend.addTo(map);

  const draw = () => {
    polygons.clearLayers();
    labels.clearLayers();
    const max = Math.max(0, ...[...counts.values()].map((c) => c.count));
    const breaks = classBreaks(max);
    const zoom = map.getZoom();
    const withLabels =
      zoom >= COUNT_LABELS_FROM_ZOOM && zoom < COUNT_LABELS_BELOW_ZOOM && counts.size <= MAX_LABELS;
    for (const c of counts.values()) {
      const fill = colourFor(c.count, breaks);
      const shape = L.polygon(cellToBoundary(c.cell) as L.LatLngExpression[], {
        weight: 1,
        color: '#92400e',
        opacity: 0.6,
        fillColor: fill,
        fillOpacity: 0.6,
        className: 'cell',
      });
      shape.bindTooltip(`${c.count} sighting${c.count === 1 ? '' : 's'}`);
      shape.on('add', () => {
        const el = shape.getElement();
        if (el) {
          el.setAttribute('data-cell', c.cell);
          el.setAttribute('data-count', String(c.count));
        }
      });
      shape.addTo(polygons);
      if (withLabels) {
        L.marker(cellToLatLng(c.cell) as L.LatLngTuple, {
          interactive: false,
          keyboard: false,
          icon: L.divIcon({ className: 'cell-count', iconSize: [40, 16], html: String(c.count) }),
        }).addTo(labels);
      }
    }
    legendBox.innerHTML =
      '<b>Sightings per cell</b>' +
      (counts.size === 0
        ? '<div>none in view</div>'
        : legendRows(breaks)
            .map(({ colour, label }) => `<div><i style="background:${colour}"></i>${label}</div>`)
            .join('')) +
      '<div class="obscured-key">dashed ring: location obscured, shown at its area</div>';
    const total = [...counts.values()].reduce((n, c) => n + c.count, 0);
    const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
    summary(`${plural(total, 'sighting')} in ${plural(counts.size, 'cell')}`);
  };
  map.on('zoomend', draw);

  return {
    set(cells, res) {
      counts = new Map(cells.map((c) => [c.cell, c]));
      resolution = res;
      draw();
    },
    bump(cell) {
      const c = counts.get(cell) ?? { cell, count: 0, lastAt: new Date().toISOString() };
      counts.set(cell, { ...c, count: c.count + 1, lastAt: new Date().toISOString() });
      draw();
    },
    resolution: () => resolution,
  };
}
