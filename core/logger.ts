import { type Logger, pino } from 'pino';
import type { Config } from './config.ts';

export type { Logger };

export function createLogger(config: Pick<Config, 'logLevel' | 'env'>): Logger {
  return pino({
    level: config.logLevel,
    base: { pid: process.pid },
    // Never log credentials, even when a request object slips into a log line.
    redact: {
      paths: [
        'password',
        '*.password',
        'refreshToken',
        '*.refreshToken',
        'accessToken',
        '*.accessToken',
        'req.headers.authorization',
        'headers.authorization',
      ],
      censor: '[redacted]',
    },
  });
}

/**
 * Process warnings (deprecations, the AWS SDK's Node.js version notice) as log
 * lines of their own instead of Node's multi-line text on stderr, so the output
 * stays one JSON object a line. Replaces Node's default printer.
 */
export function logProcessWarnings(logger: Logger, target: NodeJS.Process = process): void {
  target.removeAllListeners('warning');
  target.on('warning', (warning: Error & { code?: string }) => {
    logger.warn(
      { warning: { name: warning.name, code: warning.code, message: warning.message } },
      'process warning',
    );
  });
}
