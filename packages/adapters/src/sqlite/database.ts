import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { StoreError } from '@lantern/core';
import Database from 'better-sqlite3';
import {
  foreignDatabaseError,
  newerSchemaError,
  notADatabaseError,
  sqliteCode,
  translateSqliteError,
} from './sqliteErrors.js';

/**
 * The file: one SQLite database in WAL mode, marked as Lantern's by its header (application_id
 * and user_version), checked on every open before anything is written to it.
 */

/** `LNTN` in the header's application_id: a Lantern event store. */
export const lanternApplicationId = 0x4c4e544e;
/** The layout of new files; bumped whenever it changes. */
export const schemaVersion = 2;
/**
 * Every layout this build reads and appends to. Version 1 is version 2 with its id column
 * `COLLATE NOCASE`: the store stores and looks up ids in lowercase, which that index matches as
 * well, so a file of version 1 keeps working as it is and is never rewritten.
 */
const readableVersions: readonly number[] = [1, 2];

/**
 * One row per event, in global order. `position` is the rowid, so SQLite hands out positions in
 * commit order under its single write lock: whatever one snapshot holds is a prefix of the log.
 * Event ids are stored in lowercase (registries canonicalise them), so the unique index compares
 * them byte for byte and still finds a resend whatever case it was sent in; a byte comparison
 * costs less on every insert than NOCASE, which version 1 used. `checksum` is set on append when
 * the event may be read back without running its schema again (see readValidation.ts).
 */
const createSchema = `
  CREATE TABLE events (
    position INTEGER PRIMARY KEY,
    stream_id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    id TEXT NOT NULL,
    type TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    data TEXT NOT NULL,
    metadata TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    checksum INTEGER,
    UNIQUE (stream_id, revision),
    UNIQUE (id)
  );
  PRAGMA application_id = ${lanternApplicationId};
  PRAGMA user_version = ${schemaVersion};
`;

export interface OpenOptions {
  path: string;
  readonly: boolean;
  busyTimeoutMs: number;
}

export interface OpenedDatabase {
  db: Database.Database;
  /** True when the file was opened for reading only (asked for, or the file cannot be written). */
  readonly: boolean;
  /** Why appends are refused, when they are. */
  readonlyReason: string | undefined;
}

const canWrite = (path: string): boolean => {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
};

const number = (value: unknown): number => Number(value);

/**
 * The oldest SQLite the store runs on: 3.44 brought `concat_ws`, which every read uses (see
 * storedEvents.ts). better-sqlite3 bundles a newer one; only a build against another SQLite can
 * be older.
 */
export const oldestSqlite = '3.44.0';

/** True when a SQLite version (`sqlite_version()`, "3.53.2") is older than `oldestSqlite`. */
export const sqliteTooOld = (version: string): boolean => {
  const given = version.split('.').map(Number);
  const oldest = oldestSqlite.split('.').map(Number);
  for (let i = 0; i < oldest.length; i++) {
    const a = given[i] ?? 0;
    const b = oldest[i] ?? 0;
    if (Number.isNaN(a)) return true;
    if (a !== b) return a < b;
  }
  return false;
};

/**
 * Opens the store's file, creating and marking it when it is new. A file that is not a SQLite
 * database, or a SQLite database that is not Lantern's, is refused without being changed: the
 * header is read before anything is written, and the journal mode is set only afterwards.
 */
/** The absolute path of the file a store was given, or a TypeError saying how to give one. */
export const storeFileOf = (factory: string, options: { path?: unknown } | undefined): string => {
  if (typeof options?.path !== 'string' || options.path === '') {
    throw new TypeError(`${factory} needs a path, e.g. { path: "./data/lantern.db" }.`);
  }
  return resolvePath(options.path);
};

