export type { SqliteEventStoreOptions } from './sqliteEventStore.js';
export { createSqliteEventStore } from './sqliteEventStore.js';
