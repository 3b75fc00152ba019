// Entrypoint: `npm start`. Roles come from ROLES (default: all of them, one port).
import { ConfigError, loadConfig } from './core/config.ts';
import { createLogger, logProcessWarnings } from './core/logger.ts';
import { MigrationError } from './core/migrate.ts';
import { startNode } from './node.ts';

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
}

const logger = createLogger(config);
logProcessWarnings(logger);
try {
  const node = await startNode(config, { logger });
  // A second signal forces an exit only when it comes a while after the first. Ctrl-C on
  // `npm run dev` (node --watch) delivers two at once: the terminal's SIGINT reaches the
  // whole process group, and the watcher, on its own SIGINT, also sends this child SIGTERM.
  // Counting that pair as "asked twice" would skip the graceful shutdown on every Ctrl-C;
  // an operator who really means it presses again, which is never within a few milliseconds.
  const FORCE_AFTER_MS = 1_000;
  let firstSignalAt: number | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (firstSignalAt !== undefined) {
      if (Date.now() - firstSignalAt < FORCE_AFTER_MS) {
        logger.debug({ signal }, 'signal right after the first: already shutting down');
        return;
      }
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    firstSignalAt = Date.now();
    logger.info({ signal }, 'signal received');
    node.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // Started by a supervisor with an IPC channel (`npm run cluster`): when the supervisor
  // dies, even by SIGKILL, the channel closes; stop then rather than live on as an orphan.
  if (process.channel) {
    process.channel.unref();
    process.on('disconnect', () => onSignal('SIGTERM'));
  }
} catch (err) {
  if (err instanceof MigrationError) logger.fatal(err.message);
  else logger.fatal({ err }, 'failed to start');
  process.exit(1);
}
