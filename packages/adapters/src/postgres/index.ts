export type { PostgresConnection, PostgresReadModelStoreOptions } from './postgresReadModelStore.js';
export { createPostgresReadModelStore } from './postgresReadModelStore.js';
