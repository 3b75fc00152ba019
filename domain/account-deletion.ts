import type { Sql, TxSql } from '../core/db.ts';
import type { Deps } from '../core/deps.ts';
import { authDeletion, revokeAllSessions } from './auth/index.ts';
import { boardDeletion } from './board/index.ts';
import { type DeletionStep, recordEvent } from './events/index.ts';
import { notificationsDeletion } from './notifications/index.ts';
import { photosDeletion } from './photos/index.ts';
import { socialDeletion } from './social/index.ts';
import { markDeleted } from './users/index.ts';

/**
 * Deleting an account across domains. The request marks the account, ends its
 * sessions and records `user.deleted`; each domain then runs its own step on
 * its own tables (workers/account-deletion.ts gives each a consumer group, so a
 * domain that fails holds up no other). The account is gone for good once
 * every step has its row in account_deletion_steps.
 */
export const DELETION_STEPS: readonly DeletionStep[] = [
  boardDeletion,
  photosDeletion,
  socialDeletion,
  notificationsDeletion,
  authDeletion,
];

/**
 * Starts the deletion of an account, in the caller's transaction; false when
 * it had started already (a concurrent request got there first).
 */
export async function requestAccountDeletion(
  tx: TxSql,
  account: { userId: string; handle: string },
): Promise<boolean> {
  const { userId, handle } = account;
  if (!(await markDeleted(tx, userId))) return false;
  await revokeAllSessions(tx, userId, 'account_deleted');
  await tx`insert into account_deletions (user_id) values (${userId}) on conflict do nothing`;
  await recordEvent(tx, {
    type: 'user.deleted',
    userId,
    handle,
    requestedAt: new Date().toISOString(),
  });
  return true;
}

/** Runs one step unless it is done, and records it done, in one transaction. */
export async function runDeletionStep(
  sql: Sql,
  step: DeletionStep,
  account: { userId: string; handle: string },
  deps: Parameters<DeletionStep['run']>[2] & Pick<Deps, 'cache'>,
): Promise<void> {
  const stale = await sql.begin(async (tx) => {
    const [done] = await tx`
      select 1 from account_deletion_steps where user_id = ${account.userId} and domain = ${step.domain}`;
    if (done) return undefined;
    const scopes = await step.run(tx, account, deps);
    await tx`
      insert into account_deletion_steps (user_id, domain) values (${account.userId}, ${step.domain})`;
    return scopes;
  });
  if (stale) await deps.cache.invalidate(stale);
}

/** Per deleted account, which domains have finished (for `npm run deletions`). */
export async function deletionProgress(sql: Sql) {
  return sql<{ userId: string; requestedAt: Date; completedAt: Date | null; done: string[] }[]>`
    select d.user_id as "userId", d.requested_at as "requestedAt",
      -- complete when every domain has its row (derived on read: no step has to see the others)
      case when count(s.domain) = ${DELETION_STEPS.length} then max(s.done_at) end as "completedAt",
      coalesce(array_agg(s.domain order by s.domain) filter (where s.domain is not null), '{}') as done
    from account_deletions d left join account_deletion_steps s on s.user_id = d.user_id
    group by d.user_id order by d.requested_at desc limit 200`;
}
