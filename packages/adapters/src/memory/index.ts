export type { MemoryEventStoreOptions } from './memoryEventStore.js';
export { createMemoryEventStore } from './memoryEventStore.js';
export type { MemoryReadModelStoreOptions } from './memoryReadModelStore.js';
export { createMemoryReadModelStore } from './memoryReadModelStore.js';
