import { EVENTS_STREAM } from '../contract/index.ts';
import { DELETION_STEPS, runDeletionStep } from '../domain/account-deletion.ts';
import { parseStreamEvent } from './events.ts';
import type { StreamWorker } from './stream-worker.ts';

/**
 * `user.deleted` → each domain's deletion step, in a consumer group of its own
 * (`deletion-<domain>`), so each reacts on its own, once, and a failing one
 * holds up no other.
 */
export const DELETION_WORKERS: StreamWorker[] = DELETION_STEPS.map((step) => ({
  group: `deletion-${step.domain}`,
  stream: EVENTS_STREAM,
  async handle(message, deps) {
    const { event } = parseStreamEvent(message);
    if (event.type !== 'user.deleted') return;
    await runDeletionStep(deps.sql, step, { userId: event.userId, handle: event.handle }, deps);
  },
}));
