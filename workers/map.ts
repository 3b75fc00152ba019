import { EVENTS_STREAM } from '../contract/index.ts';
import type { TxSql } from '../core/db.ts';
import { findPost, toPost } from '../domain/board/post-reads.ts';
import { syncMap } from '../domain/map/cell-cache.ts';
import { MAP_RESOLUTIONS, roomsForCells } from '../domain/map/geo.ts';
import { parseStreamEvent } from './events.ts';
import type { StreamWorker } from './stream-worker.ts';

const byResolution = (cells: string[]) =>
  Object.fromEntries(cells.map((cell, i) => [String(MAP_RESOLUTIONS[i]), cell]));

/**
 * Keeps the map's aggregates in step with the board and pushes changes to the
 * sockets watching the cells concerned: `map:sighting` where a post appears,
 * `map:retract` where it leaves.
 *
 * What to push comes from the change itself, worked out under the per-post
 * lock (where the map had the post, where it has it now), so events for one
 * post handled concurrently or out of order can neither miss a retraction nor
 * show a deleted post. The pushes go out before the aggregates are written.
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
    const { postId } = event;
    // Read as nobody in particular: the public point, as every watcher may see it.
    const readPost = (tx: TxSql) => findPost(tx, postId, null);
    // A post located when its event was written most likely gets a sighting: read it
    // with the map's own reads, in their round trip. Any other is read only if it
    // turns out to need a push (located since), so a post without a place costs nothing more.
    const prefetch = event.type !== 'post.deleted' && event.publicCell !== null;
    await syncMap(deps, postId, {
      read: prefetch ? readPost : undefined,
      async onChange(before, after, tx, prefetched) {
        const moved = !before || !after || before.cells.some((c, i) => c !== after.cells[i]);
        if (!moved) return;
        if (before) {
          deps.emitter
            .to(roomsForCells(before.cells))
            .emit('map:retract', { postId, cells: byResolution(before.cells) });
        }
        if (!after) return;
        const row = prefetch ? prefetched : await readPost(tx);
        const post = row ? toPost(row, deps.config.mediaPublicUrl) : undefined;
        if (!post?.location) return;
        deps.emitter.to(roomsForCells(after.cells)).emit('map:sighting', {
          post,
          cell: post.cell ?? after.cells.at(-1)!,
          cells: byResolution(after.cells),
        });
      },
    });
  },
};
