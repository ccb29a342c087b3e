import { createRequire } from 'node:module';

/**
 * The slice of better-sqlite3 the raw subject uses. The driver's types (@types/better-sqlite3)
 * are a dev dependency of @lantern/adapters, not of bench, so the few signatures are declared here.
 */
export interface Statement {
  run(...parameters: unknown[]): unknown;
  all(...parameters: unknown[]): unknown[];
  iterate(...parameters: unknown[]): IterableIterator<unknown>;
}

export interface Database {
  prepare(source: string): Statement;
  exec(source: string): void;
  pragma(source: string, options: { simple: true }): unknown;
  transaction<TArgs extends unknown[]>(run: (...args: TArgs) => void): (...args: TArgs) => void;
  close(): void;
}

type DatabaseConstructor = new (file: string) => Database;

const BetterSqlite3 = createRequire(import.meta.url)('better-sqlite3') as DatabaseConstructor;

export const openDatabase = (file: string): Database => new BetterSqlite3(file);

/** The SQLite library better-sqlite3 was built with, e.g. `3.50.4`. */
export const sqliteVersion = (): string => {
  const db = openDatabase(':memory:');
  try {
    return String((db.prepare('SELECT sqlite_version() AS version').all()[0] as { version: string }).version);
  } finally {
    db.close();
  }
};
