// Event stores. Optional drivers (sqlite, eventstoredb, postgres) are subpath exports, never here.
export type { MemoryEventStoreOptions } from './memory/index.js';
export { createMemoryEventStore } from './memory/index.js';