/** `busyTimeoutMs` as given (milliseconds, 0 or more), default 5000. */
export const busyTimeoutOf = (given: unknown): number => {
  const busyTimeoutMs = given ?? 5000;
  if (typeof busyTimeoutMs !== 'number' || !Number.isFinite(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw new TypeError(
      `busyTimeoutMs must be a number of milliseconds, 0 or more; got ${String(busyTimeoutMs)}.`,
    );
  }
  return busyTimeoutMs;
};

export const openDatabase = ({
  path,
  readonly: askedReadonly,
  busyTimeoutMs,
}: OpenOptions): OpenedDatabase => {
  const exists = existsSync(path);
  if (!exists && askedReadonly) {
    throw new StoreError(
      `There is no Lantern event store at ${path} to open read-only. Check the path, or open it without readonly to create one.`,
    );
  }
  let readonlyReason: string | undefined;
  if (askedReadonly) readonlyReason = 'the store was opened read-only';
  else if (exists && !canWrite(path)) readonlyReason = 'the file is read-only for this user';
  else if (exists && !canWrite(dirname(path))) readonlyReason = 'its directory is read-only for this user';
  const readonly = readonlyReason !== undefined;

  const fail = (doing: string, error: unknown): never => {
    throw translateSqliteError(path, doing, error, busyTimeoutMs);
  };

  let db: Database.Database;
  try {
    db = new Database(path, { readonly, fileMustExist: readonly, timeout: busyTimeoutMs });
  } catch (error) {
    return fail('opening it', error);
  }
  try {
    let applicationId: number;
    let pageCount: number;
    try {
      applicationId = number(db.pragma('application_id', { simple: true }));
      pageCount = number(db.pragma('page_count', { simple: true }));
    } catch (error) {
      if (sqliteCode(error) === 'SQLITE_NOTADB') throw notADatabaseError(path, error);
      if (sqliteCode(error) === 'SQLITE_READONLY_DIRECTORY' || sqliteCode(error) === 'SQLITE_CANTOPEN') {
        throw new StoreError(
          `Cannot read ${path}: SQLite needs to create ${path}-shm beside it to read a database in WAL mode, ` +
            'and this user cannot write to its directory. Make the directory writable, or copy the file ' +
            'to a writable directory and open the copy.',
          { cause: error },
        );
      }
      return fail('reading its header', error);
    }

    // Once the header reads (a file that is not a database is named as such first); before any write.
    const sqliteVersion = String(db.prepare('SELECT sqlite_version()').pluck().get());
    if (sqliteTooOld(sqliteVersion)) {
      throw new StoreError(
        `Cannot open ${path}: Lantern's SQLite store needs SQLite ${oldestSqlite} or later, and better-sqlite3 ` +
          `here was built with SQLite ${sqliteVersion}. Reinstall better-sqlite3 without a --sqlite3 build ` +
          'option, so that it builds the SQLite it bundles. The file was not changed.',
      );
    }
    if (applicationId !== lanternApplicationId) {
      if (pageCount > 0 || applicationId !== 0) {
        throw foreignDatabaseError(path, `its header's application_id is ${applicationId}, not Lantern's`);
      }
      if (readonly) {
        throw new StoreError(
          `${path} is empty, so there is no Lantern event store to read. Open it without readonly to create one.`,
        );
      }
      initialise(db, path, busyTimeoutMs);
    }

    const version = number(db.pragma('user_version', { simple: true }));
    if (version > schemaVersion) throw newerSchemaError(path, version, schemaVersion);
    if (!readableVersions.includes(version)) {
      throw foreignDatabaseError(path, `it is marked as Lantern's but its schema version is ${version}`);
    }
    try {
      db.prepare(
        'SELECT position, stream_id, revision, id, type, schema_version, data, metadata, recorded_at, checksum FROM events LIMIT 0',
      ).all();
    } catch {
      throw foreignDatabaseError(
        path,
        `it is marked as Lantern's but has no events table of the right shape`,
      );
    }

    // Durable on commit: the WAL is synced on every commit. Statement journals stay in memory.
    if (!readonly) {
      try {
        const mode = db.pragma('journal_mode = WAL', { simple: true });
        if (mode !== 'wal') {
          throw new StoreError(
            `${path} could not be switched to WAL mode (SQLite kept "${String(mode)}"). Put the store on a local disk; network file systems cannot share WAL files.`,
          );
        }
      } catch (error) {
        if (error instanceof StoreError) throw error;
        return fail('switching it to WAL mode', error);
      }
    }
    db.pragma('synchronous = FULL');
    db.pragma('temp_store = MEMORY');
    return { db, readonly, readonlyReason };
  } catch (error) {
    db.close();
    throw error;
  }
};

/** Creates the schema in an empty file; a second process racing to do the same finds it done. */
const initialise = (db: Database.Database, path: string, busyTimeoutMs: number): void => {
  try {
    db.exec('BEGIN IMMEDIATE');
  } catch (error) {
    throw translateSqliteError(path, 'creating the store', error, busyTimeoutMs);
  }
  try {
    // Under the write lock now: another Lantern process may have created the store meanwhile.
    const applicationId = number(db.pragma('application_id', { simple: true }));
    const objects = number(db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get());
    if (applicationId === 0 && objects === 0) db.exec(createSchema);
    db.exec('COMMIT');
  } catch (error) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw translateSqliteError(path, 'creating the store', error, busyTimeoutMs);
  }
  const applicationId = number(db.pragma('application_id', { simple: true }));
  if (applicationId !== lanternApplicationId) {
    throw foreignDatabaseError(path, `another program wrote to it while Lantern was creating the store`);
  }
};
