import { defineConfig } from 'vitest/config';

// Workspace packages are read from their TypeScript sources: no build step before tests.
const conditions = ['lantern-source', 'node', 'import', 'module', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: {
    include: ['packages/*/src/**/*.spec.ts', 'test/**/*.spec.ts', 'examples/*/src/**/*.spec.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    reporters: ['default'],
  },
});
