import type { Deps } from '../core/deps.ts';
import { provideAuthenticator } from '../core/http/auth.ts';
import { createRouter } from '../core/http/openapi.ts';
import { authenticate } from '../domain/auth/authenticate.ts';
import { createAuthRoutes } from './routes/auth.ts';
import { createDocsRoutes, documentCaching } from './routes/docs.ts';
import { createCommentRoutes, createInteractionRoutes } from './routes/interactions.ts';
import { createMapRoutes } from './routes/map.ts';
import { createMediaRoutes } from './routes/media.ts';
import { createNotificationRoutes } from './routes/notifications.ts';
import { createPhotoRoutes } from './routes/photos.ts';
import { createFeedRoutes, createPostRoutes, createUserPostRoutes } from './routes/posts.ts';
import { createSocialRoutes } from './routes/social.ts';
import { createUserRoutes } from './routes/users.ts';
import { createViewerRoutes } from './routes/viewer.ts';

export const API_PREFIX = '/api/v1';

/**
 * The public API of the server role: every feature router, the OpenAPI document of the
 * HTTP API, the AsyncAPI document of the realtime one, and their reference page.
 */
export function createApi(deps: Deps) {
  const v1 = createRouter();
  v1.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
  });
  // What every authedRoute's middleware checks a bearer token with.
  v1.use(provideAuthenticator((token) => authenticate(deps, token)));

  // Each router on its own prefix, its routes' paths relative to it; features may share a
  // prefix (/users holds the social graph's routes and a user's posts).
  v1.route('/auth', createAuthRoutes(deps));
  v1.route('/me', createUserRoutes(deps));
  v1.route('/users', createSocialRoutes(deps));
  v1.route('/posts', createPostRoutes(deps));
  v1.route('/users', createUserPostRoutes(deps));
  v1.route('/feed', createFeedRoutes(deps));
  v1.route('/posts', createInteractionRoutes(deps));
  v1.route('/comments', createCommentRoutes(deps));
  v1.route('/photos', createPhotoRoutes(deps));
  v1.route('/notifications', createNotificationRoutes(deps));
  v1.route('/map', createMapRoutes(deps));

  v1.use('/openapi.json', ...documentCaching);
  v1.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Unimal API',
      version: '1',
      description:
        'Share the animals around you as located, photographed sightings. Errors are ' +
        '`{ "error": { "code", "message", "details"? } }`; lists are `{ items, nextCursor }`.',
    },
    servers: [{ url: API_PREFIX }],
  });
  v1.route('/', createDocsRoutes());

  const api = createRouter();
  api.route(API_PREFIX, v1);
  api.route('/media', createMediaRoutes(deps));
  api.route('/', createViewerRoutes(deps));
  // The root says where to go instead of a bare 404: JSON for clients, a page for browsers.
  api.get('/', (c) => {
    if (/\btext\/html\b/.test(c.req.header('accept') ?? '')) return c.html(ROOT_PAGE);
    return c.json({ name: 'unimal', links: ROOT_LINKS });
  });
  return api;
}

const ROOT_LINKS = {
  map: '/map',
  docs: `${API_PREFIX}/docs`,
  openapi: `${API_PREFIX}/openapi.json`,
  realtime: `${API_PREFIX}/docs#realtime`,
  asyncapi: `${API_PREFIX}/asyncapi.json`,
  health: '/healthz',
};

const ROOT_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Unimal</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto">
  <h1>Unimal</h1>
  <p>A backend for sharing the animals around you. Nothing to see here; try:</p>
  <ul>
    <li><a href="${ROOT_LINKS.map}">${ROOT_LINKS.map}</a>: the live map of sightings</li>
    <li><a href="${ROOT_LINKS.docs}">${ROOT_LINKS.docs}</a>: the API reference, HTTP and realtime</li>
    <li><a href="${ROOT_LINKS.openapi}">${ROOT_LINKS.openapi}</a>: the HTTP API's OpenAPI document</li>
    <li><a href="${ROOT_LINKS.realtime}">${ROOT_LINKS.realtime}</a>: the realtime API (Socket.IO
      at <code>/socket.io</code>): how to connect, renew and sync, and every event</li>
    <li><a href="${ROOT_LINKS.asyncapi}">${ROOT_LINKS.asyncapi}</a>: its AsyncAPI document</li>
  </ul>
</body>
</html>
`;
