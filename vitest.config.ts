import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // The k6 scripts' own modules, for the tests that run their protocol code (see the shim).
    alias: { 'k6/ws': new URL('./test/helpers/k6-ws-shim.ts', import.meta.url).pathname },
  },
  test: {
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Everything runs against real services; retrying would hide real races.
    retry: 0,
    projects: [
      {
        extends: true,
        test: {
          name: 'main',
          include: ['**/*.test.ts'],
          exclude: ['node_modules/**', 'loadtest/**', '.data/**', 'test/cluster/**'],
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
