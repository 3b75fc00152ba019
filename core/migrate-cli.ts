// `npm run migrate`: creates the database if needed and applies pending migrations.
import { ConfigError, loadConfig } from './config.ts';
import { createSql, ensureDatabase } from './db.ts';
import { createLogger, logProcessWarnings } from './logger.ts';
import { MigrationError, migrate } from './migrate.ts';

try {
  const config = loadConfig();
  const logger = createLogger(config);
  logProcessWarnings(logger);
  if (config.databaseCreate && (await ensureDatabase(config.databaseUrl))) {
    logger.info('database created');
  }
  const sql = createSql({ ...config, databasePoolSize: 1 }, logger);
  try {
    const { applied } = await migrate(sql, { logger });
    console.log(applied.length ? `applied: ${applied.join(', ')}` : 'up to date');
  } finally {
    await sql.end({ timeout: 5 });
  }
} catch (err) {
  if (err instanceof ConfigError || err instanceof MigrationError) console.error(err.message);
  else console.error(err);
  process.exitCode = 1;
}
