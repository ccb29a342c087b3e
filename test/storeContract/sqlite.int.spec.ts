import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteEventStore, type SqliteEventStoreOptions } from '@lantern/adapters/sqlite';
import { runStoreContract } from './storeContract.js';

/** Each store gets a fresh file in a temp directory of its own, deleted with its -wal and -shm after. */
const freshStore =
  (options: Omit<SqliteEventStoreOptions, 'path'> = {}) =>
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lantern-contract-'));
    const store = createSqliteEventStore({ path: join(dir, 'lantern.db'), ...options });
    return {
      store,
      cleanup: async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  };

runStoreContract('the sqlite event store', freshStore());

// The same contract with the read shortcuts off: every row through its schema, no stream cache.
runStoreContract(
  'the sqlite event store validating every read, without its stream cache',
  freshStore({ readValidation: 'full', streamCacheEvents: 0 }),
);
