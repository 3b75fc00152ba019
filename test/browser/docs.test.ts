import { mkdirSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CLIENT_EVENT_NAMES, SERVER_EVENT_NAMES } from '../../core/http/asyncapi.ts';
import { CLIENT_EVENTS } from '../../core/http/asyncapi-events.ts';
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

it('the page has a realtime section beside the HTTP reference, drawn from the AsyncAPI document', async () => {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(String(err)));
  await page.goto(`${server.url}/api/v1/docs#realtime`);
  const realtime = page.locator('#realtime');
  await realtime.getByRole('heading', { name: 'Realtime API (Socket.IO)' }).waitFor();

  // Every event both ways, with its direction, once the document is read.
  const events = realtime.locator('.rt-event');
  await events.first().waitFor();
  const names = await realtime.locator('.rt-event-name code').allTextContents();
  expect(names.sort()).toEqual([...CLIENT_EVENT_NAMES, ...SERVER_EVENT_NAMES].sort());
  for (const event of [...CLIENT_EVENT_NAMES, ...SERVER_EVENT_NAMES]) {
    const section = page.locator(`[id="event-${event}"]`);
    await section.waitFor({ state: 'visible' });
    const direction = CLIENT_EVENT_NAMES.includes(event as never)
      ? 'client → server'
      : 'server → client';
    expect(await section.locator('.rt-dir').textContent(), event).toBe(direction);
  }
  // A client event shows its payload's fields, its ack's and every error code it can get.
  const subscribe = page.locator('[id="event-map:subscribe"]');
  const fields = await subscribe.locator('.rt-field').allTextContents();
  for (const field of ['bbox', 'zoom', 'kind', 'resolution', 'cells']) {
    expect(fields, field).toContain(field);
  }
  const codes = await subscribe.locator('.rt-errors dt').allTextContents();
  expect(codes).toEqual(Object.keys(CLIENT_EVENTS['map:subscribe'].errors));
  // A push shows its payload: the notification's fields.
  const notification = page.locator('[id="event-notification"]');
  expect(await notification.locator('.rt-field').allTextContents()).toEqual(
    expect.arrayContaining(['id', 'type', 'actor', 'postId', 'createdAt', 'readAt']),
  );

  // The flow in prose, and a client to copy.
  const flow = await realtime.locator('#realtime-flow + ol').textContent();
  for (const step of ['auth: { token }', 'notifications:sync', 'map:subscribe', 'auth:renew']) {
    expect(flow, step).toContain(step);
  }
  const example = await realtime.locator('.rt-example').textContent();
  expect(example).toContain("import { io } from 'socket.io-client';");
  expect(example).toContain("transports: ['websocket']");
  expect(example).toContain("emitWithAck('notifications:sync'");
  expect(await realtime.locator('.rt-example').isVisible()).toBe(true);

  // Links to the map and both documents, which answer.
  const nav = page.locator('.docs-nav');
  for (const [name, path] of [
    ['Live map', '/map'],
    ['openapi.json', '/api/v1/openapi.json'],
    ['asyncapi.json', '/api/v1/asyncapi.json'],
  ] as const) {
    const link = nav.getByRole('link', { name, exact: true });
    expect(await link.isVisible(), name).toBe(true);
    const href = await link.evaluate((a) => (a as unknown as { href: string }).href);
    expect(href).toBe(`${server.url}${path}`);
    expect((await page.request.get(href)).status(), href).toBe(200);
  }
  // The root page's link to #realtime lands there, though Swagger UI grows above it.
  await page.locator('.opblock-summary-path').first().waitFor();
  const heading = realtime.getByRole('heading', { name: 'Realtime API (Socket.IO)' });
  await expect
    .poll(async () => {
      const box = await heading.boundingBox();
      return box !== null && box.y >= 0 && box.y < (page.viewportSize()?.height ?? 0);
    })
    .toBe(true);

  expect(problems).toEqual([]);
  mkdirSync('.data/screenshots', { recursive: true });
  await subscribe.scrollIntoViewIfNeeded();
  await page.screenshot({ path: '.data/screenshots/api-docs-realtime.png', fullPage: false });
});
