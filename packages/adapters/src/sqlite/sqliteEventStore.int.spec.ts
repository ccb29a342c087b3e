import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventStore, NewEvent, ReadAllOptions, RecordedEvent } from '@lantern/core';
import {
  ClubSessionHeld,
  createEventRegistry,
  defaultEventRegistry,
  defineEvent,
  isStoreError,
  isStreamNotFoundError,
  isValidationError,
} from '@lantern/core';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteEventStore, type SqliteEventStoreOptions } from './sqliteEventStore.js';

// What only the SQLite store promises: the file, group commit, faults. The shared contract runs
// in test/storeContract/sqlite.int.spec.ts; other processes in test/sqlite.

const metadata = (schemaVersion = 1) => ({
  occurredAt: '2019-03-01T16:00:00+07:00',
  recordedBy: 'st_5a1c0b7e2d4a61f3',
  schemaVersion,
});

const established = (clubId = 'riverfront-1', name = 'Riverfront kids club'): NewEvent => ({
  id: randomUUID(),
  type: 'ClubEstablished',
  data: {
    programmeId: 'pp-phnom-penh',
    clubId,
    name,
    area: 'KH-12-09',
    kind: 'kids-club',
    establishedOn: '2019-03-01',
  },
  metadata: metadata(),
});

const session = (count = 7, id: string = randomUUID()): NewEvent => ({
  id,
  type: 'ClubSessionHeld',
  data: {
    clubId: 'riverfront-1',
    heldOn: '2019-03-02',
    activity: 'healing-arts',
    attendance: [{ sex: 'female', ageBand: '5-11', count }],
  },
  metadata: metadata(),
});

/** A night shift written by an old field app, at schema version 1: read back upcast to version 2. */
const outreachV1 = (childrenReached = 12): NewEvent => ({
  id: randomUUID(),
  type: 'OutreachConducted',
  data: {
    programmeId: 'pp-phnom-penh',
    teamId: 'night-team-1',
    mode: 'night-outreach',
    area: 'KH-12-01',
    shiftStart: '2019-03-01T21:00:00+07:00',
    shiftEnd: '2019-03-02T01:30:00+07:00',
    childrenReached,
    leafletsDistributed: 25,
  },
  metadata: metadata(1),
});

const collect = async <T>(iterable: AsyncIterable<T>): Promise<T[]> => {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
};

/** The error a call fails with, whether it throws, rejects, or fails while being iterated. */
/** The store's pages: the SQLite store always reads in pages. */
const pagesFrom = (store: EventStore, options?: ReadAllOptions): AsyncIterable<readonly RecordedEvent[]> => {
  if (!store.readAllPages) throw new Error('The SQLite event store has no readAllPages.');
  return store.readAllPages(options);
};

