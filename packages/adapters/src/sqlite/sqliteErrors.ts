import { StoreError } from '@lantern/core';

/**
 * SQLite's failures, said in Lantern's words: every one a StoreError that names the file and
 * says what to do next. Nothing driver-specific leaks past this file.
 */

/** The code better-sqlite3 puts on its errors, e.g. `SQLITE_BUSY` or `SQLITE_READONLY_DIRECTORY`. */
export const sqliteCode = (error: unknown): string | undefined => {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
};

const detail = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export const closedError = (file: string): StoreError =>
  new StoreError(
    `The SQLite event store on ${file} is closed. Open it again with createSqliteEventStore({ path }).`,
  );

export const notADatabaseError = (file: string, cause?: unknown): StoreError =>
  new StoreError(
    `${file} is not a SQLite database, so it cannot be a Lantern event store. Lantern left it as it is: ` +
      'check the path, or give a path where no file exists yet to create a new store.',
    { cause },
  );

export const foreignDatabaseError = (file: string, why: string): StoreError =>
  new StoreError(
    `${file} is a SQLite database but not a Lantern event store (${why}). Lantern left it as it is: ` +
      'check the path, or give a path where no file exists yet to create a new store.',
  );

export const newerSchemaError = (file: string, found: number, supported: number): StoreError =>
  new StoreError(
    `${file} is a Lantern event store of schema version ${found}, newer than this build reads (${supported}). ` +
      'Upgrade @lantern/adapters to open it; the file was left as it is.',
  );

export const readOnlyError = (file: string, why: string, cause?: unknown): StoreError =>
  new StoreError(
    `Cannot append to ${file}: ${why}. Nothing was written. Make the file and its directory writable by this ` +
      'user, or append through a store opened on a writable copy.',
    { cause },
  );

/** Translates a driver error met while using `file` (opening, reading, appending) into a StoreError. */
export const translateSqliteError = (file: string, doing: string, error: unknown, busyTimeoutMs: number) => {
  const code = sqliteCode(error);
  if (code === undefined) return error;
  const base = code.replace(/^(SQLITE_[A-Z]+?)(_[A-Z_]+)?$/, '$1');
  switch (base) {
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
      return new StoreError(
        `${file} is locked by another writer: ${doing} waited ${busyTimeoutMs} ms for it and gave up; nothing was written. ` +
          'Finish or close the other program holding the lock (a sqlite3 shell with an open transaction, a ' +
          'backup tool), or raise busyTimeoutMs, then try again.',
        { cause: error },
      );
    case 'SQLITE_READONLY':
      return readOnlyError(
        file,
        code === 'SQLITE_READONLY_DIRECTORY'
          ? 'its directory cannot be written, and SQLite must create its -wal and -shm files there'
          : `SQLite refused to write (${code})`,
        error,
      );
    case 'SQLITE_NOTADB':
      return notADatabaseError(file, error);
    case 'SQLITE_CORRUPT':
      return new StoreError(
        `${file} is damaged (${detail(error)}) while ${doing}. Lantern changed nothing: restore the file from a ` +
          'backup, or copy out what is readable with the sqlite3 shell ".recover" command.',
        { cause: error },
      );
    case 'SQLITE_FULL':
      return new StoreError(
        `The disk holding ${file} is full; ${doing} wrote nothing. Free some space and try again.`,
        { cause: error },
      );
    case 'SQLITE_CANTOPEN':
      return new StoreError(
        `Cannot open ${file} (${detail(error)}). Check that its directory exists and that this user may read ` +
          'and write the directory and the file.',
        { cause: error },
      );
    default:
      return new StoreError(
        `SQLite failed on ${file} while ${doing}: ${detail(error)} (${code}). Nothing of an unfinished append was ` +
          'written; try again, and check the disk and the file if it keeps failing.',
        { cause: error },
      );
  }
};
