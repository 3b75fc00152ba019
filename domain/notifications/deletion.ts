import type { DeletionStep } from '../events/index.ts';

/** Notifications: the user's inbox goes, and so do the notifications the user caused in others'. */
export const notificationsDeletion: DeletionStep = {
  domain: 'notifications',
  async run(tx, { userId }) {
    await tx`delete from notifications where user_id = ${userId} or actor_id = ${userId}`;
  },
};
