import {
  changeJson,
  checkBatches,
  checkLeaseOwner,
  checkLeaseTtl,
  checkProjectionVersion,
  checkReadModelName,
  checkReadModelTableName,
  type DeadLetter,
  documentsPageOf,
  isKeepableText,
  keyPrefixBound,
  keyPrefixOf,
  type Lease,
  LeaseLostError,
  type ProjectionBatch,
  type ProjectionCheckpoint,
  type ReadModelDocument,
  type ReadModelStore,
  readModelTableName,
  StoreError,
} from '@lantern/core';
import type Database from 'better-sqlite3';
import { busyTimeoutOf, openDatabase, storeFileOf } from './database.js';
import { sqliteCode, translateSqliteError } from './sqliteErrors.js';

export interface SqliteReadModelStoreOptions {
  /**
   * The database file. Give the event store's own file (the same `path` as
   * `createSqliteEventStore`) to keep events and read models in one file, as Lantern does by
   * default: an analyst then opens that one file. A path where no file exists is created as a
   * Lantern file, which the event store can open later; a file that is not Lantern's is refused
   * and left as it is. Relative paths resolve against the current working directory. Required.
   */
  path: string;
  /**
   * How long, in milliseconds, a write (a commit, a lease, creating a table) waits for another
   * connection's write lock — the event store appending to the same file, another process —
   * before it fails with a StoreError. The wait blocks the thread. Default: `5000`.
   */
  busyTimeoutMs?: number;
  /** The clock for checkpoints' `updatedAt` and for lease expiry. Default: the system clock. */
  now?: () => Date;
  /**
   * Sync every commit to disk before it returns (`synchronous=FULL`), as the event store does
   * for every append. Default `false` (`synchronous=NORMAL` on this store's own connection):
   * each commit is still atomic and survives the process being killed, with its checkpoint, but
   * the last few may be lost if the machine itself loses power. Read models are derived from the
   * log, so nothing is lost then either: the projection goes back to the checkpoint its documents
   * were committed with and applies the events after it again. The event store's connection to
   * the same file keeps syncing every append.
   */
  durableCommits?: boolean;
}

/**
 * Where every projection stands, its dead letters and its lease: Lantern's own tables, prefixed
 * `lantern_`, which no read-model table can be named (those always hold a `__`). A lease row
 * outlives its release (owner NULL) so that tokens keep growing across owners.
 */
const bookkeepingSchema = `
  CREATE TABLE IF NOT EXISTS lantern_checkpoints (
    projection TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    position INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'failed')),
    error TEXT,
    updated_at TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS lantern_dead_letters (
    id INTEGER PRIMARY KEY,
    projection TEXT NOT NULL,
    version INTEGER NOT NULL,
    position INTEGER NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    stream_id TEXT NOT NULL,
    error TEXT NOT NULL,
    dead_lettered_at TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS lantern_dead_letters_by_projection ON lantern_dead_letters (projection, id);
  CREATE TABLE IF NOT EXISTS lantern_leases (
    projection TEXT PRIMARY KEY,
    owner TEXT,
    token INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  );
`;

/**
 * Pages the write-ahead log may hold before this store's commit copies them into the file
 * (SQLite's default is 1,000). Measured on a rebuild of every built-in projection from 200,000
 * events: commits took about 20% less time, and closing the store, which copies what is left,
 * about 50 ms instead of 10.
 */
const walPagesPerCheckpoint = 4000;

/** A read-model table: one JSON document per key, which SQLite's JSON functions can read. */
const collectionSchema = (table: string): string =>
  `CREATE TABLE IF NOT EXISTS "${table}" (key TEXT PRIMARY KEY, doc TEXT NOT NULL CHECK (json_valid(doc)))`;

type CheckpointRow = {
  version: bigint;
  position: bigint;
  status: 'active' | 'failed';
  error: string | null;
  updated_at: string;
};
type DeadLetterRow = {
  projection: string;
  version: bigint;
  position: bigint;
  event_id: string;
  event_type: string;
  stream_id: string;
  error: string;
  dead_lettered_at: string;
};
type LeaseRow = { owner: string | null; token: bigint; expires_at: bigint };

