import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Hono } from 'hono';
import type { AppEnv } from '../../core/http/types.ts';

/**
 * A human-readable API reference at /api/v1/docs: Swagger UI, served from the
 * swagger-ui-dist package itself (no CDN), reading /api/v1/openapi.json.
 */
const ASSETS: Record<string, string> = {
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui.css': 'text/css; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Unimal API reference</title>
  <link rel="icon" href="./docs/assets/favicon-32x32.png">
  <link rel="stylesheet" href="./docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="./docs/assets/swagger-ui-bundle.js"></script>
  <script src="./docs/init.js"></script>
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
  const docs = new Hono<AppEnv>();

  // Served at /api/v1/docs without a trailing slash, so relative URLs resolve under /api/v1/.
  docs.get('/docs', (c) => c.html(PAGE));
  docs.get('/docs/init.js', (c) =>
    c.body(INIT, 200, { 'content-type': 'text/javascript; charset=utf-8' }),
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
