import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { logProcessWarnings } from './logger.ts';

describe('process warnings', () => {
  const listeners = process.listeners('warning');
  afterEach(() => {
    process.removeAllListeners('warning');
    for (const l of listeners) process.on('warning', l);
  });

  it('become one JSON log line each, multi-line messages included, and nothing else', async () => {
    const lines: string[] = [];
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk, _enc, done) {
          lines.push(...String(chunk).split('\n').filter(Boolean));
          done();
        },
      }),
    );
    logProcessWarnings(logger);
    expect(process.listeners('warning')).toHaveLength(1);
    const logged = new Promise<void>((resolve) => process.once('warning', () => resolve()));
    process.emitWarning(
      'versions published later\nwill require node >=22.',
      'NodeVersionSupportWarning',
    );
    await logged;
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as { level: number; msg: string; warning: unknown };
    expect(line).toMatchObject({
      level: 40,
      msg: 'process warning',
      warning: {
        name: 'NodeVersionSupportWarning',
        message: 'versions published later\nwill require node >=22.',
      },
    });
  });
});
