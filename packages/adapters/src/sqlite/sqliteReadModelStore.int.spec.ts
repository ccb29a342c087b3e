import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isLeaseLostError, isStoreError, type ReadModelStore } from '@lantern/core';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteEventStore } from './sqliteEventStore.js';
import { createSqliteReadModelStore, type SqliteReadModelStoreOptions } from './sqliteReadModelStore.js';

// What only the SQLite read-model store promises: the file it shares with the events, tables an
// analyst can query, several connections on one file. The shared contract runs in
// test/readModelContract/sqlite.int.spec.ts; a process killed mid-rebuild in test/projectionCrash.

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

const failureOf = async (action: () => unknown): Promise<unknown> => {
  try {
    await action();
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
};

const sessionHeld = (clubId: string, count: number) => ({
  id: randomUUID(),
  type: 'ClubSessionHeld',
  data: {
    clubId,
    heldOn: '2019-03-02',
    activity: 'healing-arts',
    attendance: [{ sex: 'female', ageBand: '5-11', count }],
  },
  metadata: { occurredAt: '2019-03-02T16:00:00+07:00', recordedBy: 'st_5a1c0b7e2d4a61f3', schemaVersion: 1 },
});

describe('the sqlite read-model store', () => {
  let dir: string;
  let path: string;
  const opened: ReadModelStore[] = [];
  const open = (options: Omit<SqliteReadModelStoreOptions, 'path'> = {}): ReadModelStore => {
    const store = createSqliteReadModelStore({ path, ...options });
    opened.push(store);
    return store;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lantern-read-models-'));
    path = join(dir, 'lantern.db');
  });

  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('the file', () => {
    it('keeps read models in the event store file, as tables an analyst queries with SQL', async () => {
      const events = createSqliteEventStore({ path });
      await events.append('club-riverfront-1', [sessionHeld('riverfront-1', 7)]);
      const readModels = open();
      await readModels.prepare('attendance', ['clubs']);
      await readModels.commit([
        {
          projection: 'attendance',
          version: 1,
          after: 0n,
          position: 1n,
          changes: [{ collection: 'clubs', key: 'riverfront-1', document: { sessions: 1, children: 7 } }],
        },
      ]);
      // The event store goes on working beside the read models, in the same file.
      await events.append('club-riverfront-1', [sessionHeld('riverfront-1', 2)]);
      await events.close();

      const analyst = new Database(path, { readonly: true });
      try {
        expect(
          analyst
            .prepare("SELECT key, json_extract(doc, '$.children') AS children FROM attendance__clubs")
            .all(),
        ).toEqual([{ key: 'riverfront-1', children: 7 }]);
        expect(
          analyst.prepare('SELECT projection, version, position, status FROM lantern_checkpoints').all(),
        ).toEqual([{ projection: 'attendance', version: 1, position: 1, status: 'active' }]);
        expect(analyst.prepare('SELECT count(*) FROM events').pluck().get()).toBe(2);
        expect(analyst.pragma('journal_mode', { simple: true })).toBe('wal');
      } finally {
        analyst.close();
      }
    });

    it('creates a new file as a Lantern file, which the event store then opens', async () => {
      const readModels = open();
      await readModels.prepare('attendance', ['clubs']);
      await readModels.close();
      const events = createSqliteEventStore({ path });
      try {
        expect((await events.append('club-a', [sessionHeld('a', 1)])).position).toBe(1n);
      } finally {
        await events.close();
      }
    });

    it('refuses a file that is not a SQLite database, and leaves it as it is', async () => {
      writeFileSync(path, 'clubId,name\nriverfront-1,Riverfront kids club\n'.repeat(40));
      const before = sha256(path);
      const error = await failureOf(() => open());
      expect(isStoreError(error)).toBe(true);
      expect((error as Error).message).toContain(path);
      expect((error as Error).message).toMatch(/not a SQLite database.*left it as it is/);
      expect(sha256(path)).toBe(before);
      expect(existsSync(`${path}-wal`)).toBe(false);
    });

    it('refuses a SQLite database that is not Lantern’s, and never changes it', async () => {
      const other = new Database(path);
      other.exec(
        "CREATE TABLE visits (id INTEGER PRIMARY KEY, note TEXT); INSERT INTO visits (note) VALUES ('kept')",
      );
      other.close();
      const before = sha256(path);
      const error = await failureOf(() => open());
      expect(isStoreError(error)).toBe(true);
      expect((error as Error).message).toContain(path);
      expect((error as Error).message).toMatch(/left it as it is/);
      expect(sha256(path)).toBe(before);
    });

    it('refuses a table of a read model’s name that another program made with other columns', async () => {
      await open().close();
      const other = new Database(path);
      other.exec('CREATE TABLE attendance__clubs (club TEXT, children INTEGER)');
      other.close();
      const error = await failureOf(() => open().prepare('attendance', ['clubs']));
      expect(isStoreError(error)).toBe(true);
      expect((error as Error).message).toMatch(/attendance__clubs .* is not a Lantern read-model table/);
    });

    it('waits for another writer, then fails naming the file and writing nothing', async () => {
      const readModels = open({ busyTimeoutMs: 50 });
      await readModels.prepare('attendance', ['clubs']);
      const other = new Database(path);
      other.exec('BEGIN IMMEDIATE');
      try {
        const error = await failureOf(() =>
          readModels.commit([
            {
              projection: 'attendance',
              version: 1,
              after: 0n,
              position: 3n,
              changes: [{ collection: 'clubs', key: 'a', document: { n: 1 } }],
            },
          ]),
        );
        expect(isStoreError(error)).toBe(true);
        expect((error as Error).message).toMatch(/locked by another writer/);
        expect((error as Error).message).toContain(path);
      } finally {
        other.exec('ROLLBACK');
        other.close();
      }
      expect(await readModels.checkpoint('attendance')).toBeUndefined();
      expect(await readModels.documents('attendance', 'clubs')).toEqual([]);
    });

    it('refuses a document that is not a JSON object, writing nothing of the commit', async () => {
      const readModels = open();
      await readModels.prepare('attendance', ['clubs']);
      const error = await failureOf(() =>
        readModels.commit([
          {
            projection: 'attendance',
            version: 1,
            after: 0n,
            position: 2n,
            changes: [
              { collection: 'clubs', key: 'a', document: { n: 1 } },
              { collection: 'clubs', key: 'b', document: [1, 2] as never },
            ],
          },
        ]),
      );
      expect(error).toBeInstanceOf(TypeError);
      expect(await readModels.checkpoint('attendance')).toBeUndefined();
      expect(await readModels.documents('attendance', 'clubs')).toEqual([]);
    });

    it('refuses a durableCommits that is not true or false before touching the file', () => {
      expect(() => createSqliteReadModelStore({ path, durableCommits: 'yes' as unknown as boolean })).toThrow(
        /durableCommits must be true or false; got yes/,
      );
      expect(existsSync(path)).toBe(false);
    });

    it('says it is closed, and how to open it again', async () => {
      const readModels = open();
      await readModels.close();
      const error = await failureOf(() => readModels.checkpoint('attendance'));
      expect(isStoreError(error)).toBe(true);
      expect((error as Error).message).toMatch(/closed.*createSqliteReadModelStore/);
    });
  });

  describe('several connections on one file', () => {
    it('fences a stale owner across connections, and tokens keep growing after a release', async () => {
      const one = open();
      const two = open();
      await one.prepare('attendance', ['clubs']);
      const first = await one.acquireLease('attendance', 'host-a-1201', 10_000);
      expect(first).toMatchObject({ owner: 'host-a-1201', token: 1 });
      expect(await two.acquireLease('attendance', 'host-b-877', 10_000)).toBeUndefined();
      if (!first) throw new Error('no lease');
      await one.releaseLease(first);
      const second = await two.acquireLease('attendance', 'host-b-877', 10_000);
      expect(second).toMatchObject({ owner: 'host-b-877', token: 2 });
      const stale = one.commit([
        { projection: 'attendance', version: 1, after: 0n, position: 4n, changes: [], lease: first },
      ]);
      await expect(stale).rejects.toSatisfy(isLeaseLostError);
      if (!second) throw new Error('no lease');
      await two.commit([
        { projection: 'attendance', version: 1, after: 0n, position: 4n, changes: [], lease: second },
      ]);
      expect(await one.checkpoint('attendance')).toMatchObject({ position: 4n });
    });

    it('frees the lease of an owner that stopped renewing once its TTL has run out', async () => {
      let clock = Date.parse('2019-03-02T16:00:00Z');
      const now = () => new Date(clock);
      const one = open({ now });
      const two = open({ now });
      const dead = await one.acquireLease('attendance', 'host-a-1201', 5_000);
      clock += 4_999;
      expect(await two.acquireLease('attendance', 'host-b-877', 5_000)).toBeUndefined();
      clock += 2;
      expect(await two.acquireLease('attendance', 'host-b-877', 5_000)).toMatchObject({ token: 2 });
      if (!dead) throw new Error('no lease');
      expect(await one.renewLease(dead, 5_000)).toBeUndefined();
    });

    it('drops the tables of collections a rebuilt version no longer lists', async () => {
      const readModels = open();
      await readModels.prepare('attendance', ['clubs', 'areas']);
      await readModels.commit([
        {
          projection: 'attendance',
          version: 1,
          after: 0n,
          position: 2n,
          changes: [{ collection: 'areas', key: 'KH-12-09', document: { children: 3 } }],
        },
      ]);
      // `attendance_` is another projection: its table `attendance___x` is left alone.
      await readModels.prepare('attendance_', ['x']);
      await readModels.reset('attendance', 2, ['clubs']);
      const error = await failureOf(() => readModels.documents('attendance', 'areas'));
      expect((error as Error).message).toMatch(/has no collection "areas"/);
      expect(await readModels.documents('attendance_', 'x')).toEqual([]);
      expect(await readModels.checkpoint('attendance')).toMatchObject({ version: 2, position: 0n });
    });
  });
});
