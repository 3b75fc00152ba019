import { cacheScopes } from '../../core/cache-scopes.ts';
import type { DeletionStep } from '../events/index.ts';
import { recordEvent } from '../events/index.ts';
import { geoFor } from './geoprivacy.ts';
import { geoColumns } from './post-writes.ts';
import type { Post } from './schema.ts';

/**
 * Board: posts and comments stay, signed by nobody ("unknown user"); exact
 * points go (an open post keeps only its coarse cell, like an obscured one);
 * the user's likes go and the counts follow.
 */
export const boardDeletion: DeletionStep = {
  domain: 'board',
  async run(tx, { userId }) {
    const located = await tx<
      {
        id: string;
        lat: number;
        lng: number;
        geoprivacy: Post['geoprivacy'];
        kind: Post['kind'];
        createdAt: Date;
      }[]
    >`
      select id, lat, lng, geoprivacy, kind, created_at as "createdAt"
      from posts where author_id = ${userId} and lat is not null for update`;
    for (const p of located) {
      const privacy = p.geoprivacy === 'private' ? 'private' : 'obscured';
      const geo = geoFor({ lat: p.lat, lng: p.lng }, privacy);
      const publicOnly = { ...geo, lat: null, lng: null, accuracyM: null, cell: null };
      await tx`
        update posts set geoprivacy = ${privacy}, ${tx(geoColumns(publicOnly))}, updated_at = now()
        where id = ${p.id}`;
      // The live map follows through its own consumer, like after any edit.
      await recordEvent(tx, {
        type: 'post.updated',
        postId: p.id,
        authorId: userId,
        kind: p.kind,
        geoprivacy: privacy,
        publicCell: geo.pubCell,
        createdAt: p.createdAt.toISOString(),
      });
    }
    const signed = await tx<{ id: string }[]>`
      update posts set author_id = null where author_id = ${userId} returning id`;
    await tx`update comments set author_id = null where author_id = ${userId}`;
    const liked = await tx<{ id: string }[]>`
      with gone as (delete from likes where user_id = ${userId} returning post_id)
      update posts set like_count = greatest(like_count - g.n, 0)
      from (select post_id, count(*)::int as n from gone group by post_id) g
      where posts.id = g.post_id
      returning posts.id`;
    // Their posts (unsigned, points gone), the posts they liked (counts), their list.
    return [...signed, ...liked]
      .map((p) => cacheScopes.post(p.id))
      .concat(cacheScopes.authorPosts(userId));
  },
};
