export type { MemoryEventStoreOptions } from './memoryEventStore.js';
export { createMemoryEventStore } from './memoryEventStore.js';
export type { MemoryKeyStoreOptions } from './memoryKeyStore.js';
export { createMemoryKeyStore } from './memoryKeyStore.js';
export type { MemoryReadModelStoreOptions } from './memoryReadModelStore.js';
export { createMemoryReadModelStore } from './memoryReadModelStore.js';
