import {
  childErasedError,
  createDataKey,
  type DataKeyLookup,
  isRuleViolationError,
  type KeyStore,
  KeyStoreError,
  requireChildRef,
} from '@lantern/core';
import { busyTimeoutOf, openDatabase, storeFileOf } from './database.js';
import { translateSqliteError } from './sqliteErrors.js';

export interface SqliteKeyStoreOptions {
  /**
   * The database file. Lantern keeps the keys in the event store's own file by default (give
   * the same `path` as `createSqliteEventStore`), in a table of their own; give another path to
   * keep them apart (anyone who can read a file holding both the log and the keys can open every
   * protected field). A path where no file exists is created as a Lantern file. Required.
   */
  path: string;
  /**
   * How long, in milliseconds, a write waits for another connection's write lock, and how long
   * `delete` keeps trying to checkpoint the WAL while other connections are reading. Default: `5000`.
   */
  busyTimeoutMs?: number;
  /** The clock for tombstones when `delete` is given no time. Default: `() => new Date()`. */
  now?: () => Date;
}

/**
 * One row per child with a key, and one per erased child (the tombstone: pseudonym and time,
 * nothing else). WITHOUT ROWID: the key lives in the table's one b-tree, with no index copy.
 */
const keySchema = `
  CREATE TABLE IF NOT EXISTS lantern_data_keys (
    child_ref TEXT PRIMARY KEY,
    key BLOB NOT NULL,
    created_at TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS lantern_erased_children (
    child_ref TEXT PRIMARY KEY,
    erased_at TEXT NOT NULL
  ) WITHOUT ROWID;
`;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Children's data keys in a SQLite file, by default the event store's own. Deleting a key leaves
 * no copy of it on disk: the connection runs with `PRAGMA secure_delete = ON`, so SQLite
 * overwrites the deleted row (and any page freed) with zeros, and `delete` then checkpoints the
 * WAL with TRUNCATE, so the older page images that held the key are copied over and the `-wal`
 * file is cut to zero bytes. If another connection's read keeps the checkpoint from finishing
 * within `busyTimeoutMs`, `delete` throws a KeyStoreError (the key is deleted already and reads
 * as erased) and may be called again to finish.
 */
