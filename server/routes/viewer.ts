import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Hono } from 'hono';
import type { Deps } from '../../core/deps.ts';
import type { AppEnv } from '../../core/http/types.ts';

const ENTRY = fileURLToPath(new URL('../../client/viewer/app.ts', import.meta.url));

const PAGE = (tileUrl: string, attribution: string) => `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Unimal — live animal map</title>
  <link rel="stylesheet" href="/map/leaflet.css">
  <style>
    html, body { margin: 0; height: 100%; font: 14px system-ui, sans-serif; }
    header { position: absolute; z-index: 1000; top: 8px; left: 56px; background: #fffc; padding: 6px 10px;
      border-radius: 6px; box-shadow: 0 1px 4px #0003; }
    #map { position: absolute; inset: 0; background: #dfe8d8; }
    /* The hidden attribute wins over every display rule below. */
    [hidden] { display: none !important; }
    /* On top of everything, the map's panes and controls included. */
    #signin { position: relative; z-index: 2000; box-sizing: border-box; max-width: 340px; margin: 80px auto;
      display: grid; gap: 8px; padding: 16px 20px 20px; background: #fff; border-radius: 8px;
      box-shadow: 0 2px 12px #0003; }
    #signin h2 { margin: 0 0 4px; font-size: 18px; }
    #signin input, #signin button { font: inherit; padding: 6px 8px; }
    #signin-message { margin: 0; color: #b91c1c; }
    #signin-message:empty { display: none; }
    .sighting span { display: block; width: 18px; height: 18px; border-radius: 50%; border: 2px solid #fff;
      box-shadow: 0 0 6px #0006; animation: pop 1.2s ease-out; background: #7c3aed; }
    .sighting span[data-kind=pet] { background: #2563eb; }
    .sighting span[data-kind=wild] { background: #16a34a; }
    .sighting span[data-kind=stray] { background: #dc2626; }
    @keyframes pop { 0% { transform: scale(0.2); opacity: 0; } 40% { transform: scale(1.6); opacity: 1; }
      100% { transform: scale(1); } }
  </style>
</head>
<body>
  <header><b>Unimal</b> live map · <span id="status">signed out</span> · <span id="summary"></span></header>
  <form id="signin" hidden>
    <h2>Sign in to watch the map</h2>
    <p id="signin-message" role="alert"></p>
    <input id="signin-email" name="email" type="email" placeholder="email" required autocomplete="username">
    <input name="password" type="password" placeholder="password" required autocomplete="current-password">
    <button type="submit">Sign in</button>
  </form>
  <div id="map" hidden></div>
  <script>window.UNIMAL_MAP = ${JSON.stringify({ tileUrl, attribution }).replace(/</g, '\\u003c')};</script>
  <script src="/map/app.js"></script>
</body>
</html>
`;

/**
 * The live map viewer at /map: a page, its script bundled once (in memory, at
 * the first request) by esbuild from client/viewer/app.ts, and Leaflet's CSS.
 */
export function createViewerRoutes(deps: Deps) {
  const viewer = new Hono<AppEnv>();
  let bundle: Promise<string> | undefined;
  const leafletDir = path.dirname(createRequire(import.meta.url).resolve('leaflet/package.json'));

  viewer.get('/map', (c) => c.html(PAGE(deps.config.mapTileUrl, deps.config.mapTileAttribution)));
  viewer.get('/map/app.js', async (c) => {
    bundle ??= build({
      entryPoints: [ENTRY],
      bundle: true,
      write: false,
      format: 'iife',
      platform: 'browser',
      target: ['es2020'],
      minify: true,
      logLevel: 'silent',
    }).then((r) => r.outputFiles[0]!.text);
    const js = await bundle.catch((err: unknown) => {
      bundle = undefined;
      throw err;
    });
    return c.body(js, 200, {
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'no-cache',
    });
  });
  viewer.get('/map/leaflet.css', async (c) =>
    c.body(await readFile(path.join(leafletDir, 'dist', 'leaflet.css'), 'utf8'), 200, {
      'content-type': 'text/css; charset=utf-8',
    }),
  );
  return viewer;
}
