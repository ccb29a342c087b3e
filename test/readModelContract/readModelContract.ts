import { createHash } from 'node:crypto';
import { createMemoryEventStore } from '@lantern/adapters/memory';
import {
  type DocumentsQuery,
  documentPages,
  type EventStore,
  isLeaseLostError,
  type NewEvent,
  type ReadModelDocument,
  type ReadModelStore,
  type RecordedEvent,
} from '@lantern/core';
import { catalogEvent } from '@lantern/core/testing';
import {
  createProjectionEngine,
  defineProjection,
  type PoisonPolicy,
  type Projection,
  type ProjectionEngine,
  type ProjectionView,
  readReleaseRegister,
  releaseRegisterName,
} from '@lantern/projections';
import fc from 'fast-check';
import { firstValueFrom, take, toArray } from 'rxjs';
import { v4 as uuidv4 } from 'uuid';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

/**
 * The read-model store contract, written once and run against every read-model store (memory,
 * SQLite, PostgreSQL): the port's own promises, and the projection engine running unchanged on
 * top of it.
 */

export interface ReadModelStoreUnderTest {
  readModels: ReadModelStore;
  /** The same stored read models through a new connection, as after a restart; omit for memory. */
  reopen?: () => Promise<ReadModelStore>;
  cleanup?: () => Promise<void>;
}

export type ReadModelStoreFactory = () => Promise<ReadModelStoreUnderTest>;

const staff = 'st_5a1c0b7e2d4a61f3';

/** A unique projection name per test, so stores shared between tests (PostgreSQL) stay apart. */
const projectionName = (base: string): string => `${base}_${uuidv4().replaceAll('-', '').slice(0, 10)}`;

export const sessionHeld = (clubId: string, count: number, heldOn = '2019-03-02'): NewEvent =>
  catalogEvent(
    'ClubSessionHeld',
    { clubId, heldOn, activity: 'play', attendance: [{ sex: 'female', ageBand: '5-11', count }] },
    { occurredAt: `${heldOn}T16:00:00+07:00`, recordedBy: staff },
  );

const clubClosed = (clubId: string): NewEvent =>
  catalogEvent(
    'ClubClosed',
    { clubId, reason: 'premises' },
    { occurredAt: '2019-04-01T09:00:00+07:00', recordedBy: staff },
  );

/** Attendance per club: one document per club, deleted when the club closes. */
export const attendanceProjection = (
  name: string,
  options: { version?: number; poisonClub?: string; onPoison?: 'stop' | 'skip' } = {},
): Projection =>
  defineProjection({
    name,
    version: options.version ?? 1,
    eventTypes: ['ClubSessionHeld', 'ClubClosed'],
    collections: ['clubs'],
    ...(options.onPoison ? { onPoison: options.onPoison } : {}),
    apply: (event: RecordedEvent, view) => {
      const { clubId } = event.data as { clubId: string };
      if (event.type === 'ClubClosed') {
        view.delete('clubs', clubId);
        return;
      }
      const { attendance } = event.data as { attendance: { count: number }[] };
      const before = (view.get('clubs', clubId) as { sessions: number; children: number } | undefined) ?? {
        sessions: 0,
        children: 0,
      };
      // Written before the throw on purpose: the engine must throw this half-change away.
      view.put('clubs', clubId, { sessions: before.sessions + 1, children: before.children });
      if (clubId === options.poisonClub) throw new Error(`club ${clubId} cannot be counted`);
      const children = attendance.reduce((sum, cell) => sum + cell.count, 0);
      view.put('clubs', clubId, {
        sessions: before.sessions + 1,
        children: before.children + children * (options.version ?? 1),
      });
    },
  });

/** The store as one that reads only event by event: every method but readAllPages. */
const withoutPages = (store: EventStore): EventStore => ({
  append: (streamId, events, options) => store.append(streamId, events, options),
  readStream: (streamId, options) => store.readStream(streamId, options),
  readAll: (options) => store.readAll(options),
  subscribe: (options) => store.subscribe(options),
  close: () => store.close(),
});

/**
 * A projection keeping each club's last session date in `clubs`, that does `odd` instead for the
 * session held on 9 March 2019: how the poison tests make one event misbehave.
 */
const oddOnTheNinth = (
  name: string,
  onPoison: PoisonPolicy,
  odd: (view: ProjectionView, clubId: string, heldOn: string) => void,
): Projection =>
  defineProjection({
    name,
    version: 1,
    eventTypes: ['ClubSessionHeld'],
    collections: ['clubs'],
    onPoison,
    apply: (event, view) => {
      const { clubId, heldOn } = event.data as { clubId: string; heldOn: string };
      if (heldOn === '2019-03-09') odd(view, clubId, heldOn);
      else view.put('clubs', clubId, { heldOn });
    },
  });

const documentsOf = async (
  readModels: ReadModelStore,
  projection: string,
): Promise<Record<string, ReadModelDocument>> =>
  Object.fromEntries(
    (await readModels.documents(projection, 'clubs')).map(({ key, document }) => [key, document]),
  );

export interface ReadModelContractOptions {
  /** True when the store keeps its read models across connections (SQLite, PostgreSQL). */
  durable: boolean;
}

