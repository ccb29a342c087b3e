import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { oldestSqlite, sqliteTooOld } from './database.js';

describe('the SQLite the store needs', () => {
  it('refuses versions before 3.44 and takes any later one', () => {
    expect(sqliteTooOld('3.43.2')).toBe(true);
    expect(sqliteTooOld('3.8.11')).toBe(true);
    expect(sqliteTooOld('2.9.0')).toBe(true);
    expect(sqliteTooOld('not a version')).toBe(true);
    expect(sqliteTooOld(oldestSqlite)).toBe(false);
    expect(sqliteTooOld('3.44')).toBe(false);
    expect(sqliteTooOld('3.53.2')).toBe(false);
    expect(sqliteTooOld('4.0.0')).toBe(false);
  });

  it('is met by the SQLite better-sqlite3 was built with here', () => {
    const db = new Database(':memory:');
    try {
      const version = String(db.prepare('SELECT sqlite_version()').pluck().get());
      expect(sqliteTooOld(version)).toBe(false);
      expect(db.prepare("SELECT concat_ws(char(0), 1, 'a', NULL, 'b')").pluck().get()).toBe(
        '1\u0000a\u0000b',
      );
    } finally {
      db.close();
    }
  });
});
