import type { Config } from '../../core/config.ts';
import type { TxSql } from '../../core/db.ts';

/**
 * One domain's part of an account deletion: its own tables only, run in one
 * transaction with the record that the step is done (workers/account-deletion.ts),
 * so a step is either done once or not at all; running it again finds nothing
 * left to do.
 */
export interface DeletionStep {
  /** The name its completion is recorded under (account_deletion_steps.domain). */
  domain: string;
  /**
   * Returns the read cache scopes (core/cache-scopes.ts) its changes leave stale
   * (counts, posts, other inboxes), invalidated once the step committed.
   */
  run(
    tx: TxSql,
    account: { userId: string; handle: string },
    deps: { config: Config },
  ): Promise<string[]>;
}
