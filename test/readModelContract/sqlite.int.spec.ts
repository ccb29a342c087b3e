import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteReadModelStore } from '@lantern/adapters/sqlite';
import type { ReadModelStore } from '@lantern/core';
import { runReadModelContract } from './readModelContract.js';

/** Each test gets a fresh file in a temp directory of its own, deleted with its -wal and -shm after. */
runReadModelContract(
  'the sqlite read-model store',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lantern-read-models-'));
    const path = join(dir, 'lantern.db');
    const opened: ReadModelStore[] = [createSqliteReadModelStore({ path })];
    return {
      readModels: opened[0] as ReadModelStore,
      reopen: async () => {
        const again = createSqliteReadModelStore({ path });
        opened.push(again);
        return again;
      },
      cleanup: async () => {
        // Closing twice is harmless: a test may have closed what it opened.
        for (const store of opened) await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  { durable: true },
);
