import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import {
  documentPages,
  isKeepableText,
  type Lease,
  type ProjectionBatch,
  type ProjectionCheckpoint,
  type ReadModelDocument,
  type ReadModelStore,
  StoreError,
} from '@lantern/core';
import Database from 'better-sqlite3';
import { sqliteCode } from './sqliteErrors.js';

/**
 * A local copy of a read-model store that can only be read asynchronously (PostgreSQL), kept in
 * a SQLite file beside the process, so the projection engine can read documents while it applies
 * an event and keep only some of them in memory (`documentsInMemory`), as it does with SQLite
 * read models. Without it, the engine holds every document of its projections in memory.
 *
 * The store stays the read models' home: every commit goes to it first, fenced by its checkpoints
 * and leases, and is then written to the copy. When the engine loads a projection (`prepare`), the
 * copy is compared with the store's checkpoint and copied again, page by page, if it differs: after
 * another instance ran the projection, after a commit the copy missed, or on a new file. A
 * projection whose lease another instance holds is not copied.
 */

export interface LocalCopyOptions {
  /**
   * The copy's SQLite file. Default: a file in a new directory under the system's temporary
   * directory, removed on close; one left by a process of this host killed before closing its
   * copy is removed when the next is made. A path of your own keeps the copy across restarts: it is used
   * again when it matches the store's checkpoints, and copied afresh when not. Give each process
   * its own: the copy is a cache, not a place to share.
   */
  path?: string;
  /** Documents read from the store per page when a projection is copied. Default 5,000. */
  pageSize?: number;
}

/** How a temporary copy's directory under the system's temporary directory is named. */
const temporaryPrefix = 'lantern-copy-';
/** In a temporary copy's directory: the host and process that made it. */
const ownerFileName = 'owner.json';

/** Whether this host runs a process with this id (one of another user's counts as running). */
const isRunning = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
};

/**
 * Removes the temporary copies that processes of this host were killed before closing (SIGKILL,
 * a crash): a directory whose owner file names this host and a process no longer running. One
 * naming another host or a running process, or with no owner file, is left alone.
 */
const removeAbandonedCopies = (root: string): void => {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(temporaryPrefix)) continue;
    const directory = join(root, name);
    let owner: { host?: unknown; pid?: unknown };
    try {
      owner = JSON.parse(readFileSync(join(directory, ownerFileName), 'utf8')) as typeof owner;
    } catch {
      continue;
    }
    const { host, pid } = owner;
    if (host === hostname() && typeof pid === 'number' && Number.isSafeInteger(pid) && !isRunning(pid)) {
      rmSync(directory, { recursive: true, force: true });
    }
  }
};

/** A new temporary directory for a copy, naming this process; those of killed processes go first. */
const temporaryDirectory = (): string => {
  const root = tmpdir();
  removeAbandonedCopies(root);
  const directory = mkdtempSync(join(root, temporaryPrefix));
  writeFileSync(join(directory, ownerFileName), JSON.stringify({ host: hostname(), pid: process.pid }));
  return directory;
};

/** `LNTC` in the header's application_id: a Lantern local copy of read models. */
const localCopyApplicationId = 0x4c4e5443;

const schema = `
  CREATE TABLE IF NOT EXISTS copies (
    projection TEXT PRIMARY KEY,
    collections TEXT NOT NULL,
    version INTEGER,
    position TEXT NOT NULL,
    status TEXT,
    updated_at TEXT
  );
  CREATE TABLE IF NOT EXISTS documents (
    projection TEXT NOT NULL,
    collection TEXT NOT NULL,
    key TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (projection, collection, key)
  ) WITHOUT ROWID;
`;

/** What the copy holds of one projection: the store's checkpoint it was taken at. */
interface CopyRow {
  collections: string;
  version: number | null;
  position: string;
  status: string | null;
  updated_at: string | null;
}

