import type { DeletionStep } from '../events/index.ts';
import { deletePhotos } from './queries.ts';

/** Photos: every photo of the user goes, its objects through the storage deletion queue. */
export const photosDeletion: DeletionStep = {
  domain: 'photos',
  async run(tx, { userId }) {
    const rows = await tx<{ id: string; postId: string | null }[]>`
      select id, post_id as "postId" from photos where owner_id = ${userId} for update`;
    await deletePhotos(
      tx,
      rows.map((r) => r.id),
    );
    // The posts that showed them.
    return [...new Set(rows.flatMap((r) => (r.postId ? [`post:${r.postId}`] : [])))];
  },
};
