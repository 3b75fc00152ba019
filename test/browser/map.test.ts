import { mkdirSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchBrowser } from '../helpers/browser.ts';
import { httpApi } from '../helpers/http.ts';
import { nodeUrl, useInProcessNodes } from '../helpers/realtime.ts';

// The default tile URL points at the public OpenStreetMap servers, which this machine
// cannot reach: the page must work all the same.
const cluster = useInProcessNodes();
let browser: Browser;

beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

it('the /map viewer signs in, shows the cells, and animates a sighting posted by another client', {
  timeout: 90_000,
}, async () => {
  const node = await cluster.start('server,gateway,workers');
  const base = nodeUrl(node);
  const api = httpApi(base);
  const watcher = await api.signup();
  const poster = await api.signup();
  // Something already on the map around Lisbon (its aggregate is written by a worker).
  const first = await api.post(poster, { kind: 'pet', location: { lat: 38.722, lng: -9.139 } });
  await expect
    .poll(
      async () =>
        (await node.deps.sql`select 1 from map_points where post_id = ${first.id}`).length,
      { timeout: 15_000 },
    )
    .toBe(1);

  const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(`${base}/map`);
  await page.fill('input[name=email]', watcher.input.email);
  await page.fill('input[name=password]', watcher.input.password);
  await page.click('button[type=submit]');
  await page.getByText('live').waitFor();
  // The aggregate of the first post is drawn as a cell.
  await expect
    .poll(async () => page.locator('path.leaflet-interactive').count(), { timeout: 15_000 })
    .toBeGreaterThan(0);

  const post = await api.post(poster, {
    kind: 'wild',
    body: 'Fox on the tram tracks',
    location: { lat: 38.715, lng: -9.13 },
  });
  const marker = page.locator(`[data-post-id="${post.id}"]`);
  await marker.waitFor({ timeout: 15_000 });
  expect(await marker.getAttribute('data-kind')).toBe('wild');
  expect(errors).toEqual([]);
  mkdirSync('.data/screenshots', { recursive: true });
  await page.screenshot({ path: '.data/screenshots/live-map.png' });
});