const failureOf = async (action: () => unknown): Promise<unknown> => {
  try {
    const result = action();
    if (result && typeof (result as PromiseLike<unknown>).then === 'function') await result;
    else if (result && typeof (result as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
      await collect(result as AsyncIterable<unknown>);
    }
  } catch (error) {
    return error;
  }
  throw new Error('Expected the call to fail, but it succeeded.');
};

const waitFor = async (condition: () => boolean, what: string): Promise<void> => {
  const deadline = Date.now() + 15_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}.`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('createSqliteEventStore', () => {
  let dir: string;
  let path: string;
  const stores: EventStore[] = [];
  const raws: Database.Database[] = [];

  const open = (options: Partial<SqliteEventStoreOptions> = {}): EventStore => {
    const store = createSqliteEventStore({ path, ...options });
    stores.push(store);
    return store;
  };
  /** A plain SQLite connection to the same file, as another program would hold it. */
  const raw = (options: Database.Options = {}): Database.Database => {
    const db = new Database(path, options);
    raws.push(db);
    return db;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lantern-sqlite-'));
    path = join(dir, 'lantern.db');
  });

  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    for (const db of raws.splice(0)) if (db.open) db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('the file', () => {
    it('creates a new file marked as a Lantern store, in WAL mode', async () => {
      const store = open();
      await store.append('club-riverfront-1', [established()]);
      const db = raw({ readonly: true });
      expect(db.pragma('application_id', { simple: true })).toBe(0x4c4e544e);
      expect(db.pragma('user_version', { simple: true })).toBe(2);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    });

    it('keeps every event across close and reopen', async () => {
      const first = open();
      const events = [established(), session(3), session(4)];
      await first.append('club-riverfront-1', events);
      await first.close();
      const again = open();
      const read = await collect(again.readStream('club-riverfront-1'));
      expect(read.map((event) => event.id)).toEqual(events.map((event) => event.id));
      expect(read.map((event) => event.data)).toEqual(events.map((event) => event.data));
      const next = await again.append('club-riverfront-1', [session(5)], { expectedRevision: 2n });
      expect(next).toMatchObject({ nextExpectedRevision: 3n, position: 4n, written: true });
    });

    it('lets two stores create the same new file at once', async () => {
      const a = open();
      const b = open();
      await Promise.all([a.append('club-a', [established('a')]), b.append('club-b', [established('b')])]);
      expect(await collect(a.readAll())).toHaveLength(2);
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

    it('refuses a SQLite database that is not a Lantern store, and never changes it', async () => {
      const other = raw();
      other.exec(
        "CREATE TABLE visits (id INTEGER PRIMARY KEY, note TEXT); INSERT INTO visits (note) VALUES ('kept')",
      );
      other.close();
      const before = sha256(path);
      for (const options of [{}, { readonly: true }]) {
        const error = await failureOf(() => open(options));
        expect(isStoreError(error)).toBe(true);
        expect((error as Error).message).toContain(path);
        expect((error as Error).message).toMatch(/not a Lantern event store/);
      }
      expect(sha256(path)).toBe(before);
      const check = raw({ readonly: true });
      expect(check.pragma('journal_mode', { simple: true })).toBe('delete');
      expect(check.prepare('SELECT note FROM visits').pluck().all()).toEqual(['kept']);
    });

    it('refuses an empty SQLite database made by another program', async () => {
      const other = raw();
      other.pragma('user_version = 7');
      other.close();
      const before = sha256(path);
      expect((await failureOf(() => open())) as Error).toMatchObject({
        message: expect.stringMatching(/not a Lantern event store/),
      });
      expect(sha256(path)).toBe(before);
    });

    it('refuses a store written by a newer Lantern, saying to upgrade', async () => {
      await open().close();
      const db = raw();
      db.pragma('user_version = 3');
      db.close();
      const error = await failureOf(() => open());
      expect(isStoreError(error)).toBe(true);
      expect((error as Error).message).toMatch(/schema version 3.*Upgrade @lantern\/adapters/);
    });

    it('keeps working with a file of schema version 1 as it is: reads, appends, and finds resends in any case', async () => {
      // The layout Lantern wrote before version 2: ids unique without regard to case.
      const old = raw();
      old.pragma('journal_mode = WAL');
      old.exec(`
        CREATE TABLE events (
          position INTEGER PRIMARY KEY,
          stream_id TEXT NOT NULL,
          revision INTEGER NOT NULL,
          id TEXT NOT NULL COLLATE NOCASE,
          type TEXT NOT NULL,
          schema_version INTEGER NOT NULL,
          data TEXT NOT NULL,
          metadata TEXT NOT NULL,
          recorded_at TEXT NOT NULL,
          checksum INTEGER,
          UNIQUE (stream_id, revision),
          UNIQUE (id)
        );
        PRAGMA application_id = ${0x4c4e544e};
        PRAGMA user_version = 1;
      `);
      // Version 1 stored ids as they were sent.
      const first = { ...established(), id: randomUUID().toUpperCase() };
      old
        .prepare(
          `INSERT INTO events (stream_id, revision, id, type, schema_version, data, metadata, recorded_at, checksum)
           VALUES ('club-riverfront-1', 0, ?, ?, 1, ?, ?, '2019-03-01T09:00:00.000Z', NULL)`,
        )
        .run(first.id, first.type, JSON.stringify(first.data), JSON.stringify(first.metadata));
      const layout = () =>
        raw({ readonly: true }).prepare('SELECT type, name, sql FROM sqlite_schema ORDER BY name').all();
      const before = layout();
      old.close();

      const store = open();
      const [read] = await collect(store.readStream('club-riverfront-1'));
      expect(read).toMatchObject({ id: first.id, data: first.data, revision: 0n, position: 1n });
      for (const id of [first.id, first.id.toLowerCase()]) {
        expect(
          await store.append('club-riverfront-1', [{ ...first, id }], { expectedRevision: 'noStream' }),
        ).toEqual({ nextExpectedRevision: 0n, position: 1n, written: false });
      }
      const next = session(4);
      expect(await store.append('club-riverfront-1', [next], { expectedRevision: 0n })).toEqual({
        nextExpectedRevision: 1n,
        position: 2n,
        written: true,
      });
      const mixed = await failureOf(() =>
        store.append('club-riverfront-1', [session(5), { ...first, id: first.id.toLowerCase() }]),
      );
      expect(mixed).toMatchObject({ code: 'IDEMPOTENCY', eventIds: [first.id.toLowerCase()] });
      await store.close();

      const check = raw({ readonly: true });
      expect(check.pragma('user_version', { simple: true })).toBe(1);
      expect(layout()).toEqual(before);
      const again = open();
      expect((await collect(again.readAll())).map((event) => event.id)).toEqual([first.id, next.id]);
    });

    it('refuses to open read-only a file that does not exist, and creates nothing', async () => {
      const error = await failureOf(() => open({ readonly: true }));
      expect(isStoreError(error)).toBe(true);
      expect((error as Error).message).toContain(path);
      expect(existsSync(path)).toBe(false);
    });
  });

  describe('group commit', () => {
    /** Frames in the WAL: each commit adds the pages it changed. */
    const walFrames = (): number => {
      const db = raw();
      const [result] = db.pragma('wal_checkpoint(PASSIVE)') as { log: number }[];
      db.close();
      return result?.log ?? -1;
    };
    const resetWal = (): void => {
      const db = raw();
      db.pragma('wal_checkpoint(TRUNCATE)');
      db.close();
    };

    it('commits appends made at the same time in one transaction', async () => {
      const store = open();
      await store.append('club-warm-up', [established('warm-up')]);

      resetWal();
      for (let i = 0; i < 16; i += 1) await store.append(`club-${i}`, [established(`c${i}`)]);
      const oneByOne = walFrames();

      resetWal();
      const callers = Array.from({ length: 16 }, async (_, i) => store.append(`club-${i}`, [session(i)]));
      const results = await Promise.all(callers);
      const together = walFrames();

      expect(results.every((result) => result.written && result.nextExpectedRevision === 1n)).toBe(true);
      // Sixteen commits write their pages sixteen times; one commit writes each page once.
      expect(together * 4).toBeLessThan(oneByOne);
      expect(await collect(store.readAll())).toHaveLength(33);
    });

    it('checks each batch of a group on its own: one refusal leaves the others written', async () => {
      const store = open();
      const stored = established('b');
      await store.append('club-a', [established('a')]);
      await store.append('club-b', [stored]);

      const twinId = randomUUID();
      const outcomes = await Promise.allSettled([
        store.append('club-a', [session(1)], { expectedRevision: 0n }),
        store.append('club-a', [session(2)], { expectedRevision: 0n }),
        store.append('club-b', [stored, session(3)]),
        store.append('club-c', [established('c'), session(4)], { expectedRevision: 'noStream' }),
        store.append('club-d', [session(5, twinId), session(6, twinId.toUpperCase())]),
        store.append('club-c', [session(7)], { expectedRevision: 1n }),
        // The first id is new: only the unique index finds the stored one, mid-batch.
        store.append('club-e', [session(8), stored]),
        store.append('club-e', [session(9)], { expectedRevision: 'noStream' }),
      ]);

      expect(outcomes.map((outcome) => outcome.status)).toEqual([
        'fulfilled',
        'rejected',
        'rejected',
        'fulfilled',
        'rejected',
        'fulfilled',
        'rejected',
        'fulfilled',
      ]);
      const reasons = outcomes.map((outcome) => (outcome.status === 'rejected' ? outcome.reason : undefined));
      expect(reasons[1]).toMatchObject({ code: 'CONCURRENCY', expected: 0n, actual: 1n });
      expect(reasons[2]).toMatchObject({ code: 'IDEMPOTENCY', streamId: 'club-b' });
      // Ids that differ only in case are one id, given twice: refused before the group is written.
      expect(reasons[4]).toMatchObject({ code: 'VALIDATION', path: 'id' });
      expect(reasons[6]).toMatchObject({ code: 'IDEMPOTENCY', streamId: 'club-e', eventIds: [stored.id] });

      const all = await collect(store.readAll());
      const counts = (streamId: string) => all.filter((event) => event.streamId === streamId).length;
      expect(['club-a', 'club-b', 'club-c', 'club-d', 'club-e'].map(counts)).toEqual([2, 1, 3, 0, 1]);
      const positions = all.map((event) => event.position);
      expect(positions).toEqual([...positions].sort((x, y) => (x < y ? -1 : 1)));
    });

    it('answers a batch sent twice in one group as a resend, whatever revision it expected', async () => {
      const store = open();
      for (const expectedRevision of ['noStream', 'any'] as const) {
        const streamId = `club-${expectedRevision}`;
        const batch = [established(expectedRevision.toLowerCase()), session(1)];
        const [first, second] = await Promise.all([
          store.append(streamId, batch, { expectedRevision }),
          store.append(streamId, batch, { expectedRevision }),
        ]);
        expect(first).toMatchObject({ nextExpectedRevision: 1n, written: true });
        expect(second).toEqual({ ...first, written: false });
        expect(await collect(store.readStream(streamId))).toHaveLength(2);
      }
    });

    it('checks expected revisions against what other connections committed meanwhile', async () => {
      const store = open();
      const other = open();
      await store.append('club-a', [established('a')]);
      // Another program writes to the file…
      raw()
        .prepare(
          `INSERT INTO events (stream_id, revision, id, type, schema_version, data, metadata, recorded_at, checksum)
           SELECT stream_id, 1, ?, type, schema_version, data, metadata, recorded_at, NULL FROM events`,
        )
        .run(randomUUID());
      expect(await store.append('club-a', [session(2)], { expectedRevision: 1n })).toMatchObject({
        nextExpectedRevision: 2n,
        written: true,
      });
      // …and so does another store.
      await other.append('club-a', [session(3)], { expectedRevision: 2n });
      expect(await store.append('club-a', [session(4)], { expectedRevision: 3n })).toMatchObject({
        nextExpectedRevision: 4n,
        written: true,
      });
      const stale = await failureOf(() => store.append('club-a', [session(5)], { expectedRevision: 3n }));
      expect(stale).toMatchObject({ code: 'CONCURRENCY', expected: 3n, actual: 4n });
    });

    it('answers a caller only once its events are committed', async () => {
      const store = open();
      const reader = open();
      await store.append('club-a', [established('a')]);
      const seen: number[] = [];
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          const result = await store.append('club-a', [session()]);
          // Another connection sees only committed data: the event must already be there.
          const read = await collect(reader.readAll({ after: result.position - 1n }));
          seen.push(read.filter((event) => event.position === result.position).length);
        }),
      );
      expect(seen).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    });

    it('writes batches of any size in one group, in order, and hands live subscribers the same rows', async () => {
      const store = open();
      await store.append('club-a', [established('a')]);
      const live: RecordedEvent[] = [];
      const subscription = store.subscribe({ after: 'end' }).subscribe((event) => live.push(event));
      try {
        const sizes = [40, 1, 70, 3];
        const batches = sizes.map((size) => Array.from({ length: size }, (_, i) => session(i + 1)));
        const results = await Promise.all(
          batches.map((batch, i) => store.append(i % 2 === 0 ? 'club-a' : `club-${i}`, batch)),
        );
        // club-a takes batches 0 and 2 after its first event; the others start their streams.
        expect(results.map((result) => result.nextExpectedRevision)).toEqual([40n, 0n, 110n, 2n]);
        expect(results.map((result) => result.position)).toEqual([41n, 42n, 112n, 115n]);

        const all = await collect(store.readAll());
        expect(all.map((event) => event.id)).toEqual([
          expect.any(String),
          ...batches.flat().map((e) => e.id),
        ]);
        expect(all.map((event) => event.position)).toEqual(all.map((_, i) => BigInt(i + 1)));
        const clubA = await collect(store.readStream('club-a'));
        expect(clubA.map((event) => event.revision)).toEqual(clubA.map((_, i) => BigInt(i)));
        await waitFor(() => live.length === all.length - 1, 'the live subscriber got every new event');
        expect(live).toEqual(all.slice(1));
      } finally {
        subscription.unsubscribe();
      }
    });

    it('commits appends still waiting when the store closes', async () => {
      const store = open();
      const pending = store.append('club-a', [established('a')]);
      await store.close();
      expect((await pending).written).toBe(true);
      expect(await collect(open().readAll())).toHaveLength(1);
    });
  });

  describe('another writer', () => {
    it('gives up on a file locked by another writer with a clear error, and writes nothing', async () => {
      const store = open({ busyTimeoutMs: 50 });
      await store.append('club-a', [established('a')]);
      const other = raw();
      other.exec('BEGIN IMMEDIATE');
      try {
        const error = await failureOf(() => store.append('club-a', [session()]));
        expect(isStoreError(error)).toBe(true);
        expect((error as Error).message).toContain(path);
        expect((error as Error).message).toMatch(/locked by another writer.*waited 50 ms/);
        // Readers are not blocked by a writer in WAL mode.
        expect(await collect(store.readStream('club-a'))).toHaveLength(1);
      } finally {
        other.exec('ROLLBACK');
      }
      const result = await store.append('club-a', [session()], { expectedRevision: 0n });
      expect(result).toMatchObject({ nextExpectedRevision: 1n, written: true });
    });

    it('sees what another store on the same file appends, live, without being told', async () => {
      const writer = open();
      const watcher = open({ pollIntervalMs: 5 });
      await writer.append('club-a', [established('a')]);
      const seen: RecordedEvent[] = [];
      const subscription = watcher.subscribe().subscribe((event) => seen.push(event));
      try {
        await waitFor(() => seen.length === 1, 'the stored event arrived');
        await writer.append('club-a', [session(1)]);
        await writer.append('club-b', [established('b'), session(2)]);
        await waitFor(() => seen.length === 4, 'the new events arrived');
        await watcher.append('club-a', [session(3)]);
        await waitFor(() => seen.length === 5, 'its own event arrived');
        expect(seen.map((event) => event.position)).toEqual([1n, 2n, 3n, 4n, 5n]);
      } finally {
        subscription.unsubscribe();
      }
    });
  });

  describe('read-only', () => {
    it('reads and subscribes when opened read-only, and refuses appends with a clear error', async () => {
      const writer = open();
      await writer.append('club-a', [established('a'), session()]);
      const reader = open({ readonly: true, pollIntervalMs: 5 });
      expect(await collect(reader.readStream('club-a'))).toHaveLength(2);
      const seen: RecordedEvent[] = [];
      const subscription = reader.subscribe().subscribe((event) => seen.push(event));
      try {
        await writer.append('club-a', [session()]);
        await waitFor(() => seen.length === 3, 'the reader saw the new event');
      } finally {
        subscription.unsubscribe();
      }
      const error = await failureOf(() => reader.append('club-a', [session()]));
      expect(isStoreError(error)).toBe(true);
      expect((error as Error).message).toContain(path);
      expect((error as Error).message).toMatch(/opened read-only.*Nothing was written/);
      expect(await collect(writer.readAll())).toHaveLength(3);
    });
  });

  describe('stored rows that do not read back', () => {
    /** A store holding five events; returns the ids. Then another program changes rows under it. */
    const seed = async (): Promise<string[]> => {
      const store = open();
      const events = [established('a'), session(1), session(2), session(3), session(4)];
      await store.append('club-a', events);
      await store.close();
      return events.map((event) => event.id);
    };
    const change = (sql: string, ...params: unknown[]): void => {
      const db = raw();
      db.prepare(sql).run(...params);
      db.close();
    };
    const rows = (): unknown[] => {
      const db = raw({ readonly: true });
      const all = db.prepare('SELECT * FROM events ORDER BY position').all();
      db.close();
      return all;
    };

    const cases: [string, string, RegExp][] = [
      [
        'data that is not JSON',
        `UPDATE events SET data = '{"clubId": "riverf' WHERE position = 3`,
        /not valid JSON/,
      ],
      // Metadata and data are read joined by a NUL: one that holds a NUL of its own is still named.
      [
        'metadata holding a NUL character',
        `UPDATE events SET metadata = '{}' || char(0) || metadata WHERE position = 3`,
        /field "metadata" is invalid \(not valid JSON/,
      ],
      [
        'data holding a NUL character',
        `UPDATE events SET data = data || char(0) WHERE position = 3`,
        /field "data" is invalid \(not valid JSON/,
      ],
      // A row is read as one string, its columns joined by NUL: a column with a NUL of its own is read apart.
      [
        'a type holding a NUL character',
        `UPDATE events SET type = type || char(0) WHERE position = 3`,
        /unknown event type/,
      ],
      [
        'an unknown type',
        `UPDATE events SET type = 'ClubDemolished' WHERE position = 3`,
        /unknown event type/,
      ],
      [
        'data its schema refuses',
        `UPDATE events SET data = json_set(data, '$.attendance[0].count', -1) WHERE position = 3`,
        /data\.attendance\.0\.count/,
      ],
      [
        'metadata its schema refuses',
        `UPDATE events SET metadata = json_set(metadata, '$.recordedBy', 'Sokha Chan') WHERE position = 3`,
        /metadata\.recordedBy/,
      ],
    ];

    for (const [what, sql, rule] of cases) {
      it(`names the position, stream and file of a row with ${what}, and leaves it as it is`, async () => {
        const ids = await seed();
        change(sql);
        const before = rows();
        const store = open();

        const fromAll: RecordedEvent[] = [];
        const error = await failureOf(async () => {
          for await (const event of store.readAll()) fromAll.push(event);
        });
        expect(fromAll.map((event) => event.id)).toEqual(ids.slice(0, 2));
        expect(isValidationError(error)).toBe(true);
        const message = (error as Error).message;
        expect(message).toMatch(rule);
        expect(message).toContain(`event ${ids[2]} at position 3 in stream "club-a" of ${path}`);
        expect(message).toMatch(/left the stored row as it is/);

        const pages: (readonly RecordedEvent[])[] = [];
        const pageError = await failureOf(async () => {
          for await (const page of pagesFrom(store)) pages.push(page);
        });
        expect(pages.flat().map((event) => event.id)).toEqual(ids.slice(0, 2));
        expect((pageError as Error).message).toBe(message);

        expect(isValidationError(await failureOf(() => store.readStream('club-a')))).toBe(true);
        const backwards = await failureOf(() => store.readStream('club-a', { direction: 'backwards' }));
        expect((backwards as Error).message).toContain('position 3');

        let failure: unknown;
        const delivered: RecordedEvent[] = [];
        const subscription = store.subscribe().subscribe({
          next: (event) => delivered.push(event),
          error: (e: unknown) => {
            failure = e;
          },
        });
        await waitFor(() => failure !== undefined, 'the subscription failed');
        subscription.unsubscribe();
        expect(delivered).toHaveLength(2);
        expect((failure as Error).message).toContain('position 3');

        expect(rows()).toEqual(before);
      });
    }

    it('reads a row whose text columns hold NUL characters column by column, as stored', async () => {
      const ids = await seed();
      change(`UPDATE events SET recorded_at = recorded_at || char(0) || 'x' WHERE position = 3`);
      const store = open();
      const expected = (rows() as { recorded_at: string }[]).map((row) => row.recorded_at);
      expect(expected[2]?.endsWith('\u0000x')).toBe(true);
      const fromAll = await collect(store.readAll());
      expect(fromAll.map((event) => event.recordedAt)).toEqual(expected);
      expect(fromAll.map((event) => event.id)).toEqual(ids);
      const fromStream = await collect(store.readStream('club-a'));
      expect(fromStream.map((event) => event.recordedAt)).toEqual(expected);
      expect(fromStream.map((event) => event.position)).toEqual([1n, 2n, 3n, 4n, 5n]);
      expect(fromStream[2]?.data).toEqual(fromAll[2]?.data);
    });

    it('validates a row changed on disk again instead of trusting its old checksum', async () => {
      await seed();
      change(`UPDATE events SET data = json_set(data, '$.attendance[0].count', 99) WHERE position = 3`);
      const events = await collect(open().readAll());
      expect(events[2]?.data).toMatchObject({ attendance: [{ count: 99 }] });
    });

    it('passes over a row of a foreign type when the filter names every registered type', async () => {
      await seed();
      change(`UPDATE events SET type = 'ClubDemolished' WHERE position = 3`);
      const store = open();
      const filter = { eventTypes: [...defaultEventRegistry.types].reverse() };
      const positions = (events: RecordedEvent[]): bigint[] => events.map((event) => event.position);
      expect(positions(await collect(store.readAll({ filter })))).toEqual([1n, 2n, 4n, 5n]);
      expect(positions(await collect(store.readAll({ filter, maxCount: 3 })))).toEqual([1n, 2n, 4n]);
      expect(positions(await collect(store.readAll({ filter, after: 2n, maxCount: 1 })))).toEqual([4n]);
      const pages = await collect(pagesFrom(store, { filter, maxCount: 3 }));
      expect(positions(pages.flat())).toEqual([1n, 2n, 4n]);
      const seen: RecordedEvent[] = [];
      const subscription = store.subscribe({ filter }).subscribe((event) => seen.push(event));
      try {
        await waitFor(() => seen.length === 4, 'the four registered events arrived');
        expect(positions(seen)).toEqual([1n, 2n, 4n, 5n]);
      } finally {
        subscription.unsubscribe();
      }
      // Without the filter the foreign row is met, and named.
      await expect(collect(store.readAll())).rejects.toThrow(/unknown event type/);
    });

    it('reads a valid row written by another program, with no checksum, through its schema', async () => {
      await seed();
      const event = outreachV1(5);
      change(
        `INSERT INTO events (stream_id, revision, id, type, schema_version, data, metadata, recorded_at)
         VALUES ('outreach-a', 0, ?, 'OutreachConducted', 1, ?, ?, '2020-01-01T00:00:00.000Z')`,
        event.id,
        JSON.stringify(event.data),
        JSON.stringify(event.metadata),
      );
      const [read] = await collect(open().readStream('outreach-a'));
      expect(read?.metadata.schemaVersion).toBe(2);
      expect(read?.data).toMatchObject({ contacts: [{ sex: 'unknown', ageBand: 'unknown', count: 5 }] });
    });
  });

  describe('data JSON would not give back', () => {
    it('is refused before anything is stored, naming the field', async () => {
      // A programme's own schema that lets fields it does not name through as they are sent.
      const loose = createEventRegistry([
        defineEvent({
          type: 'ClubSessionHeld',
          schema: (ClubSessionHeld.schema as unknown as { loose(): typeof ClubSessionHeld.schema }).loose(),
        }),
      ]);
      const store = open({ registry: loose });
      const plain = session();
      await store.append('club-a', [{ ...plain, data: { ...(plain.data as object), note: { by: 'a' } } }]);
      const sent = session();
      const error = await failureOf(() =>
        store.append('club-a', [{ ...sent, data: { ...(sent.data as object), note: { at: new Date(0) } } }]),
      );
      expect(isValidationError(error) && error.path).toBe('data.note.at');
      expect((error as Error).message).toMatch(/toISOString\(\).*nothing of this batch was stored/);
      const stored = await collect(open({ registry: loose }).readStream('club-a'));
      expect(stored.map((event) => event.id)).toEqual([plain.id]);
      expect(stored[0]?.data).toMatchObject({ note: { by: 'a' } });
    });
  });

  describe('validation on read', () => {
    it('does not trust a checksum written under another schema of the same version', async () => {
      // Two builds that both call it version 1 of ClubSessionHeld, one stricter than the other.
      const loose = createEventRegistry([ClubSessionHeld]);
      const strict = createEventRegistry([
        defineEvent({
          type: 'ClubSessionHeld',
          schema: ClubSessionHeld.schema.refine(
            (data) => data.attendance.every((cell) => cell.count <= 5),
            'at most 5 children per cell',
          ),
        }),
      ]);
      await open({ registry: loose }).append('club-a', [session(7)]);

      const same = await collect(open({ registry: loose }).readStream('club-a'));
      expect(same[0]?.data).toMatchObject({ attendance: [{ count: 7 }] });
      const error = await failureOf(() => open({ registry: strict }).readStream('club-a'));
      expect(isValidationError(error) && error.rule).toBe('at most 5 children per cell');
      expect((error as Error).message).toContain('position 1');
    });

    it('trusts checksums written by a build that prints the same refinement differently', async () => {
      // A bundler renames what a function refers to: the same rule, printed two ways.
      const atMost = 99;
      let readerChecks = 0;
      const writer = createEventRegistry([
        defineEvent({
          type: 'ClubSessionHeld',
          schema: ClubSessionHeld.schema.refine(
            (data) => data.attendance.every((cell) => cell.count <= atMost),
            'at most 99 children per cell',
          ),
        }),
      ]);
      const reader = createEventRegistry([
        defineEvent({
          type: 'ClubSessionHeld',
          schema: ClubSessionHeld.schema.refine((d) => {
            readerChecks += 1;
            return d.attendance.every((c) => c.count <= 99);
          }, 'at most 99 children per cell'),
        }),
      ]);
      await open({ registry: writer }).append('club-a', [session(7)]);
      const read = await collect(open({ registry: reader }).readStream('club-a'));
      expect(read[0]?.data).toMatchObject({ attendance: [{ count: 7 }] });
      expect(readerChecks).toBe(0);
      // Validating every row runs the reader's rule.
      await collect(open({ registry: reader, readValidation: 'full' }).readStream('club-a'));
      expect(readerChecks).toBe(1);
    });

    it('reads the same events whether it checks checksums or runs every schema', async () => {
      const store = open();
      await store.append('club-a', [established('a', '  Riverfront kids club  '), session(3)]);
      await store.append('outreach-a', [outreachV1(12), outreachV1(0)]);
      const subscribed: RecordedEvent[] = [];
      const subscription = store.subscribe().subscribe((event) => subscribed.push(event));
      await waitFor(() => subscribed.length === 4, 'the subscription caught up');
      subscription.unsubscribe();

      const checked = await collect(store.readAll());
      const full = await collect(open({ readValidation: 'full' }).readAll());
      expect(checked).toEqual(full);
      expect(subscribed).toEqual(full);
      // The schema trims titles: the stored text keeps what was sent; every read returns it trimmed.
      expect(full[0]?.data).toMatchObject({ name: 'Riverfront kids club' });
      expect(full[2]?.metadata.schemaVersion).toBe(2);
    });
  });

  describe('reading a stream', () => {
    const revisions = (events: readonly RecordedEvent[]): number[] => events.map((e) => Number(e.revision));
    const range = (from: number, to: number): number[] =>
      Array.from({ length: to - from }, (_, i) => from + i);

    it('reads a stream longer than one query to the end it had when the read began, cached or not', async () => {
      const writer = open();
      await writer.append('club-a', [
        established('a'),
        ...Array.from({ length: 599 }, (_, i) => session(i + 1)),
      ]);
      // A first read (not cached yet), a store without a cache, and a third read (cached by now).
      const first = open();
      const uncached = open({ streamCacheEvents: 0 });
      const cached = open();
      await collect(cached.readStream('club-a'));
      await collect(cached.readStream('club-a'));
      let stored = 600;
      for (const store of [first, uncached, cached]) {
        const reading = store.readStream('club-a')[Symbol.asyncIterator]();
        const events: RecordedEvent[] = [];
        const head = await reading.next();
        if (!head.done) events.push(head.value);
        // Appended once the read has begun: not part of it.
        await writer.append('club-a', [session(stored)]);
        stored += 1;
        for (let next = await reading.next(); !next.done; next = await reading.next()) {
          events.push(next.value);
        }
        expect(revisions(events)).toEqual(range(0, stored - 1));
        const from = (fromRevision: bigint, maxCount?: number) =>
          collect(
            store.readStream(
              'club-a',
              maxCount === undefined ? { fromRevision } : { fromRevision, maxCount },
            ),
          );
        expect(revisions(await from(500n, 50))).toEqual(range(500, 550));
        expect(revisions(await from(10n, 600))).toEqual(range(10, Math.min(610, stored)));
        expect(revisions(await from(590n))).toEqual(range(590, stored));
        expect(await collect(store.readStream('club-a', { fromRevision: 5000n }))).toEqual([]);
        expect(await collect(store.readStream('club-a', { maxCount: 0 }))).toEqual([]);
        expect(isStreamNotFoundError(await failureOf(() => store.readStream('club-never')))).toBe(true);
      }
    });
  });

  describe('the stream cache', () => {
    it('reads a stream again with what was appended since, and forgets a stream rewritten under it', async () => {
      const store = open();
      await store.append('club-a', [established('a'), session(1)]);
      for (let i = 0; i < 3; i += 1) await collect(store.readStream('club-a'));
      await store.append('club-a', [session(2)]);
      const again = await collect(store.readStream('club-a'));
      expect(again.map((event) => event.data)).toMatchObject([
        {},
        { attendance: [{ count: 1 }] },
        { attendance: [{ count: 2 }] },
      ]);
      expect(await collect(store.readStream('club-a', { fromRevision: 1n, maxCount: 1 }))).toEqual([
        again[1],
      ]);
      expect(await collect(store.readStream('club-a', { direction: 'backwards' }))).toEqual(
        [...again].reverse(),
      );

      // Lantern never rewrites a row; a file restored from elsewhere might. The cache notices.
      const db = raw();
      db.exec("DELETE FROM events WHERE stream_id = 'club-a'");
      db.close();
      const other = open();
      await other.append('club-a', [established('a'), session(5), session(6)]);
      const after = await collect(store.readStream('club-a'));
      expect(after.map((event) => event.data)).toMatchObject([
        {},
        { attendance: [{ count: 5 }] },
        { attendance: [{ count: 6 }] },
      ]);
    });
  });
});
