// Entrypoint: `npm start`. Roles come from ROLES (default: all of them, one port).
import { ConfigError, loadConfig } from './core/config.ts';
import { createLogger, logProcessWarnings } from './core/logger.ts';
import { MigrationError } from './core/migrate.ts';
import { startNode } from './core/node.ts';

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
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
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
} catch (err) {
  if (err instanceof MigrationError) logger.fatal(err.message);
  else logger.fatal({ err }, 'failed to start');
  process.exit(1);
}
