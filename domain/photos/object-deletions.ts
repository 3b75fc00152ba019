import type { TxSql } from '../../core/db.ts';

/**
 * The queue of objects to remove from the store (`storage_deletions`): photo
 * rows go at once, their objects through here, retried until the store confirms.
 */

/** Longest wait between two attempts at one object: an hour. */
const MAX_BACKOFF_S = 3600;

/** Keys due for an attempt, locked for this sweep; another node's sweep skips them. */
export async function claimDueObjectDeletions(tx: TxSql, limit: number): Promise<string[]> {
  const rows = await tx<{ key: string }[]>`
    select key from storage_deletions where next_attempt_at <= now()
    order by next_attempt_at limit ${limit} for update skip locked`;
  return rows.map((r) => r.key);
}

/** A failed attempt: the next one waits twice as long as the last (at most an hour). */
export async function deferObjectDeletions(
  tx: TxSql,
  keys: string[],
  error: string,
): Promise<void> {
  await tx`
    update storage_deletions set attempts = attempts + 1, last_error = ${error.slice(0, 500)},
      next_attempt_at = now() + make_interval(secs => least(power(2, attempts + 1), ${MAX_BACKOFF_S}))
    where key = any(${keys}::text[])`;
}

/** The store confirmed: these objects are gone. */
export async function forgetObjectDeletions(tx: TxSql, keys: string[]): Promise<void> {
  await tx`delete from storage_deletions where key = any(${keys}::text[])`;
}
