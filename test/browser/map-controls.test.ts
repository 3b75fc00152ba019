import { describe, expect, it } from 'vitest';
import { DEMO_ACCOUNT } from '../../server/demo-account.ts';
import {
  basemapShown,
  listEntryOf,
  markerOf,
  onTheMap,
  openViewer,
  screenshot,
  signIn,
  useViewerNode,
  waitLive,
} from './viewer-page.ts';

// The viewer's controls as a person uses them: the account form (sign up, the development
// demo account), the kind and time filters, and the layout on a phone-sized screen. The
// node seeds the demo account, as `npm start` does in development.
const viewer = useViewerNode({ DEMO_ACCOUNT: 'true' });

const summary = (page: Awaited<ReturnType<typeof openViewer>>['page']) =>
  page.textContent('#summary');

describe('the live map viewer’s controls', () => {
  it('creates an account from the page, says why one is refused, and names the demo account in development', {
    timeout: 90_000,
  }, async () => {
    const taken = await viewer.api.signup();
    const { page, errors } = await openViewer(viewer.browser, `${viewer.base}/map`);
    // Development servers name their demo account; using it signs in to a map with sightings.
    expect(await page.textContent('#demo-hint')).toContain(DEMO_ACCOUNT.email);
    await page.click('#tab-signup');
    expect(await page.textContent('#signin-submit')).toBe('Create account');
    await page.fill('input[name=email]', taken.input.email);
    await page.fill('input[name=handle]', 'someone_new');
    await page.fill('input[name=displayName]', 'Someone New');
    await page.fill('input[name=password]', 'a long enough password');
    await page.click('#signin-submit');
    await expect
      .poll(() => page.textContent('#signin-message'), { timeout: 10_000 })
      .toMatch(/email|taken|exists/i);
    await screenshot(page, 'map-signup-refused');

    await page.fill('input[name=email]', `new-${Date.now()}@example.com`);
    await page.click('#signin-submit');
    await waitLive(page);
    const me = await page.evaluate('sessionStorage.length');
    expect(me).toBeGreaterThan(0);

    await page.click('#signout');
    await page.locator('#signin').waitFor({ state: 'visible' });
    await page.click('#demo-fill');
    await page.click('#signin-submit');
    await waitLive(page);
    // The demo sightings around Lisbon, in the side list.
    await expect
      .poll(async () => Number(await page.textContent('#side-count')), { timeout: 20_000 })
      .toBeGreaterThan(0);
    await basemapShown(page, 'countries-10m');
    await screenshot(page, 'map-demo');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('filters by kind and by time window, in the counts, the side list and the live markers', {
    timeout: 90_000,
  }, async () => {
    const poster = await viewer.api.signup();
    const watcher = await viewer.api.signup();
    const at = (dLat: number) => ({ lat: 37.389 + dLat, lng: -5.984 });
    const cat = await viewer.api.post(poster, { kind: 'stray', location: at(0) });
    const dog = await viewer.api.post(poster, { kind: 'pet', location: at(0.002) });
    const stork = await viewer.api.post(poster, { kind: 'wild', location: at(0.004) });
    const oldFox = await viewer.api.post(poster, { kind: 'wild', location: at(0.006) });
    for (const p of [cat, dog, stork, oldFox]) await onTheMap(viewer.node, p.id);
    // Posted ten days ago, as far as every read is concerned.
    const tenDaysAgo = new Date(Date.now() - 10 * 86_400_000);
    await viewer.node.deps.sql`update posts set created_at = ${tenDaysAgo} where id = ${oldFox.id}`;
    await viewer.node.deps
      .sql`update map_points set created_at = ${tenDaysAgo} where post_id = ${oldFox.id}`;

    const { page, errors } = await openViewer(
      viewer.browser,
      `${viewer.base}/map#14/37.392/-5.984`,
    );
    await signIn(page, watcher);
    await expect.poll(() => summary(page), { timeout: 15_000 }).toMatch(/^4 sightings/);

    await page.selectOption('#filter-kind', 'wild');
    await expect.poll(() => summary(page)).toMatch(/^2 sightings/);
    await expect.poll(() => page.locator('#side-list li').count()).toBe(2);
    expect(await page.locator('#side-list li[data-kind=wild]').count()).toBe(2);

    await page.selectOption('#filter-when', 'today');
    await expect.poll(() => summary(page)).toMatch(/^1 sighting /);
    await expect.poll(() => page.locator('#side-list li').count()).toBe(1);
    expect(await listEntryOf(page, stork.id).count()).toBe(1);

    // Live: a pet does not show while the filter says wildlife; a wild one does.
    const pet = await viewer.api.post(poster, { kind: 'pet', location: at(0.001) });
    const heron = await viewer.api.post(poster, {
      kind: 'wild',
      species: 'grey heron',
      location: at(0.003),
    });
    await markerOf(page, heron.id).waitFor({ timeout: 15_000 });
    await listEntryOf(page, heron.id).waitFor();
    expect(await markerOf(page, pet.id).count()).toBe(0);
    expect(await listEntryOf(page, pet.id).count()).toBe(0);
    await screenshot(page, 'map-filtered');

    await page.selectOption('#filter-kind', '');
    await page.selectOption('#filter-when', 'week');
    await onTheMap(viewer.node, pet.id);
    await expect.poll(() => summary(page), { timeout: 15_000 }).toMatch(/^5 sightings/);
    await page.selectOption('#filter-when', 'all');
    await expect.poll(() => summary(page)).toMatch(/^6 sightings/);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('fits a phone-sized screen: nothing wider than it, filters and legend in view, the list as a sheet that opens', {
    timeout: 90_000,
  }, async () => {
    const watcher = await viewer.api.signup();
    const poster = await viewer.api.signup();
    const post = await viewer.api.post(poster, {
      kind: 'stray',
      location: { lat: 38.7223, lng: -9.1393 },
    });
    await onTheMap(viewer.node, post.id);
    const phone = { width: 390, height: 844 };
    const { page, errors } = await openViewer(
      viewer.browser,
      `${viewer.base}/map#13/38.72/-9.14`,
      phone,
    );
    await screenshot(page, 'map-phone-signin');
    const form = await page.locator('#signin').boundingBox();
    expect(form!.x).toBeGreaterThanOrEqual(0);
    expect(form!.x + form!.width).toBeLessThanOrEqual(phone.width);
    await signIn(page, watcher);

    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(
      phone.width,
    );
    for (const selector of [
      '#bar',
      '#filters',
      '.legend',
      '#side-toggle',
      '.leaflet-control-zoom',
    ]) {
      const box = await page.locator(selector).boundingBox();
      expect(box, selector).not.toBeNull();
      expect(box!.x, selector).toBeGreaterThanOrEqual(0);
      expect(box!.x + box!.width, selector).toBeLessThanOrEqual(phone.width);
      expect(box!.y + box!.height, selector).toBeLessThanOrEqual(phone.height);
    }
    // The map takes most of the screen; the list waits in a closed sheet at the bottom.
    const map = await page.locator('#map').boundingBox();
    expect(map!.height).toBeGreaterThan(phone.height * 0.8);
    expect(await listEntryOf(page, post.id).isVisible()).toBe(false);
    await basemapShown(page, 'countries-10m');
    await screenshot(page, 'map-phone');
    await page.click('#side-toggle');
    await listEntryOf(page, post.id).waitFor({ state: 'visible' });
    // The sheet slides up to half the screen.
    await expect
      .poll(async () => (await page.locator('#side').boundingBox())!.height)
      .toBeGreaterThan(phone.height * 0.45);
    await screenshot(page, 'map-phone-list');
    // Picking one closes nothing and shows its popup on the map.
    await listEntryOf(page, post.id).click();
    await page.locator('.sighting-popup').waitFor();
    expect(errors).toEqual([]);
    await page.close();
  });
});
