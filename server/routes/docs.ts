import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono, type MiddlewareHandler } from 'hono';
import { etag } from 'hono/etag';
import { createAsyncApiDocument } from '../../core/http/asyncapi.ts';
import type { AppEnv } from '../../core/http/types.ts';
import { loadOnce } from '../../core/load-once.ts';
import { REALTIME_SECTION } from './docs-realtime.ts';

/**
 * The API reference at /api/v1/docs: the HTTP API in Swagger UI, served from the
 * swagger-ui-dist package itself (no CDN), reading /api/v1/openapi.json; and the realtime
 * API, whose events docs-realtime.js lists from /api/v1/asyncapi.json, served here too.
 */
const ASSETS: Record<string, string> = {
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui.css': 'text/css; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

const REALTIME_SCRIPT = fileURLToPath(new URL('./docs-realtime.js', import.meta.url));

/**
 * The API documents change only with a deploy: a cache may keep them a few minutes, then
 * asks again with their ETag. (Inside `etag()`, so that its 304 keeps the header.)
 */
export const documentCaching: MiddlewareHandler[] = [
  etag(),
  async (c, next) => {
    await next();
    if (c.res.ok) c.res.headers.set('cache-control', 'public, max-age=300');
  },
];

const STYLE = `
  body { margin: 0; font-family: system-ui, sans-serif; color: #3b4151; }
  .docs-nav { position: sticky; top: 0; z-index: 10; display: flex; flex-wrap: wrap; gap: .5rem 1.5rem;
    align-items: baseline; padding: .75rem 1.25rem; background: #1b1b1b; color: #fff; }
  .docs-nav a { color: #9fd3ff; }
  .docs-nav nav { display: flex; flex-wrap: wrap; gap: .25rem 1rem; }
  .docs-part { max-width: 1460px; margin: 0 auto; padding: 0 20px; }
  .docs-part > h2 { margin: 1.5rem 0 0; font-size: 1.6rem; }
  .rt { max-width: 1460px; margin: 0 auto 4rem; padding: 0 20px; line-height: 1.5; }
  .rt h2 { font-size: 1.6rem; border-top: 1px solid #ddd; padding-top: 1.5rem; }
  .rt code { font-family: ui-monospace, monospace; font-size: .9em; background: #f3f3f3;
    padding: 0 .2em; border-radius: 3px; }
  .rt-example { background: #1b1b1b; color: #e8e8e8; padding: 1rem; overflow-x: auto;
    border-radius: 4px; font-size: .85rem; line-height: 1.4; }
  .rt-example code { background: none; padding: 0; }
  .rt-group-name { font-size: 1.2rem; margin: 2rem 0 .5rem; }
  .rt-event { border: 1px solid #ddd; border-radius: 4px; padding: .25rem 1rem 1rem; margin: .75rem 0; }
  .rt-event-name { font-size: 1.1rem; margin: .75rem 0 .25rem; }
  .rt-event-name code { font-size: 1.05em; }
  .rt-dir { font-size: .75rem; font-weight: 600; color: #fff; padding: .15em .5em;
    border-radius: 3px; vertical-align: middle; }
  .rt-send { background: #49cc90; }
  .rt-receive { background: #61affe; }
  .rt-summary { font-weight: 600; margin: .25rem 0; }
  .rt h5 { font-size: .95rem; margin: 1rem 0 .25rem; }
  .rt-fields { margin: .25rem 0; padding-left: 1.25rem; }
  .rt-optional, .rt-closed { color: #888; font-size: .85em; }
  .rt-type { color: #555; }
  .rt-errors dt { margin-top: .4rem; }
  .rt-errors dd { margin-left: 1.5rem; }
  .rt details > summary { cursor: pointer; }
  .rt-failed { color: #b00020; }
  #http, .rt, .rt h3, .rt-event { scroll-margin-top: 3.5rem; }
`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Unimal API reference</title>
  <link rel="icon" href="./docs/assets/favicon-32x32.png">
  <link rel="stylesheet" href="./docs/assets/swagger-ui.css">
  <style>${STYLE}</style>
</head>
<body>
  <header class="docs-nav">
    <strong>Unimal API reference</strong>
    <nav>
      <a href="#http">HTTP API</a>
      <a href="#realtime">Realtime API (Socket.IO)</a>
      <a href="/map">Live map</a>
      <a href="./openapi.json">openapi.json</a>
      <a href="./asyncapi.json">asyncapi.json</a>
    </nav>
  </header>
  <section id="http" class="docs-part">
    <h2>HTTP API</h2>
  </section>
  <div id="swagger-ui"></div>
  ${REALTIME_SECTION}
  <script src="./docs/assets/swagger-ui-bundle.js"></script>
  <script src="./docs/init.js"></script>
  <script src="./docs/realtime.js"></script>
</body>
</html>
`;

const INIT = `window.ui = SwaggerUIBundle({
  url: './openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  persistAuthorization: true,
});
`;

export function createDocsRoutes() {
  const dir = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  const cache = new Map<string, Promise<Buffer>>();
  const realtimeScript = loadOnce(() => readFile(REALTIME_SCRIPT));
  // Built at the first request: the schemas are fixed for the life of the process.
  const asyncapi = loadOnce(async () => {
    const text = JSON.stringify(createAsyncApiDocument());
    return { text, etag: `"${createHash('sha1').update(text).digest('base64url')}"` };
  });
  const docs = new Hono<AppEnv>();

  docs.use('/asyncapi.json', ...documentCaching);
  docs.get('/asyncapi.json', async (c) => {
    const { text, etag } = await asyncapi();
    return c.body(text, 200, { 'content-type': 'application/json', etag });
  });
  // Served at /api/v1/docs without a trailing slash, so relative URLs resolve under /api/v1/.
  docs.get('/docs', (c) => c.html(PAGE));
  docs.get('/docs/init.js', (c) =>
    c.body(INIT, 200, { 'content-type': 'text/javascript; charset=utf-8' }),
  );
  docs.get('/docs/realtime.js', async (c) =>
    c.body(new Uint8Array(await realtimeScript()), 200, {
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'no-cache',
    }),
  );
  docs.get('/docs/assets/:name', async (c) => {
    const name = c.req.param('name');
    const type = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
    if (!type) return c.notFound();
    let file = cache.get(name);
    if (!file) {
      file = readFile(path.join(dir, name));
      cache.set(name, file);
    }
    const body = await file;
    return c.body(new Uint8Array(body), 200, {
      'content-type': type,
      'cache-control': 'public, max-age=86400',
    });
  });
  return docs;
}
