import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { expect, it } from 'vitest';
import type { SignedUpUser } from '../helpers/builders.ts';
import { useViewerNode } from './viewer-page.ts';

// The viewer's session across access-token expiries, with tokens that last 3 seconds: it
// renews them before they run out, recovers a reload on an expired one, and falls back
// to a visible sign-in form once the session is over.
const viewer = useViewerNode({ ACCESS_TOKEN_TTL: '3s' });

const LISBON = { lat: 38.72, lng: -9.14 };

/** Sockets the gateway admitted so far, by outcome. */
async function admitted(outcome: 'connected' | 'unauthorized') {
  const metric = await viewer.node.deps.metrics.socketConnections.get();
  return metric.values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
}

async function openViewer() {
  const page = await viewer.browser.newPage({ viewport: { width: 1000, height: 700 } });
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  return { page, errors };
}

/** A watcher signed in to the viewer, and a second user who posts the sightings. */
async function signedInViewer() {
  const watcher = await viewer.api.signup();
  const poster = await viewer.api.signup();
  const { page, errors } = await openViewer();
  await page.goto(`${viewer.base}/map`);
  await signIn(page, watcher);
  return { watcher, poster, page, errors };
}

async function signIn(page: Page, user: SignedUpUser) {
  await page.fill('input[name=email]', user.input.email);
  await page.fill('input[name=password]', user.input.password);
  await page.click('button[type=submit]');
  await waitLive(page);
}

/** The viewer says it is live once its map subscription is answered. */
const waitLive = (page: Page) =>
  expect.poll(() => page.textContent('#status'), { timeout: 15_000 }).toBe('live');

const storedToken = (page: Page, key = 'unimal.token') =>
  // Runs in the page (this tsconfig has no DOM types).
  page.evaluate((k) => (globalThis as any).sessionStorage.getItem(k) as string | null, key);

/** Waits until the server refuses this access token: it has expired. */
async function waitExpired(token: string) {
  await expect
    .poll(async () => (await viewer.api.call('GET', '/me', token)).status, { timeout: 10_000 })
    .toBe(401);
}

/** Posts a located sighting as `user`, on a token refreshed for the occasion. */
async function postSighting(user: SignedUpUser, body: string, offset: number) {
  const res = await viewer.api.call('POST', '/auth/refresh', undefined, {
    refreshToken: user.refreshToken,
  });
  expect(res.status).toBe(200);
  user.accessToken = res.body.accessToken;
  user.refreshToken = res.body.refreshToken;
  return viewer.api.post(user, {
    kind: 'wild',
    body,
    location: { lat: LISBON.lat - 0.004 - offset / 1000, lng: LISBON.lng + 0.01 + offset / 1000 },
  });
}

async function expectMarker(page: Page, postId: string) {
  await page.locator(`.sighting [data-post-id="${postId}"]`).waitFor({ timeout: 15_000 });
}

/** The sign-in form is shown, and on top: what is under its centre belongs to it. */
async function expectSignInOnTop(page: Page) {
  await page.locator('#signin').waitFor({ state: 'visible', timeout: 15_000 });
  await expect
    .poll(
      () =>
        page.evaluate(() => {
          const doc = (globalThis as any).document;
          const form = doc.getElementById('signin');
          const r = form.getBoundingClientRect();
          const hit = doc.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
          return r.width > 0 && r.height > 0 && hit !== null && form.contains(hit);
        }),
      { timeout: 15_000 },
    )
    .toBe(true);
  await expect
    .poll(() => page.textContent('#signin-message'), { timeout: 15_000 })
    .toMatch(/session has ended/i);
}

it('stays live across several access-token expiries: sightings posted after each still show up', {
  timeout: 90_000,
}, async () => {
  const { poster, page, errors } = await signedInViewer();

  const seen = new Set<string>();
  for (let round = 0; round < 3; round++) {
    // The token the viewer holds now runs out; it must have renewed by then.
    const token = (await storedToken(page))!;
    expect(token).toBeTruthy();
    seen.add(token);
    await waitExpired(token);
    const post = await postSighting(poster, `Round ${round}: a fox`, round);
    await expectMarker(page, post.id);
  }
  expect(seen.size).toBe(3);
  expect(await page.textContent('#status')).toBe('live');
  expect(errors).toEqual([]);
  await page.close();
});

