import type { DeletionStep } from '../events/index.ts';
import { scrubAccount } from '../users/index.ts';

/**
 * The account: sessions and refresh tokens go; the users domain scrubs the
 * personal data for good and holds the handle back from new accounts for the
 * cooling-off period.
 */
export const authDeletion: DeletionStep = {
  domain: 'auth',
  async run(tx, { userId, handle }, deps) {
    await scrubAccount(tx, userId, {
      handle,
      holdUntil: new Date(Date.now() + deps.config.handleCoolingOffMs),
    });
    await tx`delete from sessions where user_id = ${userId}`;
    // The profile left the cache when the deletion was requested; nothing else here is cached.
    return [];
  },
};
