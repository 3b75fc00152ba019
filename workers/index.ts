import type { RoleContext, RunningRole } from '../core/roles.ts';
import { startSessionPurge } from './maintenance.ts';
import { startStorageJobs } from './storage.ts';

/**
 * The workers role: background consumers and periodic jobs. Each concern lives
 * in its own file and is started here.
 */
export async function startWorkers(ctx: RoleContext): Promise<RunningRole> {
  const running = [startSessionPurge(ctx.deps), ...startStorageJobs(ctx.deps)];
  ctx.deps.logger.info({ jobs: running.map((r) => r.name) }, 'workers started');
  return {
    name: 'workers',
    async stop() {
      await Promise.all(running.map((r) => r.stop()));
    },
  };
}
