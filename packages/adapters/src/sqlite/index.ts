export type { LocalCopyOptions } from './localCopy.js';
export { withLocalCopy } from './localCopy.js';
export type { SqliteEventStoreOptions } from './sqliteEventStore.js';
export { createSqliteEventStore } from './sqliteEventStore.js';
export type { SqliteKeyStoreOptions } from './sqliteKeyStore.js';
export { createSqliteKeyStore } from './sqliteKeyStore.js';
export type { SqliteReadModelStoreOptions } from './sqliteReadModelStore.js';
export { createSqliteReadModelStore } from './sqliteReadModelStore.js';