/** The statements of one read-model table, prepared on first use. */
interface CollectionStatements {
  upsert: Database.Statement;
  /** {@link upsertRows} documents in one statement, prepared on first use. */
  upsertMany?: Database.Statement;
  remove: Database.Statement;
  clear: Database.Statement;
  get: Database.Statement;
  all: Database.Statement;
  /** The documents whose keys lie in a range, `from` included and `below` not (a key prefix). */
  between: Database.Statement;
  /** The documents from a key on, for a prefix with no upper bound (see keyPrefixBound). */
  from: Database.Statement;
  keys: Database.Statement;
  /** Reads of a page (after a key, at most so many), prepared on first use per shape of query. */
  pages: Map<string, Database.Statement>;
  readonly table: string;
}

/**
 * How many documents one statement writes when a commit writes many to a table. Each statement run
 * costs a call into SQLite besides its rows: written 50 at a time, 100,000 documents of 20 cells
 * each took 214–260 ms, against 289–398 ms one at a time (warm, on this project's machine).
 */
const upsertRows = 50;

/** A batch checked and serialised before the transaction, so the write lock is held only to write. */
interface PreparedBatch {
  batch: ProjectionBatch;
  writes: { statements: CollectionStatements; key: string; doc: string | null }[];
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * Read models in a SQLite file — by default the event store's own file — as plain tables an
 * analyst can query with the `sqlite3` shell: one table per collection, named
 * `{projection}__{collection}`, with columns `key` and `doc` (JSON text), e.g.
 * `SELECT key, json_extract(doc, '$.children') FROM attendance__clubs`. Checkpoints, dead letters
 * and leases live beside them in tables prefixed `lantern_`.
 *
 * A commit is one transaction (`BEGIN IMMEDIATE`, synced to disk before it returns): every
 * batch's checkpoint and lease are checked under the write lock, then documents, dead letters
 * and checkpoints are written together, so a crash leaves a projection at a checkpoint that
 * matches its documents exactly.
 *
 * Several processes on one machine may share the file: a lease is a row with an owner, a fencing
 * token that grows at every acquisition and an expiry, taken under SQLite's write lock. A process
 * that dies holding a lease does not hold it for ever: the lease frees itself once its TTL has run
 * out, and the next owner gets a higher token, so anything the dead owner still tried to commit is
 * refused. The file must be on a local disk (WAL mode does not work over network file systems).
 */
export const createSqliteReadModelStore = (options: SqliteReadModelStoreOptions): ReadModelStore => {
  const file = storeFileOf('createSqliteReadModelStore', options);
  const busyTimeoutMs = busyTimeoutOf(options.busyTimeoutMs);
  const now = options.now ?? (() => new Date());

  const durableCommits = options.durableCommits ?? false;
  if (typeof durableCommits !== 'boolean') {
    throw new TypeError(`durableCommits must be true or false; got ${String(durableCommits)}.`);
  }

  const { db, readonly, readonlyReason } = openDatabase({ path: file, readonly: false, busyTimeoutMs });
  if (readonly) {
    db.close();
    throw new StoreError(
      `Cannot keep read models in ${file}: ${readonlyReason ?? 'it is read-only'}, and a read-model store writes ` +
        'its tables and checkpoints. Make the file and its directory writable by this user, or give another path.',
    );
  }
  // Per connection: the event store's own connection to the same file keeps syncing every append.
  db.pragma(durableCommits ? 'synchronous = FULL' : 'synchronous = NORMAL');
  // A rebuild rewrites the same pages commit after commit: copied into the file once per
  // checkpoint, they are copied less often when more commits share one.
  db.pragma(`wal_autocheckpoint = ${walPagesPerCheckpoint}`);

  const fail = (doing: string, error: unknown): never => {
    throw translateSqliteError(file, doing, error, busyTimeoutMs);
  };

  const prepareStatements = () => ({
    checkpoint: db
      .prepare(
        'SELECT version, position, status, error, updated_at FROM lantern_checkpoints WHERE projection = ?',
      )
      .safeIntegers(true),
    position: db
      .prepare('SELECT position FROM lantern_checkpoints WHERE projection = ?')
      .pluck()
      .safeIntegers(true),
    saveCheckpoint: db.prepare(
      `INSERT INTO lantern_checkpoints (projection, version, position, status, error, updated_at)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (projection) DO UPDATE SET version = excluded.version, position = excluded.position,
         status = excluded.status, error = excluded.error, updated_at = excluded.updated_at`,
    ),
    deadLetter: db.prepare(
      `INSERT INTO lantern_dead_letters
         (projection, version, position, event_id, event_type, stream_id, error, dead_lettered_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    deadLetters: db
      .prepare(
        `SELECT projection, version, position, event_id, event_type, stream_id, error, dead_lettered_at
         FROM lantern_dead_letters WHERE projection = ? ORDER BY id`,
      )
      .safeIntegers(true),
    lease: db
      .prepare('SELECT owner, token, expires_at FROM lantern_leases WHERE projection = ?')
      .safeIntegers(true),
    saveLease: db.prepare(
      `INSERT INTO lantern_leases (projection, owner, token, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (projection) DO UPDATE SET owner = excluded.owner, token = excluded.token,
         expires_at = excluded.expires_at`,
    ),
    renewLease: db.prepare(
      'UPDATE lantern_leases SET expires_at = ? WHERE projection = ? AND owner = ? AND token = ? AND expires_at > ?',
    ),
    releaseLease: db.prepare(
      'UPDATE lantern_leases SET owner = NULL, expires_at = 0 WHERE projection = ? AND owner = ? AND token = ?',
    ),
    tablesOf: db
      .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND substr(name, 1, length(?)) = ?")
      .pluck(),
  });
  const statements = ((): ReturnType<typeof prepareStatements> => {
    try {
      db.exec('BEGIN IMMEDIATE');
      try {
        db.exec(bookkeepingSchema);
        db.exec('COMMIT');
      } finally {
        if (db.inTransaction) db.exec('ROLLBACK');
      }
      return prepareStatements();
    } catch (error) {
      db.close();
      return fail('creating the read-model tables', error);
    }
  })();

  let closed = false;
  const ensureOpen = (): void => {
    if (closed) {
      throw new StoreError(
        `The SQLite read-model store on ${file} is closed. Open it again with createSqliteReadModelStore({ path }).`,
      );
    }
  };

  /** Runs a step against the file, saying SQLite's failures in Lantern's words. */
  const attempt = <T>(doing: string, step: () => T): T => {
    ensureOpen();
    try {
      return step();
    } catch (error) {
      return fail(doing, error);
    }
  };

  // ---- Tables -------------------------------------------------------------------------------

  const missingCollection = (projection: string, collection: string): StoreError =>
    new StoreError(
      `Projection "${projection}" has no collection "${collection}" in ${file}; list it in the projection's collections.`,
    );

  const isMissingTable = (error: unknown): boolean =>
    error instanceof Error && /no such table/i.test(error.message);

  /** Prepared statements per table; a table dropped by a reset drops its entry. */
  const tables = new Map<string, CollectionStatements>();

  /** Table names by projection and collection, each pair's names checked once (not per document). */
  const tableNames = new Map<string, Map<string, string>>();
  const tableNameOf = (projection: string, collection: string): string => {
    let names = tableNames.get(projection);
    const known = names?.get(collection);
    if (known !== undefined) return known;
    const table = readModelTableName(projection, collection);
    if (!names) {
      names = new Map();
      tableNames.set(projection, names);
    }
    names.set(collection, table);
    return table;
  };

  const collectionOf = (projection: string, collection: string): CollectionStatements => {
    const table = tableNameOf(projection, collection);
    let found = tables.get(table);
    if (!found) {
      try {
        found = {
          upsert: db.prepare(
            `INSERT INTO "${table}" (key, doc) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET doc = excluded.doc`,
          ),
          remove: db.prepare(`DELETE FROM "${table}" WHERE key = ?`),
          clear: db.prepare(`DELETE FROM "${table}"`),
          get: db.prepare(`SELECT doc FROM "${table}" WHERE key = ?`).pluck(),
          all: db.prepare(`SELECT key, doc FROM "${table}" ORDER BY key`).raw(),
          between: db
            .prepare(`SELECT key, doc FROM "${table}" WHERE key >= ? AND key < ? ORDER BY key`)
            .raw(),
          from: db.prepare(`SELECT key, doc FROM "${table}" WHERE key >= ? ORDER BY key`).raw(),
          keys: db.prepare(`SELECT key FROM "${table}"`).pluck(),
          pages: new Map(),
          table,
        };
      } catch (error) {
        if (isMissingTable(error)) throw missingCollection(projection, collection);
        if (sqliteCode(error) !== 'SQLITE_ERROR') throw error;
        throw new StoreError(
          `The table ${table} in ${file} is not a Lantern read-model table (${messageOf(error)}); it needs the ` +
            'columns key TEXT PRIMARY KEY and doc TEXT. Rename or drop it with the sqlite3 shell, or rename ' +
            'the projection or the collection.',
          { cause: error },
        );
      }
      tables.set(table, found);
    }
    return found;
  };

  /** A page of a collection: its rows after `afterKey` (and with `prefix`), at most `limit` of them. */
  const pageOf = (
    table: CollectionStatements,
    prefix: string | undefined,
    bound: string | undefined,
    afterKey: string | undefined,
    limit: number | undefined,
  ): IterableIterator<unknown> => {
    const conditions: string[] = [];
    const values: (string | number)[] = [];
    if (prefix !== undefined) {
      conditions.push('key >= ?');
      values.push(prefix);
      if (bound !== undefined) {
        conditions.push('key < ?');
        values.push(bound);
      }
    }
    if (afterKey !== undefined) {
      conditions.push('key > ?');
      values.push(afterKey);
    }
    if (limit !== undefined) values.push(limit);
    const text =
      `SELECT key, doc FROM "${table.table}"` +
      (conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '') +
      ' ORDER BY key' +
      (limit === undefined ? '' : ' LIMIT ?');
    let statement = table.pages.get(text);
    if (statement === undefined) {
      statement = db.prepare(text).raw();
      table.pages.set(text, statement);
    }
    return statement.iterate(...values);
  };

  /** Statements of a table that may since have been dropped (by a reset in another process). */
  const usingCollection = <T>(
    projection: string,
    collection: string,
    use: (s: CollectionStatements) => T,
  ): T => {
    try {
      return use(collectionOf(projection, collection));
    } catch (error) {
      if (!isMissingTable(error)) throw error;
      tables.delete(tableNameOf(projection, collection));
      throw missingCollection(projection, collection);
    }
  };

  /** Every read-model table of the projection, by the collection it holds. */
  const tablesOf = (projection: string): Map<string, string> => {
    const prefix = `${projection}__`;
    const found = new Map<string, string>();
    for (const table of statements.tablesOf.all(prefix, prefix) as string[]) {
      const collection = table.slice(prefix.length);
      // `a___x` belongs to projection `a_`, not to `a`: a collection name starts with a letter.
      if (/^[a-z][a-z0-9_]*$/.test(collection) && !collection.includes('__')) found.set(collection, table);
    }
    return found;
  };

  const createCollections = (projection: string, collections: readonly string[]): void => {
    const existing = tablesOf(projection);
    for (const collection of collections) {
      if (!existing.has(collection)) db.exec(collectionSchema(readModelTableName(projection, collection)));
    }
  };

  // ---- Leases -------------------------------------------------------------------------------

  const leaseHolds = (lease: Lease, at: number): boolean => {
    const row = statements.lease.get(lease.projection) as LeaseRow | undefined;
    return (
      row !== undefined &&
      row.owner === lease.owner &&
      Number(row.token) === lease.token &&
      Number(row.expires_at) > at
    );
  };

  const acquire = db.transaction((projection: string, owner: string, ttlMs: number): Lease | undefined => {
    const at = now().getTime();
    const expiresAt = Math.ceil(at + ttlMs);
    const row = statements.lease.get(projection) as LeaseRow | undefined;
    const live = row !== undefined && row.owner !== null && Number(row.expires_at) > at;
    if (live && row.owner !== owner) return undefined;
    // Ours and still live: extended under the same token. Otherwise a new token outranks the old.
    const token = live ? Number(row.token) : Number(row?.token ?? 0n) + 1;
    statements.saveLease.run(projection, owner, token, expiresAt);
    return { projection, owner, token, expiresAt };
  });

  // ---- Committing ---------------------------------------------------------------------------

  const prepareBatches = (batches: readonly ProjectionBatch[]): PreparedBatch[] => {
    checkBatches(batches);
    return batches.map((batch) => ({
      batch,
      writes: batch.changes.map((change) => ({
        statements: collectionOf(batch.projection, change.collection),
        key: change.key,
        doc: changeJson(batch.projection, change),
      })),
    }));
  };

  /** Writes a table's documents, `values` holding each key and its JSON in turn. */
  const upsertAll = (table: CollectionStatements, values: readonly string[]): void => {
    const width = 2 * upsertRows;
    let at = 0;
    if (values.length >= width) {
      table.upsertMany ??= db.prepare(
        `INSERT INTO "${table.table}" (key, doc) VALUES ${Array(upsertRows).fill('(?, ?)').join(', ')} ` +
          'ON CONFLICT (key) DO UPDATE SET doc = excluded.doc',
      );
      for (; at + width <= values.length; at += width) table.upsertMany.run(values.slice(at, at + width));
    }
    for (; at < values.length; at += 2) table.upsert.run(values[at], values[at + 1]);
  };

  const commitAll = db.transaction((prepared: readonly PreparedBatch[]): void => {
    // Checked in full first, under the write lock: a refused commit writes nothing of any batch.
    const at = now().getTime();
    for (const { batch } of prepared) {
      const stored = (statements.position.get(batch.projection) as bigint | undefined) ?? 0n;
      if (stored !== batch.after) {
        throw new LeaseLostError(
          batch.projection,
          `its checkpoint is at ${stored}, not at ${batch.after} where this batch starts`,
        );
      }
      if (batch.lease && !leaseHolds(batch.lease, at)) {
        throw new LeaseLostError(batch.projection, 'its lease expired or was taken over');
      }
    }
    const updatedAt = now().toISOString();
    for (const { batch, writes } of prepared) {
      // In the order given, a run of documents put in one table written many at a time.
      let run: { table: CollectionStatements; values: string[] } | undefined;
      for (const { statements: table, key, doc } of writes) {
        if (run !== undefined && (doc === null || run.table !== table)) {
          upsertAll(run.table, run.values);
          run = undefined;
        }
        if (doc === null) table.remove.run(key);
        else if (run === undefined) run = { table, values: [key, doc] };
        else run.values.push(key, doc);
      }
      if (run !== undefined) upsertAll(run.table, run.values);
      for (const letter of batch.deadLetters ?? []) {
        statements.deadLetter.run(
          batch.projection,
          letter.version,
          letter.position,
          letter.eventId,
          letter.eventType,
          letter.streamId,
          letter.error,
          letter.deadLetteredAt,
        );
      }
      statements.saveCheckpoint.run(
        batch.projection,
        batch.version,
        batch.position,
        batch.failure === undefined ? 'active' : 'failed',
        batch.failure ?? null,
        updatedAt,
      );
    }
  });

  const resetAll = db.transaction(
    (projection: string, version: number, collections: readonly string[], lease: Lease | undefined) => {
      if (lease && !leaseHolds(lease, now().getTime())) {
        throw new LeaseLostError(projection, 'its lease expired or was taken over');
      }
      // Tables of collections the projection no longer lists hold an older version's results:
      // dropped, so that nobody reads them as current.
      for (const [collection, table] of tablesOf(projection)) {
        if (collections.includes(collection)) continue;
        db.exec(`DROP TABLE "${table}"`);
        tables.delete(table);
      }
      createCollections(projection, collections);
      for (const collection of collections) collectionOf(projection, collection).clear.run();
      statements.saveCheckpoint.run(projection, version, 0n, 'active', null, now().toISOString());
    },
  );

  return {
    kind: 'sqlite',

    prepare: async (projection, collections) => {
      ensureOpen();
      checkReadModelName('projection', projection);
      // As PostgreSQL would have them: a projection that runs here runs there too.
      for (const collection of collections) checkReadModelTableName(projection, collection);
      attempt('creating read-model tables', () => {
        const existing = tablesOf(projection);
        if (collections.some((collection) => !existing.has(collection))) {
          db.transaction(() => createCollections(projection, collections)).immediate();
        }
      });
      // A table of that name made by someone else must still have the columns Lantern reads.
      for (const collection of collections) collectionOf(projection, collection);
    },

    checkpoint: async (projection) => {
      checkReadModelName('projection', projection);
      const row = attempt(
        'reading a checkpoint',
        () => statements.checkpoint.get(projection) as CheckpointRow | undefined,
      );
      if (!row) return undefined;
      const checkpoint: ProjectionCheckpoint = {
        projection,
        version: Number(row.version),
        position: row.position,
        status: row.status,
        ...(row.error === null ? {} : { error: row.error }),
        updatedAt: row.updated_at,
      };
      return checkpoint;
    },

    commit: async (batches) => {
      attempt('committing a projection batch', () => {
        const prepared = prepareBatches(batches);
        if (prepared.length === 0) return;
        try {
          commitAll.immediate(prepared);
        } catch (error) {
          if (!isMissingTable(error)) throw error;
          tables.clear();
          throw new StoreError(
            `A read-model table of this commit is gone from ${file} (another process dropped it, e.g. while ` +
              'rebuilding a newer version of the projection); nothing was written. Start the projection again.',
            { cause: error },
          );
        }
      });
    },

    reset: async (projection, version, collections, lease) => {
      ensureOpen();
      checkReadModelName('projection', projection);
      checkProjectionVersion(projection, version);
      for (const collection of collections) checkReadModelTableName(projection, collection);
      attempt('resetting a read model', () => resetAll.immediate(projection, version, collections, lease));
    },

    getDocument: async (projection, collection, key) => {
      ensureOpen();
      const doc = attempt('reading a document', () =>
        usingCollection(projection, collection, (table) =>
          // A key no store can hold finds nothing (SQLite would look up another in its place).
          isKeepableText(key) ? (table.get.get(key) as string | undefined) : undefined,
        ),
      );
      return doc === undefined ? undefined : (JSON.parse(doc) as ReadModelDocument);
    },

    getDocumentNow: (projection, collection, key) => {
      const doc = attempt('reading a document', () =>
        usingCollection(projection, collection, (table) =>
          // A key no store can hold finds nothing (SQLite would look up another in its place).
          isKeepableText(key) ? (table.get.get(key) as string | undefined) : undefined,
        ),
      );
      return doc === undefined ? undefined : (JSON.parse(doc) as ReadModelDocument);
    },

    keysNow: (projection, collection) => {
      // Checked now, so a missing collection fails here rather than at the first step.
      attempt('reading keys', () => usingCollection(projection, collection, () => undefined));
      return {
        // Read lazily, one row at a time, so millions of keys never sit in memory at once.
        [Symbol.iterator]: () => {
          const rows = attempt('reading keys', () =>
            usingCollection(
              projection,
              collection,
              (table) => table.keys.iterate() as IterableIterator<string>,
            ),
          );
          return {
            next: () => attempt('reading keys', () => rows.next()),
            return: (value?: unknown) => {
              rows.return?.();
              return { done: true as const, value };
            },
          } as Iterator<string>;
        },
      };
    },

    documents: async (projection, collection, query) => {
      ensureOpen();
      const prefix = keyPrefixOf(query);
      const { afterKey, limit } = documentsPageOf(query);
      return attempt('reading documents', () =>
        usingCollection(projection, collection, (table) => {
          const bound = prefix === undefined ? undefined : keyPrefixBound(prefix);
          const rows = (
            afterKey !== undefined || limit !== undefined
              ? pageOf(table, prefix, bound, afterKey, limit)
              : prefix === undefined
                ? table.all.iterate()
                : bound === undefined
                  ? table.from.iterate(prefix)
                  : table.between.iterate(prefix, bound)
          ) as IterableIterator<[string, string]>;
          // Each row parsed as it is read: its text is garbage at once, not held with every other.
          const found: { key: string; document: ReadModelDocument }[] = [];
          for (const [key, doc] of rows) {
            // Keys with the prefix come one after another in key order: stop at the first without.
            if (prefix !== undefined && !key.startsWith(prefix)) break;
            found.push({ key, document: JSON.parse(doc) as ReadModelDocument });
          }
          return found;
        }),
      );
    },

    deadLetters: async (projection) => {
      checkReadModelName('projection', projection);
      const rows = attempt(
        'reading dead letters',
        () => statements.deadLetters.all(projection) as DeadLetterRow[],
      );
      return rows.map(
        (row): DeadLetter => ({
          projection: row.projection,
          version: Number(row.version),
          position: row.position,
          eventId: row.event_id,
          eventType: row.event_type,
          streamId: row.stream_id,
          error: row.error,
          deadLetteredAt: row.dead_lettered_at,
        }),
      );
    },

    acquireLease: async (projection, owner, ttlMs) => {
      checkReadModelName('projection', projection);
      checkLeaseOwner(owner);
      checkLeaseTtl(ttlMs);
      return attempt('taking a lease', () => acquire.immediate(projection, owner, ttlMs));
    },

    renewLease: async (lease, ttlMs) => {
      checkLeaseTtl(ttlMs);
      return attempt('renewing a lease', () => {
        const at = now().getTime();
        const expiresAt = Math.ceil(at + ttlMs);
        const { changes } = statements.renewLease.run(
          expiresAt,
          lease.projection,
          lease.owner,
          lease.token,
          at,
        );
        return changes === 1 ? { ...lease, expiresAt } : undefined;
      });
    },

    releaseLease: async (lease) => {
      attempt('releasing a lease', () => {
        statements.releaseLease.run(lease.projection, lease.owner, lease.token);
      });
    },

    close: async () => {
      if (closed) return;
      closed = true;
      tables.clear();
      db.close();
    },
  };
};
