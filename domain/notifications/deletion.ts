import { cacheScopes } from '../../core/cache-scopes.ts';
import type { DeletionStep } from '../events/index.ts';

/**
 * Notifications: the user's inbox goes (written rows, broadcast reads and read marks,
 * follow periods), and
 * so do the notifications the user caused in others' (written rows, and their broadcast
 * posts' rows, which every follower's inbox merged in).
 */
export const notificationsDeletion: DeletionStep = {
  domain: 'notifications',
  async run(tx, { userId }) {
    const [inboxes] = await Promise.all([
      tx<{ userId: string }[]>`
        delete from notifications where user_id = ${userId} or actor_id = ${userId}
        returning user_id as "userId"`,
      tx`delete from broadcast_notifications where author_id = ${userId}`,
      tx`delete from broadcast_authors where author_id = ${userId}`,
      tx`delete from broadcast_reads where user_id = ${userId}`,
      tx`delete from broadcast_read_marks where user_id = ${userId}`,
      tx`delete from follow_periods where follower_id = ${userId} or followee_id = ${userId}`,
    ]);
    // The unread counts of those who had written notifications from them (the broadcast
    // part of a count is never cached).
    return [...new Set(inboxes.map((n) => n.userId))].map(cacheScopes.unread);
  },
};
