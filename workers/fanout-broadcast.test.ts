import { describe, expect, it } from 'vitest';
import { FANOUT_STREAM } from '../contract/index.ts';
import { createPost, signup } from '../test/helpers/builders.ts';
import { useTestContext } from '../test/helpers/context.ts';
import { seedFollowers } from '../test/helpers/realtime.ts';
import { startConsumer } from './consumer.ts';
import { fanoutChunks, postFanout } from './fanout.ts';
import { relayOnce } from './relay.ts';

// Audiences larger than a chunk (100) on both sides of a threshold (300) that is itself
// larger than a chunk: what the defaults look like (1,000 and 10,000), scaled down.
const ctx = useTestContext({
  FANOUT_CHUNK_SIZE: '100',
  FANOUT_BROADCAST_THRESHOLD: '300',
  STREAM_CLAIM_IDLE: '300ms',
  STREAM_BLOCK: '100ms',
});

async function fannedOut(postId: string) {
  const [row] = await ctx.deps.sql<{ written: number; broadcast: number; mode: boolean | null }[]>`
    select (select count(*)::int from notifications where post_id = ${postId}) as written,
      (select count(*)::int from broadcast_notifications where post_id = ${postId}) as broadcast,
      (select broadcast from fanout_modes where post_id = ${postId}) as mode`;
  return row!;
}

describe('broadcast authors above a chunk’s size', () => {
  it('broadcast from the author’s whole follower count: one row for 450 followers, a row each for 250', async () => {
    const big = await signup(ctx);
    const small = await signup(ctx);
    await seedFollowers(ctx.deps.sql, big.id, 450);
    await seedFollowers(ctx.deps.sql, small.id, 250);
    const chunksBefore = await ctx.deps.redis.xlen(FANOUT_STREAM);
    const broadcastPost = await createPost(ctx, big);
    const writtenPost = await createPost(ctx, small);
    await relayOnce(ctx.deps);
    const consumers = await Promise.all([
      startConsumer(ctx.deps, postFanout),
      startConsumer(ctx.deps, fanoutChunks),
    ]);
    try {
      await expect
        .poll(() => fannedOut(writtenPost.id as string), { timeout: 15_000 })
        .toEqual({ written: 250, broadcast: 0, mode: false });
      await expect
        .poll(() => fannedOut(broadcastPost.id as string), { timeout: 15_000 })
        .toEqual({ written: 0, broadcast: 1, mode: true });
      // Both large: chunks for each, the broadcast one's only pushing (and putting the
      // followers' sockets in the author's room); after them, the room is ready.
      expect((await ctx.deps.redis.xlen(FANOUT_STREAM)) - chunksBefore).toBe(5 + 3);
      await expect
        .poll(
          async () =>
            (
              await ctx.deps.sql<{ ready: boolean }[]>`
                select rooms_ready as ready from broadcast_authors where author_id = ${big.id}`
            )[0]?.ready,
        )
        .toBe(true);
    } finally {
      await Promise.all(consumers.map((c) => c.stop()));
    }
  });
});
