import { defineConfig } from 'vitest/config';

// Workspace packages are read from their TypeScript sources: no build step before tests.
const conditions = ['lantern-source', 'node', 'import', 'module', 'default'];
// Vitest also hands ssr.resolve.conditions to the test processes as Node's --conditions, where
// 'import' would make require() pick a package's ESM entry (pg's require('pg-pool') then gets a
// namespace, not the class). Node adds 'import'/'require' itself; Vite adds them when it resolves.
const ssrConditions = conditions.filter((condition) => condition !== 'import');

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions: ssrConditions, externalConditions: ssrConditions } },
  test: {
    include: ['packages/*/src/**/*.spec.ts', 'test/**/*.spec.ts', 'examples/*/src/**/*.spec.ts'],
    pool: 'forks',
    // One EventStoreDB wire double for the whole run; tests find it with inject('eventstoredbDouble').
    globalSetup: ['test/eventstoredbDouble/globalSetup.ts'],
    testTimeout: 30_000,
    reporters: ['default'],
  },
});
