import type { Logger } from '../core/logger.ts';
import type { RunningRole } from '../core/roles.ts';

/**
 * Runs `work` every `intervalMs` (first run after `firstDelayMs`), never two at
 * once in this process. A failure is logged (once while it stays the same) and
 * retried on the next tick. The jobs are idempotent, so several worker nodes may
 * run them side by side.
 */
export function startPeriodic(
  name: string,
  logger: Logger,
  intervalMs: number,
  work: () => Promise<unknown>,
  firstDelayMs = Math.min(intervalMs, 10_000),
): RunningRole {
  let running: Promise<void> | undefined;
  let stopped = false;
  // Said once per distinct cause, not every tick for as long as it lasts.
  let lastError = '';
  const tick = () => {
    if (stopped) return;
    running ??= work()
      .then(() => {
        if (lastError) logger.info({ job: name }, 'periodic job recovered');
        lastError = '';
      })
      .catch((err: unknown) => {
        const text = err instanceof Error ? err.message : String(err);
        if (text !== lastError) {
          logger.warn({ err, job: name }, 'periodic job failed; retried next tick');
        }
        lastError = text;
      })
      .finally(() => {
        running = undefined;
      });
  };
  const first = setTimeout(tick, firstDelayMs);
  const timer = setInterval(tick, intervalMs);
  first.unref();
  timer.unref();
  return {
    name,
    async stop() {
      stopped = true;
      clearTimeout(first);
      clearInterval(timer);
      await running;
    },
  };
}
