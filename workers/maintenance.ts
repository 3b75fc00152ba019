import type { Deps } from '../core/deps.ts';
import type { RunningRole } from '../core/roles.ts';
import { purgeStaleSessions } from '../server/features/auth/queries.ts';

const INTERVAL_MS = 60 * 60 * 1000;
/** Keep revoked and expired sessions a week: long enough to explain a reuse-detection revocation. */
const RETAIN_MS = 7 * 24 * 60 * 60 * 1000;

/**
 * Periodic housekeeping: drops sessions (and with them their refresh tokens)
 * that expired or were revoked more than a week ago. Idempotent, so several
 * worker nodes running it at once do no harm.
 */
export function startMaintenance(deps: Deps, intervalMs = INTERVAL_MS): RunningRole {
  let running: Promise<void> | undefined;
  const tick = () => {
    running ??= purgeStaleSessions(deps.sql, RETAIN_MS)
      .then((count) => {
        if (count > 0) deps.logger.info({ count }, 'stale sessions purged');
      })
      .catch((err: unknown) => deps.logger.warn({ err }, 'session purge failed; retried next tick'))
      .finally(() => {
        running = undefined;
      });
  };
  const first = setTimeout(tick, 10_000);
  const timer = setInterval(tick, intervalMs);
  first.unref();
  timer.unref();
  return {
    name: 'maintenance',
    async stop() {
      clearTimeout(first);
      clearInterval(timer);
      await running;
    },
  };
}
