import type { Deps } from '../core/deps.ts';
import type { RunningRole } from '../core/roles.ts';
import { purgeStaleSessions } from '../domain/auth/queries.ts';
import { startPeriodic } from './periodic.ts';

/** Keep revoked and expired sessions a week: long enough to explain a reuse-detection revocation. */
const RETAIN_MS = 7 * 24 * 60 * 60 * 1000;

/**
 * Drops sessions (and with them their refresh tokens) that expired or were
 * revoked more than a week ago.
 */
export function startSessionPurge(deps: Deps, intervalMs = 60 * 60 * 1000): RunningRole {
  return startPeriodic('session-purge', deps.logger, intervalMs, async () => {
    const count = await purgeStaleSessions(deps.sql, RETAIN_MS);
    if (count > 0) deps.logger.info({ count }, 'stale sessions purged');
  });
}
