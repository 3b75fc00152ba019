import { cacheScopes } from '../../core/cache-scopes.ts';
import type { DeletionStep } from '../events/index.ts';

/**
 * Social graph: edges both ways go; the people on the other side get their
 * counts corrected (the follow counters on users rows are the social graph's:
 * it is the only writer of them).
 */
export const socialDeletion: DeletionStep = {
  domain: 'social',
  async run(tx, { userId }) {
    const counted = await tx<{ id: string }[]>`
      with gone as (
        delete from follows where follower_id = ${userId} or followee_id = ${userId}
        returning follower_id, followee_id
      )
      update users set
        follower_count = greatest(follower_count - (select count(*) from gone where followee_id = users.id), 0),
        following_count = greatest(following_count - (select count(*) from gone where follower_id = users.id), 0)
      where id in (select follower_id from gone union select followee_id from gone)
      returning id`;
    // Their followers' and followees' counts.
    return counted.map((u) => cacheScopes.user(u.id));
  },
};
