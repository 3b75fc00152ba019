import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  basemapShown,
  drawnCells,
  listEntryOf,
  markerOf,
  onTheMap,
  openViewer,
  screenshot,
  showView,
  signIn,
  useViewerNode,
} from './viewer-page.ts';

// What a person sees on the live map. The default tile URL points at the public
// OpenStreetMap servers, which this machine cannot reach: the geography must come from the
// app itself. Screenshots land in .data/screenshots (look at them after changing the page).
const viewer = useViewerNode();

/** Share of the screenshot's pixels within a few levels of `rgb`. */
async function shareOfColour(png: Buffer, rgb: [number, number, number]): Promise<number> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  let hits = 0;
  for (let i = 0; i < data.length; i += 3) {
    if (rgb.every((v, c) => Math.abs(data[i + c]! - v) <= 6)) hits++;
  }
  return hits / (info.width * info.height);
}

const LAND: [number, number, number] = [0xf3, 0xef, 0xe6];
const SEA: [number, number, number] = [0xb9, 0xd7, 0xe8];

describe('the live map viewer', () => {
  it('draws land and sea offline, a legend, and cells coloured and labelled by their counts', {
    timeout: 90_000,
  }, async () => {
    const poster = await viewer.api.signup();
    const watcher = await viewer.api.signup();
    // Three sightings in one cell, one in another, around Lisbon's Baixa and Belém.
    const busy = { lat: 38.7105, lng: -9.1365 };
    const quiet = { lat: 38.6975, lng: -9.2065 };
    const posts = [
      await viewer.api.post(poster, { kind: 'stray', location: busy }),
      await viewer.api.post(poster, { kind: 'stray', location: { lat: 38.7106, lng: -9.1366 } }),
      await viewer.api.post(poster, { kind: 'pet', location: { lat: 38.7104, lng: -9.1364 } }),
      await viewer.api.post(poster, { kind: 'wild', location: quiet }),
    ];
    for (const p of posts) await onTheMap(viewer.node, p.id);

    const { page, errors } = await openViewer(viewer.browser, `${viewer.base}/map#12/38.705/-9.17`);
    await signIn(page, watcher);
    await expect.poll(() => drawnCells(page).then((c) => c.length), { timeout: 15_000 }).toBe(2);
    const cells = await drawnCells(page);
    const three = cells.find((c) => c.count === 3);
    const one = cells.find((c) => c.count === 1);
    expect(three && one).toBeTruthy();
    // Coloured by count: the busier cell darker on the legend's scale.
    expect(three!.fill).not.toBe(one!.fill);
    const legend = page.locator('.legend');
    await expect.poll(() => legend.textContent()).toContain('Sightings per cell');
    expect(await legend.locator('i').count()).toBeGreaterThanOrEqual(2);
    // At city zoom the counts are written on the cells.
    expect((await page.locator('.cell-count').allTextContents()).sort()).toEqual(['1', '3']);
    await basemapShown(page, 'countries-10m');
    await screenshot(page, 'map-city');

    // Zoomed out over Iberia and the Atlantic: land and sea both drawn, from the app's own
    // Natural Earth data (no tile could load).
    await showView(page, '5/39.5/-9');
    await basemapShown(page, 'countries-50m');
    await expect
      .poll(async () => shareOfColour(await page.screenshot(), LAND), { timeout: 15_000 })
      .toBeGreaterThan(0.15);
    expect(await shareOfColour(await page.screenshot(), SEA)).toBeGreaterThan(0.15);
    await screenshot(page, 'map-country');
    await showView(page, '2/20/0');
    await basemapShown(page, 'countries-110m');
    await screenshot(page, 'map-world');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows sightings posted over HTTP as markers within a second, on top of the side list, and takes them away when deleted', {
    timeout: 90_000,
  }, async () => {
    const poster = await viewer.api.signup({ displayName: 'Rita Fox' });
    const watcher = await viewer.api.signup();
    const { page, errors } = await openViewer(viewer.browser, `${viewer.base}/map#13/41.15/-8.61`);
    await signIn(page, watcher);

    /** Posts a sighting over HTTP; how long until its marker is on the page. */
    const timeToMarker = async (body: Record<string, unknown>) => {
      const started = performance.now();
      const posted = await viewer.api.post(poster, body);
      await markerOf(page, posted.id).waitFor({ timeout: 15_000 });
      return { post: posted, ms: performance.now() - started };
    };
    // Three sightings, one after the other: the middle time is what a person sees (one
    // alone would measure whatever else this shared machine was doing at that instant).
    const gulls = [
      await timeToMarker({ kind: 'wild', species: 'gull', location: { lat: 41.146, lng: -8.615 } }),
      await timeToMarker({ kind: 'wild', species: 'gull', location: { lat: 41.147, lng: -8.614 } }),
    ];
    const fox = await timeToMarker({
      kind: 'wild',
      species: 'red fox',
      body: 'Fox on the tram tracks',
      location: { lat: 41.1496, lng: -8.611 },
    });
    const post = fox.post;
    const times = [...gulls, fox].map((t) => Math.round(t.ms));
    console.info(
      `live map: sightings posted over HTTP were on the page ${times.join(', ')} ms later`,
    );
    expect([...times].sort((x, y) => x - y)[1]).toBeLessThan(1_000);
    expect(await markerOf(page, post.id).getAttribute('data-kind')).toBe('wild');

    // The side list has it on top, with what, when and who.
    const entry = listEntryOf(page, post.id);
    await entry.waitFor();
    expect(await page.locator('#side-list li').first().getAttribute('data-post-id')).toBe(post.id);
    expect(await entry.textContent()).toMatch(/red fox.*just now.*Rita Fox/);
    expect(await page.textContent('#side-count')).toBe('3');

    // Its popup, from the marker.
    await markerOf(page, post.id).click();
    const popup = page.locator('.sighting-popup');
    await popup.waitFor();
    expect(await popup.textContent()).toMatch(/red fox.*Fox on the tram tracks.*by Rita Fox/);
    await screenshot(page, 'map-live-sighting');

    expect((await viewer.api.call('DELETE', `/posts/${post.id}`, poster.accessToken)).status).toBe(
      204,
    );
    await expect.poll(() => markerOf(page, post.id).count(), { timeout: 15_000 }).toBe(0);
    await expect.poll(() => listEntryOf(page, post.id).count()).toBe(0);
    expect(await page.textContent('#side-count')).toBe('2');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows each sighting as a marker at street zoom, obscured ones at their area and marked as such', {
    timeout: 90_000,
  }, async () => {
    const poster = await viewer.api.signup({ displayName: 'Ines Heron' });
    const watcher = await viewer.api.signup();
    const open = await viewer.api.post(poster, {
      kind: 'pet',
      species: 'border collie',
      location: { lat: 40.4168, lng: -3.7038 },
    });
    const hidden = await viewer.api.post(poster, {
      kind: 'stray',
      species: 'tabby cat',
      geoprivacy: 'obscured',
      location: { lat: 40.4172, lng: -3.7034 },
    });
    const seenByOthers = await viewer.api.call('GET', `/posts/${hidden.id}`, watcher.accessToken);
    const coarse = seenByOthers.body.location as { lat: number; lng: number };
    for (const p of [open, hidden]) await onTheMap(viewer.node, p.id);

    const { page, errors } = await openViewer(
      viewer.browser,
      `${viewer.base}/map#16/40.4168/-3.7038`,
    );
    await signIn(page, watcher);
    await markerOf(page, open.id).waitFor({ timeout: 15_000 });
    expect(await markerOf(page, open.id).getAttribute('data-obscured')).toBe('false');
    await basemapShown(page, 'countries-10m');
    // Street zoom: the markers tell the sightings apart, no count is written over them.
    expect(await page.locator('.cell-count').count()).toBe(0);
    // The obscured one is not at its point: at its coarse area's centre, which is out of
    // this street-level view unless it happens to be close.
    await showView(page, `16/${coarse.lat.toFixed(5)}/${coarse.lng.toFixed(5)}`);
    await markerOf(page, hidden.id).waitFor({ timeout: 15_000 });
    expect(await markerOf(page, hidden.id).getAttribute('data-obscured')).toBe('true');
    await markerOf(page, hidden.id).click();
    expect(await page.locator('.sighting-popup').textContent()).toMatch(
      /tabby cat.*by Ines Heron.*Location obscured/,
    );
    // Leaflet fades a popup in.
    await expect
      .poll(() =>
        page.evaluate("getComputedStyle(document.querySelector('.leaflet-popup')).opacity"),
      )
      .toBe('1');
    await screenshot(page, 'map-street');
    expect(errors).toEqual([]);
    await page.close();
  });
});