const rowOf = (collections: readonly string[], checkpoint: ProjectionCheckpoint | undefined): CopyRow => ({
  collections: JSON.stringify(collections),
  version: checkpoint?.version ?? null,
  position: String(checkpoint?.position ?? 0n),
  status: checkpoint?.status ?? null,
  updated_at: checkpoint?.updatedAt ?? null,
});

const sameRow = (a: CopyRow | undefined, b: CopyRow): boolean =>
  a !== undefined &&
  a.collections === b.collections &&
  a.version === b.version &&
  a.position === b.position &&
  a.status === b.status &&
  a.updated_at === b.updated_at;

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

const pageSizeOf = (given: unknown): number => {
  const pageSize = given ?? 5000;
  if (typeof pageSize !== 'number' || !Number.isSafeInteger(pageSize) || pageSize < 1) {
    throw new TypeError(`pageSize must be a whole number of documents, 1 or more; got ${String(pageSize)}.`);
  }
  return pageSize;
};

/** Opens (or creates) the copy's file; a file that is not a local copy is refused, unchanged. */
const openCopy = (path: string): Database.Database => {
  let db: Database.Database;
  try {
    db = new Database(path);
  } catch (error) {
    throw new StoreError(`Could not open the local copy at ${path}: ${messageOf(error)}.`, { cause: error });
  }
  try {
    const id = db.pragma('application_id', { simple: true }) as number;
    const tables = db.pragma('table_list') as unknown[];
    const empty = id === 0 && tables.length <= 2; // sqlite_schema and sqlite_temp_schema
    if (id !== localCopyApplicationId && !empty) {
      throw new StoreError(
        `${path} is not a Lantern local copy of read models (it holds other data), so it is left as it is; ` +
          'give the local copy a path of its own, or leave the path out to use a temporary file.',
      );
    }
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(schema);
    db.pragma(`application_id = ${localCopyApplicationId}`);
    return db;
  } catch (error) {
    db.close();
    if (error instanceof StoreError) throw error;
    if (sqliteCode(error) === 'SQLITE_NOTADB') {
      throw new StoreError(
        `${path} is not a SQLite file, so it is left as it is; give the local copy a path of its own.`,
        { cause: error },
      );
    }
    throw error;
  }
};

/**
 * The read-model store with a local copy of its documents, read synchronously by the engine
 * (`getDocumentNow`, `keysNow`). Every other read, and every write, goes to the store itself;
 * `close` closes both.
 */
