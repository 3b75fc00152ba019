// Individual sightings as markers: every one in view from street zoom on (read over HTTP),
// and every live one as it arrives, at any zoom, so a new post is seen where it happened.
import L from 'leaflet';
import type { Post } from '../../contract/index.ts';
import { badgeHtml, popupHtml } from './sighting-view.ts';

/** From this zoom on, every sighting in view is a marker. */
export const MARKERS_FROM_ZOOM = 15;
/** Live markers kept below street zoom: the newest, so a long session stays light. */
const MAX_LIVE = 200;

export interface SightingLayer {
  /** The sightings in view at street zoom (replacing the previous view's); [] elsewhere. */
  showInView(posts: Post[]): void;
  /** A live sighting, with its arrival animation. */
  addLive(post: Post): void;
  remove(postId: string): void;
  /** Keeps only the sightings `keep` accepts (the filters changed). */
  retain(keep: (post: Post) => boolean): void;
  /** Centres the map on a sighting and opens its popup (from the side list). */
  open(post: Post): void;
}

export function addSightings(map: L.Map): SightingLayer {
  const layer = L.layerGroup().addTo(map);
  const markers = new Map<string, { marker: L.Marker; post: Post; live: boolean }>();

  const place = (post: Post, live: boolean) => {
    const loc = post.location;
    if (!loc) return undefined;
    const existing = markers.get(post.id);
    if (existing) {
      existing.live ||= live;
      return existing.marker;
    }
    const marker = L.marker([loc.lat, loc.lng], {
      title: post.species ?? post.kind,
      riseOnHover: true,
      icon: L.divIcon({ className: 'sighting', iconSize: [30, 30], html: badgeHtml(post) }),
    });
    marker.bindPopup(() => popupHtml(post), { minWidth: 160 });
    marker.addTo(layer);
    markers.set(post.id, { marker, post, live });
    return marker;
  };
  const drop = (id: string) => {
    const entry = markers.get(id);
    if (!entry) return;
    layer.removeLayer(entry.marker);
    markers.delete(id);
  };

  return {
    showInView(posts) {
      const inView = new Set(posts.map((p) => p.id));
      for (const [id, entry] of markers) if (!entry.live && !inView.has(id)) drop(id);
      for (const post of posts) place(post, false);
    },
    addLive(post) {
      place(post, true);
      const live = [...markers.entries()].filter(([, e]) => e.live);
      for (const [id] of live.slice(0, Math.max(0, live.length - MAX_LIVE))) drop(id);
    },
    remove: drop,
    retain(keep) {
      for (const [id, entry] of markers) if (!keep(entry.post)) drop(id);
    },
    open(post) {
      // Kept like a live one: the view's next reading must not take it away under its popup.
      const marker = place(post, true);
      if (!marker) return;
      map.setView(marker.getLatLng(), Math.max(map.getZoom(), MARKERS_FROM_ZOOM));
      marker.openPopup();
    },
  };
}
