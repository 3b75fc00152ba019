import { BboxParam, PostKind, SinceParam } from '../../contract/index.ts';
import type { Deps } from '../../core/deps.ts';
import { AppError } from '../../core/errors.ts';
import { authedRoute, createRouter, errorResponses } from '../../core/http/openapi.ts';
import { decodeCursor, IdCursor, listOf, PageQuery, page } from '../../core/http/pagination.ts';
import { listPostsInBox, type PostRow, toPost } from '../../domain/board/post-reads.ts';
import { PostSchema } from '../../domain/board/schema.ts';
import { readCellCounts } from '../../domain/map/cell-cache.ts';
import { resolutionForZoom } from '../../domain/map/geo.ts';
import { MAX_CELLS } from '../../domain/map/queries.ts';
import { CellsQuery, CellsResponse } from '../../domain/map/schema.ts';

/** The time window, as both map reads take it. */
const SINCE_TEXT =
  'With `since` (an ISO-8601 datetime with offset, e.g. `2025-06-01T00:00:00Z`; in a query ' +
  'string `+02:00` is written `%2B02:00`), only sightings posted at or after that instant: ' +
  'the map\'s "today" or "this week". A `since` in the future is valid and selects nothing; ' +
  'one that is not such a datetime is 400.';

const routes = {
  cells: authedRoute({
    method: 'get',
    path: '/cells',
    tags: ['map'],
    summary: 'Sightings counted per H3 cell in a box, at the resolution that suits the zoom',
    description:
      'Zoom → resolution: ≤3 → 2, 4 → 3, 5–6 → 4, 7 → 5, 8–9 → 6, 10–11 → 7, 12–13 → 8, ≥14 → 9. ' +
      'A cell is in the box when its centre is. Obscured posts count at their public (coarse) ' +
      'point, private ones never. A box crossing the antimeridian has minLng > maxLng. ' +
      `More than ${MAX_CELLS} cells is 400: zoom out or shrink the box. ` +
      SINCE_TEXT,
    request: { query: CellsQuery },
    responses: {
      200: { description: 'counts', content: { 'application/json': { schema: CellsResponse } } },
      ...errorResponses(400, 401, 503),
    },
  }),
  sightings: authedRoute({
    method: 'get',
    path: '/sightings',
    tags: ['map'],
    summary: 'Located posts in a box, newest first',
    description: `Obscured posts at the centre of their coarse cell; private posts never. ${SINCE_TEXT}`,
    request: {
      query: PageQuery.extend({
        bbox: BboxParam,
        kind: PostKind.optional(),
        since: SinceParam.optional(),
      }),
    },
    responses: {
      200: {
        description: 'a page of posts',
        content: { 'application/json': { schema: listOf(PostSchema, 'MapSightings') } },
      },
      ...errorResponses(400, 401, 503),
    },
  }),
};

export function createMapRoutes(deps: Deps) {
  const router = createRouter();

  router.openapi(routes.cells, async (c) => {
    const { bbox, zoom, kind, since } = c.req.valid('query');
    const resolution = resolutionForZoom(zoom);
    const cells = await readCellCounts(deps, { bbox, resolution, kind, since });
    if (!cells) {
      throw new AppError(
        'validation_failed',
        `bbox: more than ${MAX_CELLS} cells at this zoom; zoom out or shrink it`,
        {
          details: { in: 'query', fields: [{ field: 'bbox', message: 'too large for this zoom' }] },
        },
      );
    }
    return c.json({ resolution, cells }, 200);
  });

  router.openapi(routes.sightings, async (c) => {
    const { bbox, kind, since, limit, cursor } = c.req.valid('query');
    const before = decodeCursor(cursor, IdCursor)?.id;
    const rows = await listPostsInBox(deps.sql, {
      viewerId: c.get('auth').userId,
      bbox,
      kind,
      since,
      limit,
      before,
    });
    return c.json(
      page(
        rows,
        limit,
        (r: PostRow) => toPost(r, deps.config.mediaPublicUrl),
        (r) => ({ id: r.id }),
      ),
      200,
    );
  });

  return router;
}
