import type { Deps } from '../core/deps.ts';
import type { RunningRole } from '../core/roles.ts';
import {
  claimDueObjectDeletions,
  deferObjectDeletions,
  forgetObjectDeletions,
} from '../domain/photos/object-deletions.ts';
import { deleteOrphans } from '../domain/photos/queries.ts';
import { startPeriodic } from './periodic.ts';

/**
 * Removes the objects queued in `storage_deletions`, retrying with exponential
 * backoff (capped at an hour) until the store confirms. Rows are claimed with
 * SKIP LOCKED, so worker nodes share the queue without doing the same work.
 * Deleting a missing object succeeds, so a repeat is harmless.
 */
export async function sweepStorageDeletions(
  deps: Pick<Deps, 'sql' | 'storage' | 'logger'>,
  batch = 500,
): Promise<{ deleted: number; failed: number }> {
  return deps.sql.begin(async (tx) => {
    const keys = await claimDueObjectDeletions(tx, batch);
    if (keys.length === 0) return { deleted: 0, failed: 0 };
    try {
      await deps.storage.remove(keys);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      await deferObjectDeletions(tx, keys, message);
      deps.logger.warn({ err: message, count: keys.length }, 'object deletion failed; will retry');
      return { deleted: 0, failed: keys.length };
    }
    await forgetObjectDeletions(tx, keys);
    return { deleted: keys.length, failed: 0 };
  });
}

export function startStorageJobs(deps: Deps): RunningRole[] {
  const { config, logger } = deps;
  return [
    startPeriodic('storage-deletions', logger, config.storageSweepIntervalMs, async () => {
      // Drain what is due, a batch at a time.
      for (;;) {
        const { deleted } = await sweepStorageDeletions(deps);
        if (deleted === 0) return;
      }
    }),
    startPeriodic(
      'orphan-photos',
      logger,
      Math.max(60_000, Math.min(config.photos.orphanTtlMs / 4, 15 * 60_000)),
      async () => {
        const count = await deleteOrphans(deps.sql, config.photos.orphanTtlMs);
        if (count > 0) logger.info({ count }, 'unattached photos removed');
      },
    ),
  ];
}
