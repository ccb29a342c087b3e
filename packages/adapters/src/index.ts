// Event and read-model stores. Optional drivers (sqlite, eventstoredb, postgres) are subpath exports, never here.
export type { MemoryEventStoreOptions, MemoryReadModelStoreOptions } from './memory/index.js';
export { createMemoryEventStore, createMemoryReadModelStore } from './memory/index.js';
