import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Hono } from 'hono';
import { compress } from 'hono/compress';
import type { Deps } from '../../core/deps.ts';
import { AppError } from '../../core/errors.ts';
import type { AppEnv } from '../../core/http/types.ts';
import { loadOnce } from '../../core/load-once.ts';
import { DEMO_ACCOUNT } from '../demo-account.ts';

const VIEWER_DIR = fileURLToPath(new URL('../../client/viewer/', import.meta.url));
const require = createRequire(import.meta.url);
const packageDir = (name: string) => path.dirname(require.resolve(`${name}/package.json`));

/**
 * The geography the viewer draws when no tile server answers: Natural Earth's
 * countries (world-atlas, TopoJSON) at three levels of detail, coarse for the
 * world and finer as the map zooms in. Served by the app so that the map has land and borders on a
 * closed network.
 */
export const BASEMAPS = ['countries-110m', 'countries-50m', 'countries-10m'] as const;

/** What the page needs to know before its script runs. */
export interface ViewerSettings {
  tileUrl: string;
  attribution: string;
  /** Development only: the seeded demo account, named on the sign-in form. */
  demo: { email: string; password: string } | null;
}

/**
 * The live map viewer at /map: the page (client/viewer/index.html and its
 * stylesheet), its script bundled once (in memory, at the first request) by
 * esbuild from client/viewer/app.ts, Leaflet's CSS, and the offline basemaps.
 */
export function createViewerRoutes(deps: Deps) {
  const viewer = new Hono<AppEnv>();
  const settings: ViewerSettings = {
    tileUrl: deps.config.mapTileUrl,
    attribution: deps.config.mapTileAttribution,
    // Only where the account is seeded, which is never in production (see core/config.ts).
    demo: deps.config.demoAccount
      ? { email: DEMO_ACCOUNT.email, password: DEMO_ACCOUNT.password }
      : null,
  };
  const page = loadOnce(async () =>
    (await readFile(path.join(VIEWER_DIR, 'index.html'), 'utf8')).replace(
      '/*SETTINGS*/',
      // Inside a <script>: no "</script>" can close it early.
      `window.UNIMAL_MAP = ${JSON.stringify(settings).replace(/</g, '\\u003c')};`,
    ),
  );
  const bundle = loadOnce(() =>
    build({
      entryPoints: [path.join(VIEWER_DIR, 'app.ts')],
      bundle: true,
      write: false,
      format: 'iife',
      platform: 'browser',
      target: ['es2020'],
      minify: true,
      logLevel: 'silent',
    }).then((r) => r.outputFiles[0]!.text),
  );
  const styles = loadOnce(async () =>
    [
      await readFile(path.join(packageDir('leaflet'), 'dist', 'leaflet.css'), 'utf8'),
      await readFile(path.join(VIEWER_DIR, 'viewer.css'), 'utf8'),
    ].join('\n'),
  );
  const basemaps = new Map(
    BASEMAPS.map((name) => [
      name,
      loadOnce(() => readFile(path.join(packageDir('world-atlas'), `${name}.json`))),
    ]),
  );

  viewer.get('/map', async (c) => c.html(await page()));
  viewer.get('/map/app.js', async (c) =>
    c.body(await bundle(), 200, {
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'no-cache',
    }),
  );
  viewer.get('/map/viewer.css', async (c) =>
    c.body(await styles(), 200, {
      'content-type': 'text/css; charset=utf-8',
      'cache-control': 'no-cache',
    }),
  );
  // TopoJSON compresses to about a third: worth it on a phone.
  viewer.get('/map/basemap/:file{[a-z0-9-]+\\.json}', compress(), async (c) => {
    const load = basemaps.get(c.req.param('file').replace(/\.json$/, '') as never);
    if (!load) throw new AppError('not_found', `no such basemap; there are ${BASEMAPS.join(', ')}`);
    // The data only changes with the package: a day in caches is safe.
    return c.body(new Uint8Array(await load()), 200, {
      'content-type': 'application/json',
      'cache-control': 'public, max-age=86400',
    });
  });
  return viewer;
}
