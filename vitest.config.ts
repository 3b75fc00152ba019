import { defineConfig } from 'vitest/config';

/**
 * Tests of pure code: no PostgreSQL, Redis or S3, so their project has no global setup and
 * `npx vitest run --project unit` (or `npx vitest run domain`) runs on a bare machine.
 * A test that needs a service belongs in test/ or beside a module of core/, server/ or workers/.
 */
const UNIT = [
  'domain/**/*.test.ts',
  'contract/**/*.test.ts',
  'core/text.test.ts',
  'core/logger.test.ts',
  'core/config.test.ts',
  'core/http/pagination.test.ts',
  'core/http/auth.test.ts',
  'gateway/events.test.ts',
  'gateway/socket-events.test.ts',
  'test/layers.test.ts',
  'client/viewer/*.test.ts',
];

export default defineConfig({
  resolve: {
    // The k6 scripts' own modules, for the tests that run their protocol code (see the shim).
    alias: { 'k6/ws': new URL('./test/helpers/k6-ws-shim.ts', import.meta.url).pathname },
  },
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Everything else runs against real services; retrying would hide real races.
    retry: 0,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: UNIT,
          testTimeout: 10_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        // A project's global setup runs only when one of its files is part of the run.
        extends: true,
        test: {
          name: 'main',
          globalSetup: ['test/global-setup.ts'],
          include: ['**/*.test.ts'],
          exclude: ['node_modules/**', 'loadtest/**', '.data/**', 'test/cluster/**', ...UNIT],
          sequence: { groupOrder: 0 },
        },
      },
      {
        // The cluster behind nginx, killed and restarted: each file starts a dozen
        // processes and asserts recovery within seconds, so these files run one at a time,
        // after everything else, on a machine no other test file is loading.
        extends: true,
        test: {
          name: 'cluster',
          globalSetup: ['test/global-setup.ts'],
          include: ['test/cluster/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
