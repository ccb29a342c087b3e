import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Workspace packages are read from their TypeScript sources; no build step before tests.
    conditions: ['lantern-source'],
  },
  test: {
    include: ['packages/*/src/**/*.spec.ts', 'test/**/*.spec.ts', 'examples/*/src/**/*.spec.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    reporters: ['default'],
  },
});
