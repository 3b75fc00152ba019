import { EVENTS_STREAM } from '../contract/index.ts';
import type { TxSql } from '../core/db.ts';
import type { Deps } from '../core/deps.ts';
import { geoFor } from '../domain/board/geoprivacy.ts';
import { recordEvent } from '../domain/events/outbox.ts';
import { deletePhotos } from '../domain/photos/queries.ts';
import type { StreamWorker } from './consumer.ts';
import { parseStreamEvent } from './events.ts';

/** The domains that react to user.deleted, each in its own consumer group. */
export const DELETION_DOMAINS = ['board', 'photos', 'social', 'notifications', 'auth'] as const;
type Domain = (typeof DELETION_DOMAINS)[number];

/**
 * One domain's step of an account deletion: its own tables only, in one
 * transaction with the record that the step is done, so a step is either done
 * once or not at all; running it again finds nothing left to do.
 */
function deletionStep(
  domain: Domain,
  work: (tx: TxSql, userId: string, handle: string, deps: Deps) => Promise<void>,
): StreamWorker {
  return {
    group: `deletion-${domain}`,
    stream: EVENTS_STREAM,
    async handle(message, deps) {
      const { event } = parseStreamEvent(message);
      if (event.type !== 'user.deleted') return;
      await deps.sql.begin(async (tx) => {
        const [done] = await tx`
          select 1 from account_deletion_steps where user_id = ${event.userId} and domain = ${domain}`;
        if (done) return;
        await work(tx, event.userId, event.handle, deps);
        await tx`insert into account_deletion_steps (user_id, domain) values (${event.userId}, ${domain})`;
      });
    },
  };
}

/**
 * Board: posts and comments stay, signed by nobody ("unknown user"); exact
 * points go (an open post keeps only its coarse cell, like an obscured one);
 * the user's likes go and the counts follow.
 */
export const boardDeletion = deletionStep('board', async (tx, userId) => {
  const located = await tx<
    {
      id: string;
      lat: number;
      lng: number;
      geoprivacy: string;
      kind: 'pet' | 'stray' | 'wild';
      createdAt: Date;
    }[]
  >`
    select id, lat, lng, geoprivacy, kind, created_at as "createdAt"
    from posts where author_id = ${userId} and lat is not null for update`;
  for (const p of located) {
    const privacy = p.geoprivacy === 'private' ? 'private' : 'obscured';
    const geo = geoFor({ lat: p.lat, lng: p.lng }, privacy);
    await tx`
      update posts set geoprivacy = ${privacy}, lat = null, lng = null, accuracy_m = null, cell = null,
        pub_lat = ${geo.pubLat}, pub_lng = ${geo.pubLng}, pub_cell = ${geo.pubCell},
        pub_r6 = ${geo.pubR6}, pub_r7 = ${geo.pubR7}, pub_r9 = ${geo.pubR9}, updated_at = now()
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
  await tx`update posts set author_id = null where author_id = ${userId}`;
  await tx`update comments set author_id = null where author_id = ${userId}`;
  await tx`
    with gone as (delete from likes where user_id = ${userId} returning post_id)
    update posts set like_count = greatest(like_count - g.n, 0)
    from (select post_id, count(*)::int as n from gone group by post_id) g
    where posts.id = g.post_id`;
});

/** Photos: every photo of the user goes, its objects through the storage deletion queue. */
export const photosDeletion = deletionStep('photos', async (tx, userId) => {
  const rows = await tx<
    { id: string }[]
  >`select id from photos where owner_id = ${userId} for update`;
  await deletePhotos(
    tx,
    rows.map((r) => r.id),
  );
});

/** Social graph: edges both ways go; the people on the other side get their counts corrected. */
export const socialDeletion = deletionStep('social', async (tx, userId) => {
  await tx`
    with gone as (
      delete from follows where follower_id = ${userId} or followee_id = ${userId}
      returning follower_id, followee_id
    )
    update users set
      follower_count = greatest(follower_count - (select count(*) from gone where followee_id = users.id), 0),
      following_count = greatest(following_count - (select count(*) from gone where follower_id = users.id), 0)
    where id in (select follower_id from gone union select followee_id from gone)`;
});

/** Notifications: the user's inbox goes, and so do the notifications the user caused in others'. */
export const notificationsDeletion = deletionStep('notifications', async (tx, userId) => {
  await tx`delete from notifications where user_id = ${userId} or actor_id = ${userId}`;
});

/**
 * Auth: personal data is scrubbed for good (email, handle, names, bio, password
 * hash; sessions and refresh tokens deleted); the handle is held back from new
 * accounts for the cooling-off period.
 */
export const authDeletion = deletionStep('auth', async (tx, userId, handle, deps) => {
  const until = new Date(Date.now() + deps.config.handleCoolingOffMs);
  await tx`
    insert into handle_holds (handle, until) values (${handle}, ${until})
    on conflict (handle) do update set until = greatest(handle_holds.until, excluded.until)`;
  await tx`
    update users set email = 'deleted+' || id || '@invalid', handle = 'deleted_' || replace(id::text, '-', ''),
      display_name = '', bio = '', password_hash = '', updated_at = now()
    where id = ${userId}`;
  await tx`delete from sessions where user_id = ${userId}`;
});

export const DELETION_WORKERS = [
  boardDeletion,
  photosDeletion,
  socialDeletion,
  notificationsDeletion,
  authDeletion,
];

/** Per deleted account, which domains have finished (for `npm run deletions`). */
export async function deletionProgress(sql: Deps['sql']) {
  return sql<{ userId: string; requestedAt: Date; completedAt: Date | null; done: string[] }[]>`
    select d.user_id as "userId", d.requested_at as "requestedAt",
      -- complete when every domain has its row (derived on read: no step has to see the others)
      case when count(s.domain) = ${DELETION_DOMAINS.length} then max(s.done_at) end as "completedAt",
      coalesce(array_agg(s.domain order by s.domain) filter (where s.domain is not null), '{}') as done
    from account_deletions d left join account_deletion_steps s on s.user_id = d.user_id
    group by d.user_id order by d.requested_at desc limit 200`;
}
