import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // The k6 scripts' own modules, for the tests that run their protocol code (see the shim).
    alias: { 'k6/ws': new URL('./test/helpers/k6-ws-shim.ts', import.meta.url).pathname },
  },
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'loadtest/**', '.data/**'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Everything runs against real services; retrying would hide real races.
    retry: 0,
  },
});
