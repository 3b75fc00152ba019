import { EVENTS_STREAM } from '../core/contract.ts';
import { findPost, toPost } from '../server/features/board/queries.ts';
import { MAP_RESOLUTIONS, roomsForCells } from '../server/features/map/geo.ts';
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
 * `map:retract` where it leaves. Every event re-reads the post as it is now,
 * so order and repetition of events do not matter for the counts.
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
    const { before, after } = await syncMapPoint(deps.sql, event.postId);
    const moved = !before || !after || before.cells.some((c, i) => c !== after.cells[i]);
    if (before && moved) {
      const rooms = roomsForCells(before.cells);
      deps.emitter
        .to(rooms)
        .emit('map:retract', { postId: event.postId, cells: byResolution(before.cells) });
    }
    if (after && (moved || event.type === 'post.created')) {
      const row = await findPost(deps.sql, event.postId, NOBODY);
      if (!row) return;
      const post = toPost(row, deps.config.mediaPublicUrl);
      const rooms = roomsForCells(after.cells);
      deps.emitter.to(rooms).emit('map:sighting', {
        post,
        cell: post.cell ?? after.cells.at(-1)!,
        cells: byResolution(after.cells),
      });
    }
  },
};
