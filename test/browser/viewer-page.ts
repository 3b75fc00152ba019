import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';
import type { RunningNode } from '../../node.ts';
import { launchBrowser } from '../helpers/browser.ts';
import type { SignedUpUser } from '../helpers/builders.ts';
import { type HttpApi, httpApi } from '../helpers/http.ts';
import { nodeUrl, useInProcessNodes } from '../helpers/realtime.ts';

/** Where the browser tests leave their screenshots (never committed: .data is ignored). */
export const SCREENSHOTS = '.data/screenshots';

/** A page of the viewer, with the errors it throws collected. */
export async function openViewer(
  browser: Browser,
  url: string,
  viewport = { width: 1100, height: 750 },
): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport });
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(url);
  return { page, errors };
}

export async function signIn(page: Page, user: SignedUpUser): Promise<void> {
  await page.fill('input[name=email]', user.input.email);
  await page.fill('input[name=password]', user.input.password);
  await page.click('#signin-submit');
  await waitLive(page);
}

export const waitLive = (page: Page) =>
  expect.poll(() => page.textContent('#status'), { timeout: 15_000 }).toBe('live');

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: `${SCREENSHOTS}/${name}.png` });
}

/** The marker of a sighting (the side list's entry has the same data-post-id). */
export const markerOf = (page: Page, postId: string) =>
  page.locator(`.sighting [data-post-id="${postId}"]`);
export const listEntryOf = (page: Page, postId: string) =>
  page.locator(`#side-list li[data-post-id="${postId}"]`);

/** Waits until the live map's worker has put the post on the map (its aggregates). */
export async function onTheMap(node: RunningNode, postId: string): Promise<void> {
  await expect
    .poll(
      async () => (await node.deps.sql`select 1 from map_points where post_id = ${postId}`).length,
      { timeout: 15_000 },
    )
    .toBe(1);
}

/** The cells drawn, with the count and fill colour each shows. */
export async function drawnCells(page: Page) {
  return page.$$eval('path.cell', (paths) =>
    paths.map((p) => ({
      cell: p.getAttribute('data-cell'),
      count: Number(p.getAttribute('data-count')),
      fill: p.getAttribute('fill'),
    })),
  );
}

/** Moves the open map to `zoom/lat/lng`, the way a link to that view would. */
export async function showView(page: Page, view: string): Promise<void> {
  await page.evaluate(`location.hash = ${JSON.stringify(`#${view}`)}`);
}

/** Waits until the map shows the offline basemap at this level of detail. */
export async function basemapShown(page: Page, detail: string): Promise<void> {
  await expect
    .poll(() => page.locator('#map').getAttribute('data-basemap'), { timeout: 20_000 })
    .toBe(detail);
}

/**
 * One all-roles node for a file of viewer tests, and a Chromium: started before the
 * file's tests, closed after them.
 */
export function useViewerNode(env: Record<string, string> = {}) {
  const cluster = useInProcessNodes(env);
  let started: { browser: Browser; node: RunningNode; base: string; api: HttpApi } | undefined;
  beforeAll(async () => {
    const browser = await launchBrowser();
    const node = await cluster.start('server,gateway,workers');
    const base = nodeUrl(node);
    started = { browser, node, base, api: httpApi(base) };
  });
  afterAll(async () => {
    await started?.browser.close();
  });
  const ready = () => {
    if (!started) throw new Error('useViewerNode(): used before its beforeAll ran');
    return started;
  };
  return {
    get browser() {
      return ready().browser;
    },
    get node() {
      return ready().node;
    },
    get base() {
      return ready().base;
    },
    get api() {
      return ready().api;
    },
  };
}
