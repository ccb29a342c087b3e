import { defineConfig } from 'vitest/config';

// Workspace packages are read from their TypeScript sources: no build step before tests.
const conditions = ['lantern-source', 'node', 'import', 'module', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: {
    include: ['packages/*/src/**/*.spec.ts', 'test/**/*.spec.ts', 'examples/*/src/**/*.spec.ts'],
    pool: 'forks',
    // One EventStoreDB wire double for the whole run; tests find it with inject('eventstoredbDouble').
    globalSetup: ['test/eventstoredbDouble/globalSetup.ts'],
    testTimeout: 30_000,
    reporters: ['default'],
  },
});
