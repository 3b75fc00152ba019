import type { RoleContext, RunningRole } from '../core/roles.ts';
import { DELETION_WORKERS } from './account-deletion.ts';
import { startConsumer } from './consumer.ts';
import { fanoutChunks, postFanout } from './fanout.ts';
import { startSessionPurge } from './maintenance.ts';
import { liveMap } from './map.ts';
import { personalNotifications } from './notify.ts';
import { startOutboxRelay } from './relay.ts';
import { startStorageJobs } from './storage.ts';
import { registerStreamGauges } from './stream-gauges.ts';
import { startStreamMaintenance } from './streams.ts';

/** Every consumer group this role runs; each lives in a file of its own. */
export const STREAM_WORKERS = [
  postFanout,
  fanoutChunks,
  personalNotifications,
  liveMap,
  ...DELETION_WORKERS,
];

/**
 * The workers role: the outbox relay, the stream consumers, and periodic jobs.
 */
export async function startWorkers(ctx: RoleContext): Promise<RunningRole> {
  const { deps } = ctx;
  registerStreamGauges(deps, STREAM_WORKERS);
  const running: RunningRole[] = [await startOutboxRelay(deps)];
  for (const worker of STREAM_WORKERS) running.push(await startConsumer(deps, worker));
  running.push(
    startSessionPurge(deps),
    ...startStorageJobs(deps),
    startStreamMaintenance(deps, STREAM_WORKERS),
  );
  deps.logger.info({ jobs: running.map((r) => r.name) }, 'workers started');
  return {
    name: 'workers',
    async stop() {
      await Promise.all(running.map((r) => r.stop()));
    },
  };
}