export const withLocalCopy = (readModels: ReadModelStore, options: LocalCopyOptions = {}): ReadModelStore => {
  if (readModels.getDocumentNow && readModels.keysNow) {
    throw new TypeError(
      `The ${readModels.kind} read-model store reads documents synchronously already: the engine pages them ` +
        'without a local copy. Give withLocalCopy a store that does not (PostgreSQL).',
    );
  }
  const pageSize = pageSizeOf(options.pageSize);
  const temporary = options.path === undefined ? temporaryDirectory() : undefined;
  const path = temporary === undefined ? resolvePath(options.path as string) : join(temporary, 'copy.db');
  let db: Database.Database;
  try {
    db = openCopy(path);
  } catch (error) {
    if (temporary !== undefined) rmSync(temporary, { recursive: true, force: true });
    throw error;
  }

  const statements = {
    row: db.prepare<[string], CopyRow>(
      'SELECT collections, version, position, status, updated_at FROM copies WHERE projection = ?',
    ),
    setRow: db.prepare(
      `INSERT INTO copies (projection, collections, version, position, status, updated_at)
       VALUES (@projection, @collections, @version, @position, @status, @updated_at)
       ON CONFLICT (projection) DO UPDATE SET collections = excluded.collections,
         version = excluded.version, position = excluded.position, status = excluded.status,
         updated_at = excluded.updated_at`,
    ),
    dropRow: db.prepare('DELETE FROM copies WHERE projection = ?'),
    clear: db.prepare('DELETE FROM documents WHERE projection = ?'),
    upsert: db.prepare(
      `INSERT INTO documents (projection, collection, key, doc) VALUES (?, ?, ?, ?)
       ON CONFLICT (projection, collection, key) DO UPDATE SET doc = excluded.doc`,
    ),
    remove: db.prepare('DELETE FROM documents WHERE projection = ? AND collection = ? AND key = ?'),
    get: db
      .prepare<[string, string, string], string>(
        'SELECT doc FROM documents WHERE projection = ? AND collection = ? AND key = ?',
      )
      .pluck(),
    keys: db
      .prepare<[string, string], string>('SELECT key FROM documents WHERE projection = ? AND collection = ?')
      .pluck(),
  };

  /** The projections whose copy follows the store: copied, then every commit since written to it. */
  const inStep = new Set<string>();
  /** The collections of each projection copied in this process. */
  const collectionsOf = new Map<string, ReadonlySet<string>>();
  /** Projections whose lease another instance holds: not copied until this one takes it. */
  const heldElsewhere = new Set<string>();
  let closed = false;

  const ensureOpen = (): void => {
    if (closed)
      throw new StoreError(`The local copy at ${path} is closed; create the store again to use it.`);
  };

  const writeRow = (projection: string, row: CopyRow): void => {
    statements.setRow.run({ projection, ...row });
  };

  /** Copies the projection's documents from the store, page by page, as of `checkpoint`. */
  const copy = async (
    projection: string,
    collections: readonly string[],
    checkpoint: ProjectionCheckpoint | undefined,
  ): Promise<void> => {
    db.transaction(() => {
      statements.dropRow.run(projection);
      statements.clear.run(projection);
    })();
    for (const collection of collections) {
      for await (const page of documentPages(readModels, projection, collection, pageSize)) {
        db.transaction(() => {
          for (const { key, document } of page) {
            statements.upsert.run(projection, collection, key, JSON.stringify(document));
          }
        })();
      }
    }
    writeRow(projection, rowOf(collections, checkpoint));
  };

  /**
   * Brings the copy in step with the store: kept when it was taken at the store's checkpoint,
   * copied again when not. A commit landing while it copies is seen in the checkpoint read after,
   * and the copy is taken again.
   */
  const bringInStep = async (projection: string, collections: readonly string[]): Promise<void> => {
    inStep.delete(projection);
    collectionsOf.set(projection, new Set(collections));
    for (let attempt = 0; ; attempt++) {
      const checkpoint = await readModels.checkpoint(projection);
      const wanted = rowOf(collections, checkpoint);
      if (sameRow(statements.row.get(projection), wanted)) {
        inStep.add(projection);
        return;
      }
      if (attempt === 3) {
        throw new StoreError(
          `The read model of "${projection}" kept changing while it was copied to the local copy at ${path}: ` +
            'another instance is writing it. Run the engines with `instance` set, so one holds it at a time.',
        );
      }
      await copy(projection, collections, checkpoint);
    }
  };

  /** Writes committed batches to the copy, for projections in step; any other falls out of step. */
  const mirror = async (batches: readonly ProjectionBatch[]): Promise<void> => {
    const followed = batches.filter((batch) => inStep.has(batch.projection));
    if (followed.length === 0) return;
    try {
      // The store's own checkpoints, as committed: what the copy is compared with when next loaded.
      const checkpoints = await Promise.all(followed.map((batch) => readModels.checkpoint(batch.projection)));
      db.transaction(() => {
        followed.forEach((batch, i) => {
          const { projection } = batch;
          const before = statements.row.get(projection);
          const collections = collectionsOf.get(projection);
          if (
            before === undefined ||
            collections === undefined ||
            before.position !== String(batch.after) ||
            (before.version !== null && before.version !== batch.version)
          ) {
            inStep.delete(projection);
            return;
          }
          for (const change of batch.changes) {
            if (change.document === null) statements.remove.run(projection, change.collection, change.key);
            else {
              statements.upsert.run(
                projection,
                change.collection,
                change.key,
                JSON.stringify(change.document),
              );
            }
          }
          writeRow(projection, rowOf([...collections], checkpoints[i]));
        });
      })();
    } catch (error) {
      for (const batch of followed) inStep.delete(batch.projection);
      throw new StoreError(
        `The read models were committed, but the local copy at ${path} could not be written (${messageOf(error)}). ` +
          'The engine loads the projections again, which copies them afresh; free space on its disk if it is full.',
        { cause: error },
      );
    }
  };

  const knownCollection = (projection: string, collection: string): void => {
    const collections = collectionsOf.get(projection);
    if (collections === undefined) {
      throw new StoreError(
        `The local copy holds nothing of "${projection}" yet: prepare the projection first (the engine does, when it loads it).`,
      );
    }
    if (!collections.has(collection)) {
      throw new StoreError(
        `Projection "${projection}" has no collection "${collection}"; list it in the projection's collections.`,
      );
    }
  };

  const forget = (lease: Lease): void => {
    inStep.delete(lease.projection);
  };

  return {
    kind: readModels.kind,

    prepare: async (projection, collections) => {
      ensureOpen();
      await readModels.prepare(projection, collections);
      if (heldElsewhere.has(projection)) return;
      await bringInStep(projection, collections);
    },

    checkpoint: (projection) => readModels.checkpoint(projection),

    commit: async (batches) => {
      ensureOpen();
      await readModels.commit(batches);
      await mirror(batches);
    },

    reset: async (projection, version, collections, lease) => {
      ensureOpen();
      // Out of step until both are reset: a failure half-way leaves it to be copied at the next load.
      inStep.delete(projection);
      await readModels.reset(projection, version, collections, lease);
      const checkpoint = await readModels.checkpoint(projection);
      db.transaction(() => {
        statements.clear.run(projection);
        writeRow(projection, rowOf(collections, checkpoint));
      })();
      collectionsOf.set(projection, new Set(collections));
      inStep.add(projection);
    },

    getDocument: (projection, collection, key) => readModels.getDocument(projection, collection, key),
    documents: (projection, collection, query) => readModels.documents(projection, collection, query),

    getDocumentNow: (projection, collection, key) => {
      ensureOpen();
      knownCollection(projection, collection);
      // A key no store can hold finds nothing (SQLite would look up another in its place).
      const doc = isKeepableText(key) ? statements.get.get(projection, collection, key) : undefined;
      return doc === undefined ? undefined : (JSON.parse(doc) as ReadModelDocument);
    },

    keysNow: (projection, collection) => {
      ensureOpen();
      knownCollection(projection, collection);
      // Read lazily, one row at a time, so millions of keys never sit in memory at once.
      return { [Symbol.iterator]: () => statements.keys.iterate(projection, collection) };
    },

    deadLetters: (projection) => readModels.deadLetters(projection),

    acquireLease: async (projection, owner, ttlMs) => {
      const lease = await readModels.acquireLease(projection, owner, ttlMs);
      if (lease) heldElsewhere.delete(projection);
      else {
        heldElsewhere.add(projection);
        inStep.delete(projection);
      }
      return lease;
    },

    renewLease: async (lease, ttlMs) => {
      const renewed = await readModels.renewLease(lease, ttlMs);
      if (!renewed) forget(lease);
      return renewed;
    },

    releaseLease: async (lease) => {
      forget(lease);
      await readModels.releaseLease(lease);
    },

    close: async () => {
      if (closed) return;
      closed = true;
      try {
        await readModels.close();
      } finally {
        db.close();
        if (temporary !== undefined && existsSync(temporary))
          rmSync(temporary, { recursive: true, force: true });
      }
    },
  };
};