it('a reload on an expired access token recovers the map with the refresh token', {
  timeout: 90_000,
}, async () => {
  const { poster, page, errors } = await signedInViewer();

  // Away from the viewer (same origin, same tab: sessionStorage stays) until its access
  // token has expired, as after a sleep; then back to the map.
  await page.goto(`${viewer.base}/healthz`);
  const expired = (await storedToken(page))!;
  expect(expired).toBeTruthy();
  await waitExpired(expired);
  await page.goto(`${viewer.base}/map`);
  await waitLive(page);
  expect(await storedToken(page)).not.toBe(expired);

  const post = await postSighting(poster, 'A heron after the reload', 0);
  await expectMarker(page, post.id);
  expect(await page.locator('#signin').isVisible()).toBe(false);
  expect(errors).toEqual([]);
  await page.close();
});

it('a handshake refused as unauthorized (a clock that believes the token is good) refreshes and reconnects', {
  timeout: 90_000,
}, async () => {
  const { poster, page, errors } = await signedInViewer();

  await page.goto(`${viewer.base}/healthz`);
  const expired = (await storedToken(page))!;
  await waitExpired(expired);
  // The viewer's own idea of the expiry is an hour away: only the gateway can tell.
  await page.evaluate(() =>
    (globalThis as any).sessionStorage.setItem(
      'unimal.tokenExpiresAt',
      String(Date.now() + 3_600_000),
    ),
  );
  const refusedBefore = await admitted('unauthorized');
  await page.goto(`${viewer.base}/map`);
  await waitLive(page);
  expect(await admitted('unauthorized')).toBeGreaterThan(refusedBefore);
  expect(await storedToken(page)).not.toBe(expired);

  const post = await postSighting(poster, 'An owl after a refused handshake', 3);
  await expectMarker(page, post.id);
  expect(errors).toEqual([]);
  await page.close();
});

it('a page asleep past its token expiry recovers when it wakes', {
  timeout: 90_000,
}, async () => {
  const { poster, page, errors } = await signedInViewer();

  // No script runs while paused in the debugger: no renewal, and the gateway closes the
  // socket at expiry.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Debugger.enable');
  const token = (await storedToken(page))!;
  const connectionsBefore = await admitted('connected');
  await cdp.send('Debugger.pause');
  await waitExpired(token);
  await cdp.send('Debugger.resume');
  await cdp.send('Debugger.disable');

  await expect.poll(() => storedToken(page), { timeout: 15_000 }).not.toBe(token);
  await waitLive(page);
  // The page really slept through the expiry: its socket was closed and it came back.
  expect(await admitted('connected')).toBeGreaterThan(connectionsBefore);
  const post = await postSighting(poster, 'A boar after the sleep', 2);
  await expectMarker(page, post.id);
  expect(errors).toEqual([]);
  await page.close();
});

it('after a logout elsewhere the viewer shows the sign-in form on top, and signing in again works', {
  timeout: 90_000,
}, async () => {
  const { watcher, poster, page, errors } = await signedInViewer();

  // Log the viewer's session out through the API, with the refresh token it holds (even
  // if it has rotated since, a spent token of the family ends the session as well).
  const refreshToken = await storedToken(page, 'unimal.refresh');
  expect(refreshToken).toBeTruthy();
  expect((await viewer.api.call('POST', '/auth/logout', undefined, { refreshToken })).status).toBe(
    204,
  );
  await expectSignInOnTop(page);
  expect(await page.locator('#map').isVisible()).toBe(false);
  expect(await storedToken(page, 'unimal.refresh')).toBeNull();

  // A new session from the form: the map comes back and goes live.
  await signIn(page, watcher);
  const post = await postSighting(poster, 'A gull after signing in again', 1);
  await expectMarker(page, post.id);
  expect(errors).toEqual([]);
  await page.close();
});

it('after the account is deleted the viewer shows the sign-in form on top, with no uncaught error', {
  timeout: 90_000,
}, async () => {
  const watcher = await viewer.api.signup();
  const { page, errors } = await openViewer();
  await page.goto(`${viewer.base}/map`);
  await signIn(page, watcher);

  // Deleted from another session of the same account.
  const login = await viewer.api.call('POST', '/auth/login', undefined, {
    email: watcher.input.email,
    password: watcher.input.password,
  });
  expect(login.status).toBe(200);
  const del = await viewer.api.call('DELETE', '/me', login.body.accessToken, {
    password: watcher.input.password,
  });
  expect(del.status).toBe(202);

  await expectSignInOnTop(page);
  expect(await page.locator('#map').isVisible()).toBe(false);
  mkdirSync('.data/screenshots', { recursive: true });
  await page.screenshot({ path: '.data/screenshots/map-session-ended.png' });
  expect(errors).toEqual([]);
  await page.close();
});
