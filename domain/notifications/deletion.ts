import { cacheScopes } from '../../core/cache-scopes.ts';
import type { DeletionStep } from '../events/index.ts';

/** Notifications: the user's inbox goes, and so do the notifications the user caused in others'. */
export const notificationsDeletion: DeletionStep = {
  domain: 'notifications',
  async run(tx, { userId }) {
    const inboxes = await tx<{ userId: string }[]>`
      delete from notifications where user_id = ${userId} or actor_id = ${userId}
      returning user_id as "userId"`;
    // The unread counts of those who had notifications from them.
    return [...new Set(inboxes.map((n) => n.userId))].map(cacheScopes.unread);
  },
};