export const runReadModelContract = (
  name: string,
  factory: ReadModelStoreFactory,
  contractOptions: ReadModelContractOptions,
): void => {
  describe(`read-model store contract: ${name}`, () => {
    let subject: ReadModelStoreUnderTest;
    let readModels: ReadModelStore;
    let eventStore: EventStore;
    const engines: ProjectionEngine[] = [];
    const engineOf = (
      options: Omit<Parameters<typeof createProjectionEngine>[0], 'eventStore' | 'readModels'>,
    ) => {
      const engine = createProjectionEngine({ eventStore, readModels, ...options });
      engines.push(engine);
      return engine;
    };

    /** A new projection whose one collection, `clubs`, holds these documents, committed at position 1. */
    /** Commits `documents` into `clubs` as the projection's first batch, up to position 1. */
    const commitFirst = (
      projection: string,
      documents: readonly (readonly [string, ReadModelDocument | null])[],
    ): Promise<void> =>
      readModels.commit([
        {
          projection,
          version: 1,
          after: 0n,
          position: 1n,
          changes: documents.map(([key, document]) => ({ collection: 'clubs', key, document })),
        },
      ]);

    const projectionHolding = async (
      base: string,
      documents: readonly (readonly [string, ReadModelDocument])[],
    ): Promise<string> => {
      const projection = projectionName(base);
      await readModels.prepare(projection, ['clubs']);
      await commitFirst(projection, documents);
      return projection;
    };

    beforeEach(async () => {
      subject = await factory();
      readModels = subject.readModels;
      eventStore = createMemoryEventStore();
    });

    afterEach(async () => {
      for (const engine of engines.splice(0)) await engine.stop();
      await readModels.close();
      await eventStore.close();
      await subject.cleanup?.();
    });

    describe('the port', () => {
      it('commits documents and the checkpoint together, and reads them back in key order', async () => {
        const projection = projectionName('port');
        await readModels.prepare(projection, ['clubs']);
        expect(await readModels.checkpoint(projection)).toBeUndefined();
        await readModels.commit([
          {
            projection,
            version: 1,
            after: 0n,
            position: 7n,
            changes: [
              { collection: 'clubs', key: 'b', document: { n: 2, nested: { list: [1, 'x', null] } } },
              { collection: 'clubs', key: 'a', document: { n: 1 } },
            ],
          },
        ]);
        expect(await readModels.checkpoint(projection)).toMatchObject({
          version: 1,
          position: 7n,
          status: 'active',
        });
        expect(await readModels.documents(projection, 'clubs')).toEqual([
          { key: 'a', document: { n: 1 } },
          { key: 'b', document: { n: 2, nested: { list: [1, 'x', null] } } },
        ]);
        expect(await readModels.getDocument(projection, 'clubs', 'b')).toEqual({
          n: 2,
          nested: { list: [1, 'x', null] },
        });
        expect(await readModels.getDocument(projection, 'clubs', 'zz')).toBeUndefined();
      });

      it('writes a batch of many documents as its changes say, in their order', async () => {
        const projection = projectionName('many');
        await readModels.prepare(projection, ['clubs', 'areas']);
        const key = (n: number) => `club-${String(n).padStart(3, '0')}`;
        // More documents than a store may write in one statement, then changes whose order counts:
        // a document deleted and put again, one put twice, one put and deleted, and another table between.
        const puts = Array.from({ length: 230 }, (_, n) => ({
          collection: 'clubs',
          key: key(n),
          document: { n },
        }));
        await readModels.commit([
          {
            projection,
            version: 1,
            after: 0n,
            position: 1n,
            changes: [
              ...puts.slice(0, 120),
              { collection: 'clubs', key: key(7), document: null },
              { collection: 'clubs', key: key(7), document: { n: 'again' } },
              { collection: 'areas', key: 'KH-12', document: { clubs: 65 } },
              ...puts.slice(120),
              { collection: 'clubs', key: key(8), document: { n: 'second' } },
              { collection: 'clubs', key: key(9), document: null },
            ],
          },
        ]);
        const kept = await readModels.documents(projection, 'clubs');
        expect(kept).toHaveLength(229);
        expect(new Map(kept.map((row) => [row.key, row.document]))).toEqual(
          new Map(
            puts
              .filter((put) => put.key !== key(9))
              .map((put) => [
                put.key,
                put.key === key(7) ? { n: 'again' } : put.key === key(8) ? { n: 'second' } : put.document,
              ]),
          ),
        );
        expect(await readModels.documents(projection, 'areas')).toEqual([
          { key: 'KH-12', document: { clubs: 65 } },
        ]);
      });

      it('keeps a document as its JSON text gives it back, whatever the caller or a reader changes afterwards', async () => {
        const projection = projectionName('kept');
        await readModels.prepare(projection, ['clubs']);
        const put = { n: 1, list: [{ x: 1 }], deep: { deeper: { deepest: 'a' } } };
        const odd = {
          at: new Date('2020-03-16T02:00:00.000Z'),
          gone: undefined,
          negativeZero: -0,
          notANumber: Number.NaN,
          list: [undefined, 2],
          numbers: [1e21, 5e-324, 0.1 + 0.2, 2 ** 53 + 2, -1.5e308, 1e-7],
        } as unknown as ReadModelDocument;
        await commitFirst(projection, [
          ['put', put],
          ['odd', odd],
        ]);
        put.n = 2;
        (put.list[0] as { x: number }).x = 2;
        put.deep.deeper.deepest = 'b';
        const read = (await readModels.getDocument(projection, 'clubs', 'put')) as typeof put;
        expect(read).toEqual({ n: 1, list: [{ x: 1 }], deep: { deeper: { deepest: 'a' } } });
        read.n = 3;
        read.deep.deeper.deepest = 'c';
        expect(await readModels.documents(projection, 'clubs')).toEqual([
          {
            key: 'odd',
            document: {
              at: '2020-03-16T02:00:00.000Z',
              negativeZero: 0,
              notANumber: null,
              list: [null, 2],
              // Each the same double again, from JSON text, jsonb's numeric or a copy.
              numbers: [1e21, 5e-324, 0.30000000000000004, 9007199254740994, -1.5e308, 1e-7],
            },
          },
          { key: 'put', document: { n: 1, list: [{ x: 1 }], deep: { deeper: { deepest: 'a' } } } },
        ]);
        // Not a JSON object: refused, naming where, and nothing of the commit is written.
        for (const document of [[1, 2], 'text', 7] as unknown as ReadModelDocument[]) {
          await expect(
            readModels.commit([
              {
                projection,
                version: 1,
                after: 1n,
                position: 2n,
                changes: [
                  { collection: 'clubs', key: 'fine', document: { n: 4 } },
                  { collection: 'clubs', key: 'bad', document },
                ],
              },
            ]),
          ).rejects.toThrow(/not a JSON object at clubs\/bad; put plain objects/);
        }
        expect((await readModels.documents(projection, 'clubs')).map((row) => row.key)).toEqual([
          'odd',
          'put',
        ]);
        expect((await readModels.checkpoint(projection))?.position).toBe(1n);
      });

      it('keeps a field named __proto__ as any other field, in what it keeps and what it hands out', async () => {
        // Field names can come from data (an indicator's cells are keyed by values typed in the
        // field): set on a copy, `__proto__` would change its prototype and be lost.
        const projection = projectionName('proto');
        await readModels.prepare(projection, ['clubs']);
        const document = JSON.parse(
          '{"cells":{"__proto__":3,"a":1},"__proto__":{"x":1}}',
        ) as ReadModelDocument;
        await commitFirst(projection, [['k', document]]);
        // Own fields, by name (PostgreSQL's jsonb orders them its own way).
        const fields = (value: unknown): unknown =>
          typeof value === 'object' && value !== null
            ? Object.keys(value)
                .sort()
                .map((key) => [key, fields(Object.getOwnPropertyDescriptor(value, key)?.value)])
            : value;
        const expected = [
          ['__proto__', [['x', 1]]],
          [
            'cells',
            [
              ['__proto__', 3],
              ['a', 1],
            ],
          ],
        ];
        const read = await readModels.getDocument(projection, 'clubs', 'k');
        expect(fields(read)).toEqual(expected);
        expect(Object.getPrototypeOf(read)).toBe(Object.prototype);
        const [row] = await readModels.documents(projection, 'clubs');
        expect(fields(row?.document)).toEqual(expected);
        if (readModels.getDocumentNow) {
          expect(fields(readModels.getDocumentNow(projection, 'clubs', 'k'))).toEqual(expected);
        }
      });

      it('refuses a key or a text that not every store keeps alike, writing nothing of the commit', async () => {
        const projection = projectionName('texts');
        await readModels.prepare(projection, ['clubs']);
        const refused: [string, ReadModelDocument | null, RegExp][] = [
          ['a\u0000b', { n: 1 }, /at clubs\/"a\\u0000b", and its key holds U\+0000 \(a NUL character\)/],
          ['a\uDC00', { n: 1 }, /at clubs\/"a\\udc00", and its key holds half of a surrogate pair/],
          ['a\uD800', null, /at clubs\/"a\\ud800", and its key holds half of a surrogate pair/],
          ['k', { list: ['ok', 'x\u0000'] }, /at clubs\/k, and its field "list.1" holds U\+0000/],
          ['k', { deep: { t: 'x\uD800y' } }, /its field "deep.t" holds half of a surrogate pair.*replace it/],
          ['k', { 'n\u0000': 1 }, /its field "n\\u0000" is a field name that holds U\+0000/],
          // Past what PostgreSQL can index, whatever its characters.
          [
            'é'.repeat(513),
            { n: 1 },
            /\(1026 bytes of UTF-8\), longer than the 1024 bytes .*key it by an id/,
          ],
          ['k'.repeat(1025), null, /\(1025 bytes of UTF-8\), longer than the 1024 bytes/],
        ];
        for (const [key, document, error] of refused) {
          await expect(
            commitFirst(projection, [
              ['fine', { n: 0 }],
              [key, document],
            ]),
          ).rejects.toThrow(error);
        }
        expect(await readModels.documents(projection, 'clubs')).toEqual([]);
        expect(await readModels.checkpoint(projection)).toBeUndefined();
        // A pair of surrogates is one character above U+FFFF, kept like any other; so is \u0000 as
        // text. A key of 1,024 bytes, in characters of four and three bytes, is kept and found.
        const longest = `${'\u{1F600}'.repeat(250)}${'ភ'.repeat(8)}`;
        await commitFirst(projection, [
          ['a\u{1F600}', { t: 'x\u{1F600}', raw: '\\u0000' }],
          [longest, { n: 1 }],
          ['a\uFFFD', { n: 2 }],
        ]);
        expect(await readModels.documents(projection, 'clubs')).toEqual([
          { key: 'a\uFFFD', document: { n: 2 } },
          { key: 'a\u{1F600}', document: { t: 'x\u{1F600}', raw: '\\u0000' } },
          { key: longest, document: { n: 1 } },
        ]);
        expect(await readModels.getDocument(projection, 'clubs', longest)).toEqual({ n: 1 });
        // Read by a key no store can hold, nothing is found (not the key a store would put in its
        // place, U+FFFD); asked for pages or prefixes of one, the store says why. Half of the pair
        // in 'a\u{1F600}' is no prefix of it.
        expect(await readModels.getDocument(projection, 'clubs', 'a\uFFFD')).toEqual({ n: 2 });
        for (const key of ['a\uD83D', 'a\uDE00', 'a\u0000']) {
          expect(await readModels.getDocument(projection, 'clubs', key)).toBeUndefined();
          expect(readModels.getDocumentNow?.call(readModels, projection, 'clubs', key)).toBeUndefined();
        }
        await expect(readModels.documents(projection, 'clubs', { keyPrefix: 'a\uD83D' })).rejects.toThrow(
          /keyPrefix holds half of a surrogate pair.*: no key can start with it/,
        );
        await expect(readModels.documents(projection, 'clubs', { afterKey: 'a\u0000' })).rejects.toThrow(
          /afterKey holds U\+0000.*: no key can be it; give the last key of the page before/,
        );
      });

      it('drops at a reset the collections the projection no longer lists, so none is read as current', async () => {
        const projection = projectionName('dropped');
        await readModels.prepare(projection, ['clubs', 'old']);
        await readModels.commit([
          {
            projection,
            version: 1,
            after: 0n,
            position: 1n,
            changes: [
              { collection: 'clubs', key: 'a', document: { n: 1 } },
              { collection: 'old', key: 'a', document: { n: 2 } },
            ],
          },
        ]);
        await readModels.reset(projection, 2, ['clubs']);
        await expect(readModels.documents(projection, 'old')).rejects.toThrow(/has no collection "old"/);
        await expect(readModels.getDocument(projection, 'old', 'a')).rejects.toThrow(
          /has no collection "old"/,
        );
        if (readModels.getDocumentNow) {
          expect(() => readModels.getDocumentNow?.call(readModels, projection, 'old', 'a')).toThrow(
            /has no collection "old"/,
          );
        }
        expect(await readModels.documents(projection, 'clubs')).toEqual([]);
        // Listed again, it starts empty.
        await readModels.prepare(projection, ['clubs', 'old']);
        expect(await readModels.documents(projection, 'old')).toEqual([]);
      });

      it('refuses a batch with no version of its own, positions going back or a second batch, writing nothing', async () => {
        const projection = projectionName('batches');
        await readModels.prepare(projection, ['clubs']);
        const batch = (version: number, after: bigint, position: bigint) => ({
          projection,
          version,
          after,
          position,
          changes: [{ collection: 'clubs', key: 'a', document: { n: Number(position) } }],
        });
        for (const [batches, error] of [
          [[batch(0, 0n, 1n)], /version must be the projection's, a whole number of 1 or more; got 0/],
          [[batch(1.5, 0n, 1n)], /got 1.5/],
          [[batch(1, 0n, -1n)], /position not before after; got after 0, position -1/],
          [
            [{ ...batch(1, 0n, 1n), position: 1 as unknown as bigint }],
            /bigints with position not before after/,
          ],
          [
            [batch(1, 0n, 1n), batch(1, 1n, 2n)],
            /has two batches in one commit; give each projection one batch/,
          ],
        ] as const) {
          await expect(readModels.commit(batches)).rejects.toThrow(error);
        }
        expect(await readModels.checkpoint(projection)).toBeUndefined();
        expect(await readModels.documents(projection, 'clubs')).toEqual([]);
        await expect(readModels.reset(projection, 0, ['clubs'])).rejects.toThrow(/version must be .*; got 0/);
        expect(await readModels.checkpoint(projection)).toBeUndefined();
      });

      it('keeps the register of releases outside the programme as a read model no engine runs', async () => {
        // What releaseIndicator and releaseCaseFunnel rely on: the register's table is made
        // on first read, its claims read back, and its checkpoint counts its writes, so a writer
        // whose read went stale is turned away (the test above).
        // A register made before it kept vintages (its claims table only) gains their table.
        await readModels.prepare(releaseRegisterName, ['claims']);
        const empty = await readReleaseRegister(readModels);
        expect([...empty.claims]).toEqual([]);
        expect([...empty.vintages]).toEqual([]);
        expect(empty.writes).toBe(0n);
        await readModels.commit([
          {
            projection: releaseRegisterName,
            version: 1,
            after: 0n,
            position: 1n,
            changes: [
              {
                collection: 'claims',
                key: 'policy|indicators|cases-disclosed',
                document: { value: '5|1|month', claimedAt: '2020-04-01T00:00:00.000Z' },
              },
            ],
          },
        ]);
        const written = await readReleaseRegister(readModels);
        expect(Object.fromEntries(written.claims)).toEqual({
          'policy|indicators|cases-disclosed': '5|1|month',
        });
        expect(written.writes).toBe(1n);

        // A vintage: the counts of the months a release first gave, read back exactly as written,
        // in the format every store keeps (its digest is what tells it has not changed).
        const table = 'indicators|cases-disclosed|5|1|month';
        const counts = [
          ['2020-01', ['female'], 6],
          ['2020-01', ['male'], 0],
          ['2020-03', ['male'], 5],
        ];
        const digest = createHash('sha256')
          .update(JSON.stringify(['2020-03', ['data.sex'], counts]))
          .digest('hex')
          .slice(0, 32);
        const vintage = {
          table,
          last: '2020-03',
          dimensions: ['data.sex'],
          counts,
          digest,
          claimedAt: '2020-04-01T00:00:00.000Z',
        };
        const commitVintage = (after: bigint, document: ReadModelDocument) =>
          readModels.commit([
            {
              projection: releaseRegisterName,
              version: 1,
              after,
              position: after + 1n,
              changes: [{ collection: 'vintages', key: `${table}|2020-03`, document }],
            },
          ]);
        await commitVintage(1n, vintage);
        const withVintage = await readReleaseRegister(readModels);
        expect(withVintage.vintages.get(table)).toEqual([
          {
            last: '2020-03',
            dimensions: ['data.sex'],
            counts: [
              { month: '2020-01', dims: { 'data.sex': 'female' }, value: 6 },
              { month: '2020-01', dims: { 'data.sex': 'male' }, value: 0 },
              { month: '2020-03', dims: { 'data.sex': 'male' }, value: 5 },
            ],
            digest,
          },
        ]);
        // A period kept as it went out: its breakdown and every figure, hidden ones as hidden.
        const periodKey = 'frozen|indicators|staff-trained|5|1|month|quarter|2020-Q1';
        const period = {
          dimensions: ['data.course'],
          entries: [
            [[['data.course', 'healing-arts']], 6, null],
            [[['data.course', 'child-safeguarding']], '<5', 'primary'],
            [[], null, 'secondary'],
          ],
          claimedAt: '2020-04-01T00:00:00.000Z',
        };
        const commitPeriod = (after: bigint, document: ReadModelDocument, key = periodKey) =>
          readModels.commit([
            {
              projection: releaseRegisterName,
              version: 1,
              after,
              position: after + 1n,
              changes: [{ collection: 'periods', key, document }],
            },
          ]);
        await commitPeriod(2n, period);
        expect((await readReleaseRegister(readModels)).periods.get(periodKey)).toEqual({
          dimensions: ['data.course'],
          entries: [
            { key: { 'data.course': 'healing-arts' }, value: 6 },
            { key: { 'data.course': 'child-safeguarding' }, value: '<5', suppressed: 'primary' },
            { key: {}, value: null, suppressed: 'secondary' },
          ],
        });
        // A period of medians: one shown, one hidden over too few cases.
        const medianKey =
          'frozen|indicators|median-days-disclosure-to-placement|5|1|month|quarter|data.area|2020-Q1';
        const medians = {
          dimensions: ['data.area'],
          entries: [
            [
              [
                ['period', '2020-Q1'],
                ['data.area', 'KH-12'],
              ],
              10.5,
              null,
            ],
            [
              [
                ['period', '2020-Q1'],
                ['data.area', 'KH-03'],
              ],
              null,
              'few-observations',
            ],
          ],
          claimedAt: '2020-04-01T00:00:00.000Z',
        };
        await commitPeriod(3n, medians, medianKey);
        expect((await readReleaseRegister(readModels)).periods.get(medianKey)).toEqual({
          dimensions: ['data.area'],
          entries: [
            { key: { period: '2020-Q1', 'data.area': 'KH-12' }, value: 10.5 },
            { key: { period: '2020-Q1', 'data.area': 'KH-03' }, value: null, suppressed: 'few-observations' },
          ],
        });
        // A period of percentages: one given, one withheld for a small count, one with nothing to divide by.
        const percentKey = 'frozen|indicators|pct-kids-clubs|5|1|month|month||2020-01';
        const percentages = {
          dimensions: ['period'],
          entries: [
            [[['period', '2020-01']], 50, null],
            [[['period', '2020-02']], null, 'primary', 'smallNumerator'],
            [[['period', '2020-03']], null, null, 'noObservations'],
          ],
          claimedAt: '2020-04-01T00:00:00.000Z',
        };
        await commitPeriod(4n, percentages, percentKey);
        expect((await readReleaseRegister(readModels)).periods.get(percentKey)).toEqual({
          dimensions: ['period'],
          entries: [
            { key: { period: '2020-01' }, value: 50 },
            { key: { period: '2020-02' }, value: null, suppressed: 'primary', reason: 'smallNumerator' },
            { key: { period: '2020-03' }, value: null, reason: 'noObservations' },
          ],
        });
        await commitPeriod(
          5n,
          { ...percentages, entries: [[[], 3, 'primary', 'smallNumerator']] },
          percentKey,
        );
        await expect(readReleaseRegister(readModels)).rejects.toThrow(
          /period .* does not read back as it was written/,
        );
        await commitPeriod(6n, percentages, percentKey);
        // One that no longer reads as it was written is refused, not used.
        await commitPeriod(7n, { ...medians, entries: [[[], 3, 'few-observations']] }, medianKey);
        await expect(readReleaseRegister(readModels)).rejects.toThrow(
          /period .* does not read back as it was written/,
        );
        await commitPeriod(8n, medians, medianKey);
        await commitPeriod(9n, { ...period, entries: [[[], 3, 'primary']] });
        await expect(readReleaseRegister(readModels)).rejects.toThrow(
          /period .* does not read back as it was written/,
        );
        await commitPeriod(10n, period);
        await commitVintage(11n, { ...vintage, counts: [['2020-01', ['female'], 7], ...counts.slice(1)] });
        await expect(readReleaseRegister(readModels)).rejects.toThrow(/does not read back as it was written/);
      });

      it('refuses a batch that does not follow the stored checkpoint, writing nothing of any batch', async () => {
        const projection = projectionName('fence');
        const other = projectionName('fence');
        await readModels.prepare(projection, ['clubs']);
        await readModels.prepare(other, ['clubs']);
        await readModels.commit([
          {
            projection,
            version: 1,
            after: 0n,
            position: 5n,
            changes: [{ collection: 'clubs', key: 'a', document: { n: 1 } }],
          },
        ]);
        const refused = readModels.commit([
          {
            projection: other,
            version: 1,
            after: 0n,
            position: 9n,
            changes: [{ collection: 'clubs', key: 'x', document: { n: 9 } }],
          },
          {
            projection,
            version: 1,
            after: 3n,
            position: 9n,
            changes: [{ collection: 'clubs', key: 'a', document: { n: 2 } }],
          },
        ]);
        await expect(refused).rejects.toSatisfy(isLeaseLostError);
        expect(await readModels.getDocument(projection, 'clubs', 'a')).toEqual({ n: 1 });
        expect(await readModels.checkpoint(projection)).toMatchObject({ position: 5n });
        expect(await readModels.checkpoint(other)).toBeUndefined();
        expect(await readModels.documents(other, 'clubs')).toEqual([]);
      });

      it('deletes documents, keeps dead letters, marks a failure and resets for a rebuild', async () => {
        const projection = projectionName('reset');
        await readModels.prepare(projection, ['clubs']);
        await readModels.commit([
          {
            projection,
            version: 1,
            after: 0n,
            position: 2n,
            changes: [{ collection: 'clubs', key: 'a', document: { n: 1 } }],
          },
        ]);
        await readModels.commit([
          {
            projection,
            version: 1,
            after: 2n,
            position: 3n,
            changes: [{ collection: 'clubs', key: 'a', document: null }],
            deadLetters: [
              {
                projection,
                version: 1,
                position: 4n,
                eventId: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
                eventType: 'ClubSessionHeld',
                streamId: 'club-a',
                error: 'boom',
                deadLetteredAt: '2019-03-02T09:00:00.000Z',
              },
            ],
            failure: 'event at position 4: boom',
          },
        ]);
        expect(await readModels.documents(projection, 'clubs')).toEqual([]);
        expect(await readModels.checkpoint(projection)).toMatchObject({
          position: 3n,
          status: 'failed',
          error: 'event at position 4: boom',
        });
        expect(await readModels.deadLetters(projection)).toMatchObject([
          { position: 4n, eventType: 'ClubSessionHeld', streamId: 'club-a', error: 'boom' },
        ]);
        await readModels.commit([
          {
            projection,
            version: 1,
            after: 3n,
            position: 8n,
            changes: [{ collection: 'clubs', key: 'b', document: { n: 3 } }],
          },
        ]);
        await readModels.reset(projection, 2, ['clubs']);
        expect(await readModels.checkpoint(projection)).toMatchObject({
          version: 2,
          position: 0n,
          status: 'active',
        });
        expect(await readModels.documents(projection, 'clubs')).toEqual([]);
        expect(await readModels.deadLetters(projection)).toHaveLength(1);
      });

      it('gives a lease to one owner at a time, hands it over on expiry and fences the old owner', async () => {
        const projection = projectionName('lease');
        await readModels.prepare(projection, ['clubs']);
        // An owner every store keeps, and a time to live above 0, or nothing is asked of the store.
        for (const [owner, ttlMs, error] of [
          ['', 200, /owner must be a name of 1 to 200 characters/],
          ['x'.repeat(201), 200, /owner must be a name of 1 to 200 characters/],
          ['one\u0000', 200, /owner "one\\u0000" holds U\+0000/],
          ['one', 0, /ttlMs must be a number of milliseconds above 0; got 0/],
          ['one', Number.NaN, /ttlMs must be a number of milliseconds above 0; got NaN/],
        ] as const) {
          await expect(readModels.acquireLease(projection, owner, ttlMs)).rejects.toThrow(error);
        }
        const first = await readModels.acquireLease(projection, 'one', 200);
        expect(first).toMatchObject({ projection, owner: 'one' });
        if (first) {
          await expect(readModels.renewLease(first, -5)).rejects.toThrow(/ttlMs must be a number/);
        }
        expect(await readModels.acquireLease(projection, 'two', 200)).toBeUndefined();
        const renewed = first && (await readModels.renewLease(first, 200));
        expect(renewed?.token).toBe(first?.token);
        await new Promise((resolve) => setTimeout(resolve, 350));
        const second = await readModels.acquireLease(projection, 'two', 10_000);
        expect(second?.owner).toBe('two');
        expect(second && first && second.token > first.token).toBe(true);
        if (!first || !second) throw new Error('leases were not handed out');
        expect(await readModels.renewLease(first, 200)).toBeUndefined();
        await expect(
          readModels.commit([{ projection, version: 1, after: 0n, position: 1n, changes: [], lease: first }]),
        ).rejects.toSatisfy(isLeaseLostError);
        await readModels.commit([
          { projection, version: 1, after: 0n, position: 1n, changes: [], lease: second },
        ]);
        await readModels.releaseLease(second);
        expect(await readModels.acquireLease(projection, 'three', 200)).toMatchObject({ owner: 'three' });
      });

      it('refuses names that cannot be table names, saying what a name may hold', async () => {
        await expect(readModels.prepare('Club Activity; DROP TABLE', ['clubs'])).rejects.toThrow(
          /lowercase letters/,
        );
        await expect(readModels.prepare('clubs', ['a__b'])).rejects.toThrow(/single underscores/);
        await expect(readModels.prepare('a'.repeat(40), ['b'.repeat(22)])).rejects.toThrow(
          /\(64 characters\), longer than the 63 PostgreSQL keeps: shorten the projection or collection name/,
        );
      });

      it('reads only the documents whose key starts with a prefix, in key order', async () => {
        const keys = [
          'f|a|1',
          'f|a|~',
          'f|a}',
          'f|ab|1',
          'f|a',
          'f|é|x',
          'f|é}',
          'k|a|1',
          'z\u{10FFFF}a',
          'z\u{10FFFF}',
          '{',
          '\u{10FFFF}b',
        ];
        const projection = await projectionHolding(
          'prefix',
          keys.map((key, n) => [key, { n }]),
        );
        const keysWith = async (keyPrefix: string) =>
          (await readModels.documents(projection, 'clubs', { keyPrefix })).map((row) => row.key);
        expect(await keysWith('f|a|')).toEqual(['f|a|1', 'f|a|~']);
        expect(await keysWith('f|é|')).toEqual(['f|é|x']);
        expect(await keysWith('f|a')).toEqual(['f|a', 'f|ab|1', 'f|a|1', 'f|a|~', 'f|a}']);
        // No code point comes after U+10FFFF: the bound raises the one before it ('z' to '{').
        expect(await keysWith('z\u{10FFFF}')).toEqual(['z\u{10FFFF}', 'z\u{10FFFF}a']);
        // …and a prefix of nothing but U+10FFFF has no bound above it at all.
        expect(await keysWith('\u{10FFFF}')).toEqual(['\u{10FFFF}b']);
        expect(await keysWith('q')).toEqual([]);
        // An empty prefix is every document, as no query is.
        expect(await keysWith('')).toEqual(
          (await readModels.documents(projection, 'clubs')).map((row) => row.key),
        );
        expect(await readModels.documents(projection, 'clubs', { keyPrefix: 'k|' })).toEqual([
          { key: 'k|a|1', document: { n: keys.indexOf('k|a|1') } },
        ]);
        await expect(
          readModels.documents(projection, 'clubs', { keyPrefix: 7 as unknown as string }),
        ).rejects.toThrow(/keyPrefix must be text/);
      });

      it('orders keys by code point, as UTF-8 bytes sort, in every store alike', async () => {
        // UTF-16 code units would put U+E000–U+FFFF after U+10000 and above; code points do not.
        const projection = await projectionHolding('codepoints', [
          ['\u{10000}', { n: 4 }],
          ['\uFFFF', { n: 3 }],
          ['z', { n: 1 }],
          ['\uE000', { n: 2 }],
          ['\u{10FFFF}', { n: 5 }],
        ]);
        const keys = async (query?: DocumentsQuery) =>
          (await readModels.documents(projection, 'clubs', query)).map((row) => row.key);
        expect(await keys()).toEqual(['z', '\uE000', '\uFFFF', '\u{10000}', '\u{10FFFF}']);
        expect(await keys({ afterKey: '\uFFFF' })).toEqual(['\u{10000}', '\u{10FFFF}']);
        expect(await keys({ afterKey: '\uE000', limit: 2 })).toEqual(['\uFFFF', '\u{10000}']);
      });

      it('reads by prefix exactly the documents a scan of every key would keep', async () => {
        // Keys near the edges of the bounds a prefix is read between: '|' and '}', U+D7FF and
        // U+E000 (the surrogates lie between), U+FFFF and U+10000, U+10FFFF.
        const alphabet = ['a', '|', '}', 'é', '\uD7FF', '\uE000', '\uFFFF', '\u{10000}', '\u{10FFFF}'];
        const text = fc
          .array(fc.constantFrom(...alphabet), { minLength: 1, maxLength: 4 })
          .map((chars) => chars.join(''));
        await fc.assert(
          fc.asyncProperty(
            fc.uniqueArray(text, { minLength: 1, maxLength: 12 }),
            fc.array(text, { maxLength: 4 }),
            async (keys, prefixes) => {
              const projection = await projectionHolding(
                'prefixes',
                keys.map((key) => [key, { key }]),
              );
              const every = await readModels.documents(projection, 'clubs');
              for (const keyPrefix of [...prefixes, ...keys.slice(0, 2)]) {
                expect(await readModels.documents(projection, 'clubs', { keyPrefix })).toEqual(
                  every.filter((row) => row.key.startsWith(keyPrefix)),
                );
              }
            },
          ),
          { numRuns: 15 },
        );
      });

      it('reads a collection page by page, after the last key of the page before', async () => {
        const alphabet = ['a', '|', '}', 'é', '\uE000', '\u{10000}', '\u{10FFFF}'];
        const text = fc
          .array(fc.constantFrom(...alphabet), { minLength: 1, maxLength: 3 })
          .map((chars) => chars.join(''));
        await fc.assert(
          fc.asyncProperty(
            fc.uniqueArray(text, { minLength: 1, maxLength: 12 }),
            fc.integer({ min: 1, max: 5 }),
            fc.constantFrom('', 'a', '|', '\u{10FFFF}'),
            async (keys, limit, keyPrefix) => {
              const projection = await projectionHolding(
                'pages',
                keys.map((key) => [key, { key }]),
              );
              const every = await readModels.documents(projection, 'clubs', { keyPrefix });
              const paged: typeof every = [];
              let afterKey: string | undefined;
              for (;;) {
                const page = await readModels.documents(projection, 'clubs', {
                  keyPrefix,
                  limit,
                  ...(afterKey === undefined ? {} : { afterKey }),
                });
                expect(page.length).toBeLessThanOrEqual(limit);
                paged.push(...page);
                if (page.length < limit) break;
                afterKey = page.at(-1)?.key;
              }
              expect(paged).toEqual(every);
            },
          ),
          { numRuns: 15 },
        );
        const projection = await projectionHolding('page', [
          ['b', { n: 2 }],
          ['a', { n: 1 }],
          ['c', { n: 3 }],
        ]);
        expect(await readModels.documents(projection, 'clubs', { afterKey: 'a' })).toEqual([
          { key: 'b', document: { n: 2 } },
          { key: 'c', document: { n: 3 } },
        ]);
        expect(await readModels.documents(projection, 'clubs', { afterKey: 'c' })).toEqual([]);
        const pages: string[][] = [];
        for await (const page of documentPages(readModels, projection, 'clubs', 2)) {
          pages.push(page.map((row) => row.key));
        }
        expect(pages).toEqual([['a', 'b'], ['c']]);
        expect(await readModels.documents(projection, 'clubs', { limit: 1 })).toEqual([
          { key: 'a', document: { n: 1 } },
        ]);
        await expect(readModels.documents(projection, 'clubs', { limit: 0 })).rejects.toThrow(
          /limit must be a whole number of 1 or more/,
        );
        await expect(
          readModels.documents(projection, 'clubs', { afterKey: 3 as unknown as string }),
        ).rejects.toThrow(/afterKey must be text/);
      });

      it('reads committed documents and keys synchronously, when it can, as fresh copies', async () => {
        const { getDocumentNow, keysNow } = readModels;
        // Optional: a store that reads only asynchronously (PostgreSQL) gives neither.
        expect(getDocumentNow === undefined).toBe(keysNow === undefined);
        if (!getDocumentNow || !keysNow) return;
        const projection = projectionName('now');
        await readModels.prepare(projection, ['clubs']);
        expect([...keysNow.call(readModels, projection, 'clubs')]).toEqual([]);
        await readModels.commit([
          {
            projection,
            version: 1,
            after: 0n,
            position: 3n,
            changes: [
              { collection: 'clubs', key: 'a', document: { n: 1 } },
              { collection: 'clubs', key: 'b', document: { n: 2 } },
              { collection: 'clubs', key: 'c', document: { n: 3 } },
            ],
          },
        ]);
        await readModels.commit([
          {
            projection,
            version: 1,
            after: 3n,
            position: 4n,
            changes: [{ collection: 'clubs', key: 'b', document: null }],
          },
        ]);
        // A refused commit changes nothing either reads.
        await expect(
          readModels.commit([
            {
              projection,
              version: 1,
              after: 3n,
              position: 5n,
              changes: [{ collection: 'clubs', key: 'd', document: { n: 4 } }],
            },
          ]),
        ).rejects.toSatisfy(isLeaseLostError);
        expect([...keysNow.call(readModels, projection, 'clubs')].sort()).toEqual(['a', 'c']);
        const a = getDocumentNow.call(readModels, projection, 'clubs', 'a') as { n: number };
        expect(a).toEqual({ n: 1 });
        a.n = 99;
        expect(getDocumentNow.call(readModels, projection, 'clubs', 'a')).toEqual({ n: 1 });
        expect(getDocumentNow.call(readModels, projection, 'clubs', 'b')).toBeUndefined();
        expect(getDocumentNow.call(readModels, projection, 'clubs', 'd')).toBeUndefined();
        expect(() => getDocumentNow.call(readModels, projection, 'nope', 'a')).toThrow(/no collection/);
        await readModels.reset(projection, 2, ['clubs']);
        expect([...keysNow.call(readModels, projection, 'clubs')]).toEqual([]);
        expect(getDocumentNow.call(readModels, projection, 'clubs', 'a')).toBeUndefined();
      });

      if (contractOptions.durable) {
        it('keeps what was committed when opened again', async () => {
          if (!subject.reopen) throw new Error('a durable store under test must give reopen()');
          const projection = projectionName('durable');
          await readModels.prepare(projection, ['clubs']);
          await readModels.commit([
            {
              projection,
              version: 3,
              after: 0n,
              position: 11n,
              changes: [{ collection: 'clubs', key: 'k', document: { ok: true } }],
            },
          ]);
          const again = await subject.reopen();
          try {
            expect(await again.checkpoint(projection)).toMatchObject({ version: 3, position: 11n });
            expect(await again.getDocument(projection, 'clubs', 'k')).toEqual({ ok: true });
          } finally {
            await again.close();
          }
        });
      }
    });

    describe('the engine on this store', () => {
      it('catches up in batches, then applies new events live and publishes the changes', async () => {
        const projection = projectionName('attendance');
        for (let i = 0; i < 25; i += 1)
          await eventStore.append(`club-${i % 3}`, [sessionHeld(`c${i % 3}`, 2)]);
        const engine = engineOf({ projections: [attendanceProjection(projection)], batchSize: 10 });
        await engine.start();
        const caughtUp = await eventStore.append('club-0', [sessionHeld('c0', 5)]);
        await engine.waitFor(caughtUp.position);
        expect(await documentsOf(readModels, projection)).toEqual({
          c0: { sessions: 10, children: 23 },
          c1: { sessions: 8, children: 16 },
          c2: { sessions: 8, children: 16 },
        });
        const published = firstValueFrom(engine.changes.pipe(take(1), toArray()));
        const appended = await eventStore.append('club-4', [sessionHeld('c4', 1)]);
        await engine.waitFor(appended.position);
        expect((await published)[0]).toMatchObject({
          projection,
          position: appended.position,
          changes: [{ collection: 'clubs', key: 'c4', document: { sessions: 1, children: 1 } }],
        });
        await expect.poll(() => engine.status()[0]?.state).toBe('live');
        expect(engine.status()).toMatchObject([{ name: projection, position: appended.position, lagMs: 0 }]);
        await engine.stop();
        expect(await readModels.checkpoint(projection)).toMatchObject({ position: appended.position });
      });

      it('waits for a position past the last event a projection handles, while catching up and once live', async () => {
        const projection = projectionName('closures');
        const closures = defineProjection({
          name: projection,
          version: 1,
          eventTypes: ['ClubClosed'],
          collections: ['clubs'],
          apply: (event, view) => {
            view.put('clubs', (event.data as { clubId: string }).clubId, { closed: true });
          },
        });
        await eventStore.append('club-a', [clubClosed('a')]);
        for (let i = 0; i < 30; i += 1) await eventStore.append('club-b', [sessionHeld('b', 1)]);
        const engine = engineOf({ projections: [closures], batchSize: 10 });
        await engine.start();
        // Nothing it handles lies after position 1: waiting for 31 must not wait for a commit.
        await engine.waitFor(31n);
        expect(await documentsOf(readModels, projection)).toEqual({ a: { closed: true } });
        await expect.poll(() => engine.status()[0]?.state).toBe('live');
        const later = await eventStore.append('club-b', [sessionHeld('b', 2)]);
        await engine.waitFor(later.position);
        const closed = await eventStore.append('club-c', [clubClosed('c')]);
        await engine.waitFor(closed.position);
        expect(await documentsOf(readModels, projection)).toEqual({
          a: { closed: true },
          c: { closed: true },
        });
      });

      it('resumes from its checkpoint after a restart without counting anything twice', async () => {
        const projection = projectionName('resume');
        for (let i = 0; i < 12; i += 1) await eventStore.append('club-a', [sessionHeld('a', 1)]);
        const first = engineOf({ projections: [attendanceProjection(projection)], batchSize: 5 });
        await first.start();
        await first.waitFor(12n);
        await first.stop();
        for (let i = 0; i < 3; i += 1) await eventStore.append('club-a', [sessionHeld('a', 1)]);
        const again = subject.reopen ? await subject.reopen() : readModels;
        const second = createProjectionEngine({
          eventStore,
          readModels: again,
          projections: [attendanceProjection(projection)],
          batchSize: 5,
        });
        await second.start();
        await second.waitFor(15n);
        await second.stop();
        expect(await again.getDocument(projection, 'clubs', 'a')).toEqual({ sessions: 15, children: 15 });
        if (again !== readModels) await again.close();
      });

      it('rebuilds the read model when the projection version is bumped', async () => {
        const projection = projectionName('versioned');
        for (let i = 0; i < 4; i += 1) await eventStore.append('club-a', [sessionHeld('a', 3)]);
        await eventStore.append('club-b', [sessionHeld('b', 1), clubClosed('b')]);
        const v1 = engineOf({ projections: [attendanceProjection(projection)] });
        await v1.start();
        await v1.waitFor(6n);
        await v1.stop();
        expect(await documentsOf(readModels, projection)).toEqual({ a: { sessions: 4, children: 12 } });
        const v2 = engineOf({ projections: [attendanceProjection(projection, { version: 2 })] });
        await v2.start();
        await v2.waitFor(6n);
        expect(await documentsOf(readModels, projection)).toEqual({ a: { sessions: 4, children: 24 } });
        expect(await readModels.checkpoint(projection)).toMatchObject({ version: 2, position: 6n });
      });

      it('leaves a read model built by a newer version alone, saying to upgrade', async () => {
        const projection = projectionName('newer');
        await eventStore.append('club-a', [sessionHeld('a', 3)]);
        const v2 = engineOf({ projections: [attendanceProjection(projection, { version: 2 })] });
        await v2.start();
        await v2.waitFor(1n);
        await v2.stop();
        const v1 = engineOf({ projections: [attendanceProjection(projection)] });
        await v1.start();
        expect(v1.status()[0]).toMatchObject({ state: 'failed' });
        expect(v1.status()[0]?.error).toMatch(/built by version 2.*runs version 1.*upgrade/);
        await v1.stop();
        expect(await readModels.checkpoint(projection)).toMatchObject({ version: 2, position: 1n });
        expect(await documentsOf(readModels, projection)).toEqual({ a: { sessions: 1, children: 6 } });
      });

      it('an older instance holding the lease gives it up to the newer version, not rebuilding back', async () => {
        const projection = projectionName('rolling');
        await eventStore.append('club-a', [sessionHeld('a', 1)]);
        const older = engineOf({
          projections: [attendanceProjection(projection)],
          instance: { owner: 'old', leaseTtlMs: 300 },
        });
        const newer = engineOf({
          projections: [attendanceProjection(projection, { version: 2 })],
          instance: { owner: 'new', leaseTtlMs: 300 },
        });
        const first = engineOf({ projections: [attendanceProjection(projection, { version: 2 })] });
        await first.start();
        await first.waitFor(1n);
        await first.stop();
        await older.start();
        await newer.start();
        await expect.poll(() => newer.status()[0]?.state, { timeout: 5_000 }).toBe('live');
        expect(older.status()[0]?.state).toBe('failed');
        const appended = await eventStore.append('club-a', [sessionHeld('a', 1)]);
        await newer.waitFor(appended.position);
        expect(await readModels.getDocument(projection, 'clubs', 'a')).toEqual({ sessions: 2, children: 4 });
      });

      it('dead-letters a poison event and stops there (policy stop), keeping what came before', async () => {
        const projection = projectionName('poison_stop');
        await eventStore.append('club-a', [sessionHeld('a', 1), sessionHeld('a', 1)]);
        await eventStore.append('club-bad', [sessionHeld('bad', 1)]);
        await eventStore.append('club-a', [sessionHeld('a', 1)]);
        const engine = engineOf({ projections: [attendanceProjection(projection, { poisonClub: 'bad' })] });
        await engine.start();
        await engine.waitFor(4n);
        expect(engine.status()[0]).toMatchObject({ state: 'failed', position: 2n, deadLettered: 1 });
        expect(engine.status()[0]?.error).toMatch(/club bad cannot be counted/);
        expect(await documentsOf(readModels, projection)).toEqual({ a: { sessions: 2, children: 2 } });
        expect(await readModels.checkpoint(projection)).toMatchObject({ status: 'failed', position: 2n });
        expect(await readModels.deadLetters(projection)).toMatchObject([
          {
            position: 3n,
            eventType: 'ClubSessionHeld',
            streamId: 'club-bad',
            error: 'club bad cannot be counted',
          },
        ]);
      });

      it('stops at a poison event several reads after its last commit, keeping every event before it', async () => {
        const projection = projectionName('poison_reads');
        for (let i = 0; i < 7; i += 1) await eventStore.append('club-a', [sessionHeld('a', 1)]);
        await eventStore.append('club-bad', [sessionHeld('bad', 1)]);
        await eventStore.append('club-a', [sessionHeld('a', 1), sessionHeld('a', 1)]);
        // Reads of 2, one commit per 10: the poison event (8) comes in the fourth read, so what
        // the first three applied is read back from the log after the reload.
        const engine = engineOf({
          projections: [attendanceProjection(projection, { poisonClub: 'bad' })],
          batchSize: 2,
          eventsPerCommit: 10,
        });
        await engine.start();
        await engine.waitFor(10n);
        expect(engine.status()[0]).toMatchObject({ state: 'failed', position: 7n, deadLettered: 1 });
        expect(await documentsOf(readModels, projection)).toEqual({ a: { sessions: 7, children: 7 } });
        expect(await readModels.checkpoint(projection)).toMatchObject({ status: 'failed', position: 7n });
        expect(await readModels.deadLetters(projection)).toMatchObject([
          { position: 8n, streamId: 'club-bad' },
        ]);
      });

      it('dead-letters a poison event and goes on without it (policy skip)', async () => {
        const projection = projectionName('poison_skip');
        await eventStore.append('club-a', [sessionHeld('a', 1)]);
        await eventStore.append('club-bad', [sessionHeld('bad', 1)]);
        await eventStore.append('club-a', [sessionHeld('a', 1), sessionHeld('a', 1)]);
        const engine = engineOf({
          projections: [attendanceProjection(projection, { poisonClub: 'bad', onPoison: 'skip' })],
        });
        await engine.start();
        await engine.waitFor(4n);
        await expect.poll(() => engine.status()[0]?.state).toBe('live');
        expect(engine.status()[0]).toMatchObject({ position: 4n, deadLettered: 1 });
        // A poison event skipped while live leaves the projection live.
        const poisoned = await eventStore.append('club-bad', [sessionHeld('bad', 1)]);
        await engine.waitFor(poisoned.position);
        expect(engine.status()[0]).toMatchObject({ state: 'live', deadLettered: 2, lagMs: 0 });
        // The half-written document of the poison event is not kept.
        expect(await documentsOf(readModels, projection)).toEqual({ a: { sessions: 3, children: 3 } });
        expect(await readModels.deadLetters(projection)).toHaveLength(2);
      });

      it('dead-letters the event that put a document JSON would not keep as it is, naming the field', async () => {
        const projection = projectionName('not_json');
        await eventStore.append('club-a', [sessionHeld('a', 1), sessionHeld('a', 2, '2019-03-09')]);
        // Held in memory, a Date stays a Date; stored, it would come back as text.
        const withDate = oddOnTheNinth(projection, 'stop', (view, clubId, heldOn) => {
          view.put('clubs', clubId, { heldOn: new Date(heldOn) });
        });
        const engine = engineOf({ projections: [withDate] });
        await engine.start();
        await engine.waitFor(2n);
        expect(engine.status()[0]).toMatchObject({ state: 'failed', position: 1n, deadLettered: 1 });
        expect(engine.status()[0]?.error).toMatch(/clubs\/a.*"heldOn" is a Date.*toISOString\(\)/);
        expect(await documentsOf(readModels, projection)).toEqual({ a: { heldOn: '2019-03-02' } });
      });

      it('keeps a dead letter whatever the error message holds, a NUL or half a surrogate pair as U+FFFD', async () => {
        const projection = projectionName('odd_error');
        await eventStore.append('club-a', [sessionHeld('a', 1), sessionHeld('a', 2, '2019-03-09')]);
        const throwing = oddOnTheNinth(projection, 'skip', () => {
          throw new Error('read \u0000 and \uD800 from somewhere');
        });
        const engine = engineOf({ projections: [throwing] });
        await engine.start();
        await engine.waitFor(2n);
        expect(engine.status()[0]).toMatchObject({ position: 2n, deadLettered: 1 });
        expect((await readModels.deadLetters(projection)).map((letter) => letter.error)).toEqual([
          'read \uFFFD and \uFFFD from somewhere',
        ]);
        expect(await documentsOf(readModels, projection)).toEqual({ a: { heldOn: '2019-03-02' } });
      });

      it('dead-letters the event that put a key or a text not every store keeps alike, naming it', async () => {
        const projection = projectionName('unkeepable');
        await eventStore.append('club-a', [sessionHeld('a', 1), sessionHeld('a', 2, '2019-03-09')]);
        await eventStore.append('club-b', [sessionHeld('b', 3)]);
        const odd = (key: string, text: string) =>
          oddOnTheNinth(projection, 'skip', (view) => {
            view.put('clubs', key, { note: text });
          });
        for (const [key, text, error] of [
          ['a\u0000', 'fine', /clubs\/"a\\u0000", and its key holds U\+0000/],
          ['a\uD800', 'fine', /clubs\/"a\\ud800", and its key holds half of a surrogate pair/],
          ['fine', 'a\u0000b', /clubs\/fine, and its field "note" holds U\+0000.*replace it/],
          ['k'.repeat(2000), 'fine', /\(2000 bytes of UTF-8\), longer than the 1024 bytes/],
        ] as const) {
          const engine = engineOf({ projections: [odd(key, text)] });
          await engine.start();
          await engine.waitFor(3n);
          expect(engine.status()[0]).toMatchObject({ position: 3n, deadLettered: 1 });
          const [letter] = (await readModels.deadLetters(projection)).slice(-1);
          expect(letter?.error).toMatch(error);
          expect(await documentsOf(readModels, projection)).toEqual({
            a: { heldOn: '2019-03-02' },
            b: { heldOn: '2019-03-02' },
          });
          await engine.stop();
          await readModels.reset(projection, 1, ['clubs']);
        }
      });

      it('hands a projection over to a standby instance when its owner stops renewing', async () => {
        const projection = projectionName('handover');
        for (let i = 0; i < 6; i += 1) await eventStore.append('club-a', [sessionHeld('a', 1)]);
        const one = engineOf({
          projections: [attendanceProjection(projection)],
          instance: { owner: 'one', leaseTtlMs: 300 },
        });
        const two = engineOf({
          projections: [attendanceProjection(projection)],
          instance: { owner: 'two', leaseTtlMs: 300 },
        });
        await one.start();
        await two.start();
        await one.waitFor(6n);
        await expect.poll(() => one.status()[0]?.state).toBe('live');
        expect(two.status()[0]?.state).toBe('standby');
        await one.stop(); // releases its lease: the standby takes over at its next lease tick
        for (let i = 0; i < 4; i += 1) await eventStore.append('club-a', [sessionHeld('a', 1)]);
        await expect.poll(() => two.status()[0]?.state, { timeout: 5_000 }).toBe('live');
        await two.waitFor(10n);
        expect(await readModels.getDocument(projection, 'clubs', 'a')).toEqual({
          sessions: 10,
          children: 10,
        });
      });

      it('gives the same read model whatever the batch size and commit size, however appends interleave with the engine, whether the log is read in pages or event by event, and with poison events skipped', async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 9 })), {
              minLength: 1,
              maxLength: 30,
            }),
            fc.integer({ min: 1, max: 8 }),
            fc.integer({ min: 1, max: 20 }),
            fc.integer({ min: 0, max: 30 }),
            fc.boolean(),
            fc.boolean(),
            async (sessions, batchSize, eventsPerCommit, startAfter, paged, poison) => {
              const projection = projectionName('law');
              const store = createMemoryEventStore();
              const engine = createProjectionEngine({
                // Without readAllPages the engine reads with readAll, as from a store that has none.
                eventStore: paged ? store : withoutPages(store),
                readModels,
                // With poison, every session of club 3 throws, half-way through its apply.
                projections: [
                  attendanceProjection(projection, poison ? { poisonClub: 'k3', onPoison: 'skip' } : {}),
                ],
                batchSize,
                eventsPerCommit,
              });
              const expected: Record<string, { sessions: number; children: number }> = {};
              let poisoned = 0;
              let last = 0n;
              try {
                for (const [i, [club, count]] of sessions.entries()) {
                  if (i === startAfter) await engine.start();
                  last = (await store.append(`club-${club}`, [sessionHeld(`k${club}`, count)])).position;
                  if (poison && club === 3) {
                    poisoned += 1;
                    continue;
                  }
                  const doc = expected[`k${club}`] ?? { sessions: 0, children: 0 };
                  expected[`k${club}`] = { sessions: doc.sessions + 1, children: doc.children + count };
                }
                await engine.start();
                await engine.waitFor(last);
              } finally {
                await engine.stop();
                await store.close();
              }
              expect(await documentsOf(readModels, projection)).toEqual(expected);
              expect(await readModels.deadLetters(projection)).toHaveLength(poisoned);
            },
          ),
          { numRuns: 15 },
        );
      });
    });
  });
};