export const createSqliteKeyStore = (options: SqliteKeyStoreOptions): KeyStore => {
  const file = storeFileOf('createSqliteKeyStore', options);
  const busyTimeoutMs = busyTimeoutOf(options.busyTimeoutMs);
  const now = options.now ?? (() => new Date());

  const failure = (doing: string, error: unknown): KeyStoreError => {
    if (error instanceof KeyStoreError) return error;
    const translated = translateSqliteError(file, doing, error, busyTimeoutMs);
    const message = translated instanceof Error ? translated.message : String(translated);
    return new KeyStoreError(`The key store in ${file} failed while ${doing}: ${message}`, { cause: error });
  };

  let opened: ReturnType<typeof openDatabase>;
  try {
    opened = openDatabase({ path: file, readonly: false, busyTimeoutMs });
  } catch (error) {
    throw failure('opening it', error);
  }
  const { db, readonly, readonlyReason } = opened;

  const prepareStatements = () => ({
    key: db.prepare('SELECT key FROM lantern_data_keys WHERE child_ref = ?').pluck(),
    erasedAt: db.prepare('SELECT erased_at FROM lantern_erased_children WHERE child_ref = ?').pluck(),
    insertKey: db.prepare(
      'INSERT INTO lantern_data_keys (child_ref, key, created_at) VALUES (?, ?, ?) ON CONFLICT (child_ref) DO NOTHING',
    ),
    deleteKey: db.prepare('DELETE FROM lantern_data_keys WHERE child_ref = ?'),
    tombstone: db.prepare(
      'INSERT INTO lantern_erased_children (child_ref, erased_at) VALUES (?, ?) ON CONFLICT (child_ref) DO NOTHING',
    ),
  });

  const statements = ((): ReturnType<typeof prepareStatements> | undefined => {
    try {
      // Deleted rows and freed pages are overwritten with zeros, on this connection's writes.
      db.pragma('secure_delete = ON');
      if (!readonly) {
        db.exec('BEGIN IMMEDIATE');
        try {
          db.exec(keySchema);
          db.exec('COMMIT');
        } finally {
          if (db.inTransaction) db.exec('ROLLBACK');
        }
      }
      const hasTables = db
        .prepare(
          "SELECT count(*) FROM sqlite_schema WHERE name IN ('lantern_data_keys', 'lantern_erased_children')",
        )
        .pluck()
        .get();
      return hasTables === 2 ? prepareStatements() : undefined;
    } catch (error) {
      db.close();
      throw failure('creating its key tables', error);
    }
  })();

  let closed = false;
  const requireOpen = (): void => {
    if (closed) {
      throw new KeyStoreError(
        `The SQLite key store on ${file} is closed. Open it again with createSqliteKeyStore({ path }).`,
      );
    }
  };
  const requireWritable = (doing: string): NonNullable<typeof statements> => {
    requireOpen();
    if (readonly || !statements) {
      throw new KeyStoreError(
        `Cannot ${doing} in ${file}: ${readonlyReason ?? 'it is read-only'}. Make the file and its directory writable by this user.`,
      );
    }
    return statements;
  };

  const erasedAtOf = (childRef: string): string | undefined =>
    statements ? (statements.erasedAt.get(childRef) as string | undefined) : undefined;
  const keyOf = (childRef: string): Uint8Array | undefined => {
    const key = statements?.key.get(childRef) as Buffer | undefined;
    return key ? new Uint8Array(key) : undefined;
  };

  /** Copies every page into the database and cuts the WAL to nothing, retrying while readers hold it. */
  const truncateWal = async (childRef: string): Promise<void> => {
    const deadline = Date.now() + busyTimeoutMs;
    let pause = 2;
    for (;;) {
      let busy: number;
      // Never block the thread waiting: a reader in this very process could not finish meanwhile.
      db.pragma('busy_timeout = 0');
      try {
        const [row] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
        busy = row?.busy ?? 1;
      } catch (error) {
        throw failure(`checkpointing the WAL after deleting ${childRef}'s key`, error);
      } finally {
        db.pragma(`busy_timeout = ${Math.floor(busyTimeoutMs)}`);
      }
      if (busy === 0) return;
      if (Date.now() >= deadline) {
        throw new KeyStoreError(
          `${childRef}'s key is deleted from ${file} and reads as erased, but the ${file}-wal file still holds an ` +
            `older copy: another connection kept reading for ${busyTimeoutMs} ms, so the WAL could not be checkpointed. ` +
            'Let long reads finish (or close other programs reading the file) and call delete (or eraseChild) again to finish.',
        );
      }
      await sleep(pause);
      pause = Math.min(pause * 2, 100);
    }
  };

  return {
    kind: 'sqlite',
    getOrCreate: async (childRef, create) => {
      requireChildRef(childRef, 'A key store');
      const writable = requireWritable('make a data key');
      try {
        const erasedAt = erasedAtOf(childRef);
        if (erasedAt !== undefined) throw childErasedError(childRef, erasedAt);
        const held = keyOf(childRef);
        if (held) return held;
      } catch (error) {
        if (isRuleViolationError(error)) throw error;
        throw failure(`reading ${childRef}'s key`, error);
      }
      const made = create ? await create() : createDataKey();
      if (!(made instanceof Uint8Array) || made.length === 0) {
        throw new KeyStoreError(
          `The key made for ${childRef} is not bytes; create must return a Uint8Array.`,
        );
      }
      requireOpen();
      let stored: Uint8Array | undefined;
      let erasedMeanwhile: string | undefined;
      try {
        // Under the write lock: another process may have made a key, or erased the child, meanwhile.
        db.transaction(() => {
          erasedMeanwhile = erasedAtOf(childRef);
          if (erasedMeanwhile !== undefined) return;
          writable.insertKey.run(childRef, Buffer.from(made), now().toISOString());
          stored = keyOf(childRef);
        }).immediate();
      } catch (error) {
        throw failure(`storing ${childRef}'s new key`, error);
      } finally {
        if (!create) made.fill(0);
      }
      if (erasedMeanwhile !== undefined) throw childErasedError(childRef, erasedMeanwhile);
      if (!stored)
        throw new KeyStoreError(`${childRef}'s key was not found right after it was stored in ${file}.`);
      return stored;
    },
    get: async (childRef): Promise<DataKeyLookup> => {
      requireChildRef(childRef, 'A key store');
      requireOpen();
      try {
        const erasedAt = erasedAtOf(childRef);
        if (erasedAt !== undefined) return { status: 'erased', erasedAt };
        const key = keyOf(childRef);
        return key ? { status: 'active', key } : { status: 'missing' };
      } catch (error) {
        throw failure(`reading ${childRef}'s key`, error);
      }
    },
    delete: async (childRef, erasedAt) => {
      requireChildRef(childRef, 'A key store');
      const writable = requireWritable("delete a child's key");
      try {
        db.transaction(() => {
          writable.deleteKey.run(childRef);
          writable.tombstone.run(childRef, erasedAt ?? now().toISOString());
        }).immediate();
      } catch (error) {
        throw failure(`deleting ${childRef}'s key`, error);
      }
      await truncateWal(childRef);
    },
    close: async () => {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
};
