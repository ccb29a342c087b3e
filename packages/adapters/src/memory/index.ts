export type { MemoryEventStoreOptions } from './memoryEventStore.js';
export { createMemoryEventStore } from './memoryEventStore.js';
