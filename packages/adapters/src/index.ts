// Event and read-model stores. Optional drivers (sqlite, eventstoredb, postgres) are subpath exports, never here.
export type {
  MemoryEventStoreOptions,
  MemoryKeyStoreOptions,
  MemoryReadModelStoreOptions,
} from './memory/index.js';
export { createMemoryEventStore, createMemoryKeyStore, createMemoryReadModelStore } from './memory/index.js';
