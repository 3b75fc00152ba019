import { mkdirSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchBrowser } from '../helpers/browser.ts';
import { serveApp, useTestContext } from '../helpers/context.ts';

const ctx = useTestContext();
let browser: Browser;
let server: Awaited<ReturnType<typeof serveApp>>;

beforeAll(async () => {
  server = await serveApp(ctx.app);
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

it('the API reference page renders every operation in a real browser, with no external requests', async () => {
  const page = await browser.newPage();
  const external: string[] = [];
  page.on('request', (req) => {
    if (!req.url().startsWith(server.url) && !req.url().startsWith('data:'))
      external.push(req.url());
  });
  await page.goto(`${server.url}/api/v1/docs`);
  await page.getByText('Unimal API').first().waitFor();
  await page.locator('.opblock-summary-path', { hasText: '/auth/signup' }).first().waitFor();
  const paths = await page.locator('.opblock-summary-path').allTextContents();
  for (const p of ['/auth/signup', '/auth/login', '/auth/refresh', '/auth/logout', '/me']) {
    expect(paths.map((s) => s.replace(/\u200b/g, ''))).toContain(p);
  }
  expect(external).toEqual([]);
  mkdirSync('.data/screenshots', { recursive: true });
  await page.screenshot({ path: '.data/screenshots/api-docs.png', fullPage: false });
});
