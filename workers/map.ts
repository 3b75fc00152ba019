import { EVENTS_STREAM } from '../core/contract.ts';
import { findPost, toPost } from '../server/features/board/queries.ts';
import { MAP_RESOLUTIONS, mapCells, roomsForCells } from '../server/features/map/geo.ts';
import { syncMapPoint } from '../server/features/map/queries.ts';
import type { StreamWorker } from './consumer.ts';
import { parseStreamEvent } from './events.ts';

/** Reads posts as a reader who is not their author: public locations only. */
const NOBODY = '00000000-0000-0000-0000-000000000000';

const byResolution = (cells: string[]) =>
  Object.fromEntries(cells.map((cell, i) => [String(MAP_RESOLUTIONS[i]), cell]));

/**
 * Keeps the map's aggregates in step with the board and pushes changes to the
 * sockets watching the cells concerned: `map:sighting` where a post appears,
 * `map:retract` where it leaves.
 *
 * The push goes first, from the post as it reads now and where the map last
 * had it (two reads), so watchers need not wait for the aggregates; then the
 * aggregates are brought in line under a per-post lock, from the post as it is
 * then, so the order and repetition of events do not matter for the counts.
 */
export const liveMap: StreamWorker = {
  group: 'map',
  stream: EVENTS_STREAM,
  async handle(message, deps) {
    const { event } = parseStreamEvent(message);
    if (
      event.type !== 'post.created' &&
      event.type !== 'post.updated' &&
      event.type !== 'post.deleted'
    )
      return;
    const [[was], row] = await Promise.all([
      deps.sql<{ cells: string[] }[]>`select cells from map_points where post_id = ${event.postId}`,
      findPost(deps.sql, event.postId, NOBODY),
    ]);
    const post = row ? toPost(row, deps.config.mediaPublicUrl) : undefined;
    const before = was?.cells;
    const after = post?.location ? mapCells(post.location.lat, post.location.lng) : undefined;
    const moved = !before || !after || before.some((c, i) => c !== after[i]);
    if (before && moved) {
      deps.emitter
        .to(roomsForCells(before))
        .emit('map:retract', { postId: event.postId, cells: byResolution(before) });
    }
    if (post && after && (moved || event.type === 'post.created')) {
      deps.emitter.to(roomsForCells(after)).emit('map:sighting', {
        post,
        cell: post.cell ?? after.at(-1)!,
        cells: byResolution(after),
      });
    }
    await syncMapPoint(deps.sql, event.postId);
  },
};
