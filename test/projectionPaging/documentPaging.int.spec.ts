import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryEventStore, createMemoryReadModelStore } from '@lantern/adapters/memory';
import { createPostgresReadModelStore } from '@lantern/adapters/postgres';
import { createSqliteEventStore, createSqliteReadModelStore, withLocalCopy } from '@lantern/adapters/sqlite';
import {
  defaultEventRegistry,
  type EventStore,
  type ReadModelDocument,
  type ReadModelStore,
} from '@lantern/core';
import { createProjectionEngine, type Projection } from '@lantern/projections';
import { afterEach, describe, expect, it } from 'vitest';
// The projections bench's built-in projections and its generator: a programme's days of events,
// deterministic from a seed.
import { builtInProjections as builtIns } from '../../bench/src/projections/lantern.js';
import { programmeEvents } from '../../bench/src/projections/programmeWorkload.js';
import { streamRuns } from '../../bench/src/projections/timing.js';
import { postgresConnectionString, sql, usePostgresSchema } from '../multiInstance/postgresServer.js';

/**
 * Paging documents in and out of memory changes nothing a projection computes: the built-in
 * projections with a cache of five documents give the read models they give with every document
 * held, after a rebuild, a restart and poison events. PostgreSQL read models are paged through a
 * local copy (`withLocalCopy`); without one the engine holds every document.
 */

/** The bench's programme workload: a few thousand events touch a few thousand documents. */
const workload = (events: number) => [...streamRuns(programmeEvents({ events, seed: 7 }))];

const append = async (eventStore: EventStore, runs: ReturnType<typeof workload>): Promise<bigint> => {
  let last = 0n;
  for (const run of runs) last = (await eventStore.append(run.streamId, run.events)).position;
  return last;
};

const project = async (
  eventStore: EventStore,
  readModels: ReadModelStore,
  projections: readonly Projection[],
  documentsInMemory: number,
  until: bigint,
): Promise<void> => {
  const engine = createProjectionEngine({
    eventStore,
    readModels,
    projections,
    documentsInMemory,
    batchSize: 100,
  });
  await engine.start();
  try {
    await engine.waitFor(until);
    for (const status of engine.status()) {
      expect(status.error, status.name).toBeUndefined();
      expect(status.position, status.name).toBe(until);
    }
  } finally {
    await engine.stop();
  }
};

/** Every document of every collection of the projections, by projection, collection and key. */
const everything = async (readModels: ReadModelStore, projections: readonly Projection[]) => {
  const out: Record<string, { key: string; document: ReadModelDocument }[]> = {};
  for (const projection of projections) {
    for (const collection of projection.collections) {
      out[`${projection.name}/${collection}`] = await readModels.documents(projection.name, collection);
    }
  }
  return out;
};

const documentCount = (documents: Record<string, unknown[]>): number =>
  Object.values(documents).reduce((sum, rows) => sum + rows.length, 0);

interface Stores {
  eventStore: EventStore;
  /** A fresh read-model store; `name` tells a file store's files apart. */
  readModels: (name: string) => ReadModelStore;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const memoryStores = (): Stores => {
  const eventStore = createMemoryEventStore();
  cleanups.push(() => eventStore.close());
  return {
    eventStore,
    readModels: () => {
      const readModels = createMemoryReadModelStore();
      cleanups.push(() => readModels.close());
      return readModels;
    },
  };
};

const sqliteStores = (): Stores => {
  const dir = mkdtempSync(join(tmpdir(), 'lantern-paging-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  const eventStore = createSqliteEventStore({ path: join(dir, 'events.db') });
  cleanups.push(() => eventStore.close());
  return {
    eventStore,
    readModels: (name) => {
      const readModels = createSqliteReadModelStore({ path: join(dir, `${name}.db`) });
      cleanups.push(() => readModels.close());
      return readModels;
    },
  };
};

const { schema } = usePostgresSchema('paging');
let schemas = 0;

/** PostgreSQL read models, each in a schema of its own, each through a local copy of its own. */
const postgresStores = (): Stores => {
  const eventStore = createMemoryEventStore();
  cleanups.push(() => eventStore.close());
  return {
    eventStore,
    readModels: () => {
      schemas += 1;
      const own = `${schema}_${schemas}`;
      cleanups.push(async () => {
        await sql(`DROP SCHEMA IF EXISTS "${own}" CASCADE`);
      });
      const readModels = withLocalCopy(
        createPostgresReadModelStore({ connectionString: postgresConnectionString }, { schema: own }),
      );
      cleanups.push(() => readModels.close());
      return readModels;
    },
  };
};

describe.each([
  ['memory', memoryStores],
  ['sqlite', sqliteStores],
  ['postgres, through a local copy', postgresStores],
] as const)('documents paged in and out of memory (%s stores)', (_, storesOf) => {
  it('a rebuild with a tiny cache gives the read models of a rebuild with every document held', async () => {
    const { eventStore, readModels } = storesOf();
    const last = await append(eventStore, workload(3000));
    const held = readModels('held');
    const paged = readModels('paged');
    await project(eventStore, held, builtIns(), Number.POSITIVE_INFINITY, last);
    await project(eventStore, paged, builtIns(), 5, last);
    const expected = await everything(held, builtIns());
    expect(documentCount(expected)).toBeGreaterThan(500);
    expect(await everything(paged, builtIns())).toEqual(expected);
  });

  it('a restart with a tiny cache continues where the last engine stopped', async () => {
    const { eventStore, readModels } = storesOf();
    const runs = workload(3000);
    const half = Math.floor(runs.length / 2);
    const middle = await append(eventStore, runs.slice(0, half));
    const paged = readModels('paged');
    await project(eventStore, paged, builtIns(), 5, middle);
    const last = await append(eventStore, runs.slice(half));
    await project(eventStore, paged, builtIns(), 5, last);
    const held = readModels('held');
    await project(eventStore, held, builtIns(), Number.POSITIVE_INFINITY, last);
    expect(await everything(paged, builtIns())).toEqual(await everything(held, builtIns()));
  });

  it('poison events skipped with a tiny cache leave what they leave with every document held', async () => {
    const { eventStore, readModels } = storesOf();
    const last = await append(eventStore, workload(3000));
    const poisonAt = new Set<string>();
    // Thrown after apply changed documents: the engine must throw those changes away.
    const poisoned = (): Projection[] =>
      builtIns().map((projection) => ({
        ...projection,
        onPoison: 'skip' as const,
        apply: (event, view) => {
          projection.apply(event, view);
          if (poisonAt.has(`${projection.name}/${event.id}`)) throw new Error('poison');
        },
      }));
    let seen = 0;
    for (const projection of builtIns()) {
      for await (const event of eventStore.readAll({ filter: { eventTypes: [...projection.eventTypes] } })) {
        seen += 1;
        if (seen % 97 === 0) poisonAt.add(`${projection.name}/${event.id}`);
      }
    }
    const held = readModels('held');
    const paged = readModels('paged');
    await project(eventStore, held, poisoned(), Number.POSITIVE_INFINITY, last);
    await project(eventStore, paged, poisoned(), 5, last);
    expect(await everything(paged, builtIns())).toEqual(await everything(held, builtIns()));
    for (const projection of builtIns()) {
      const letters = (await paged.deadLetters(projection.name)).map((l) => l.eventId);
      expect(letters).toEqual((await held.deadLetters(projection.name)).map((l) => l.eventId));
    }
    expect(poisonAt.size).toBeGreaterThan(10);
  });
});

/**
 * A memory store that counts the documents the engine asks it for, in all and by key, and says
 * whether misses are cheap.
 */
const counting = (missesAreCheap = true) => {
  const store = createMemoryReadModelStore();
  cleanups.push(() => store.close());
  const byKey = new Map<string, number>();
  let asked = 0;
  const readModels: ReadModelStore = {
    ...store,
    missesAreCheap,
    getDocumentNow: (projection, collection, key) => {
      asked += 1;
      byKey.set(key, (byKey.get(key) ?? 0) + 1);
      return store.getDocumentNow?.(projection, collection, key);
    },
  };
  return { store, readModels, asked: () => asked, askedFor: (key: string) => byKey.get(key) ?? 0 };
};

/** A memory event store holding the workload's first `events` events; gives the last position. */
const memoryLog = async (events: number) => {
  const eventStore = createMemoryEventStore();
  cleanups.push(() => eventStore.close());
  return { eventStore, last: await append(eventStore, workload(events)) };
};

describe('keys the engine does not hold', () => {
  it('are asked of a store whose misses are cheap, and ruled out by a filter for any other', async () => {
    const { eventStore, last } = await memoryLog(3000);
    const cheap = counting(true);
    const filtered = counting(false);
    // Room for every document: the only documents asked for are those not stored yet.
    await project(eventStore, cheap.readModels, builtIns(), 1_000_000, last);
    await project(eventStore, filtered.readModels, builtIns(), 1_000_000, last);
    const documents = documentCount(await everything(cheap.readModels, builtIns()));
    expect(documents).toBeGreaterThan(500);
    expect(cheap.asked()).toBeGreaterThan(documents / 2);
    // The filter's false positives only: about 1% of the keys it rules on.
    expect(filtered.asked()).toBeLessThan(documents / 20);
    expect(await everything(filtered.readModels, builtIns())).toEqual(
      await everything(cheap.readModels, builtIns()),
    );
  });
});

describe('which documents stay in memory', () => {
  it('a document used by every event is never read back, however many others pass through', async () => {
    const { eventStore, last } = await memoryLog(3000);
    const { store, readModels, asked, askedFor } = counting();
    // One collection: a running count under one key, read and written by every event, beside a
    // new document per event that is never read again. Room for 50 documents, so most must go.
    const tally: Projection = {
      name: 'tally',
      version: 1,
      eventTypes: defaultEventRegistry.types,
      collections: ['events'],
      apply: (event, view) => {
        const before = view.get('events', 'count');
        view.put('events', 'count', { n: Number(before?.n ?? 0) + 1 });
        view.put('events', event.id, { type: event.type });
      },
    };
    await project(eventStore, readModels, [tally], 50, last);
    expect(await store.getDocument('tally', 'events', 'count')).toEqual({ n: 3000 });
    expect((await store.documents('tally', 'events')).length).toBe(3001);
    // Asked once, before it was first written; held ever since, while 3,000 others came and went.
    expect(askedFor('count')).toBe(1);
    expect(asked()).toBe(1);
  });

  it('a busy collection gets the room the quiet ones do not use', async () => {
    const { eventStore, last } = await memoryLog(3000);
    const { store, readModels, asked } = counting();
    // 70 counters in turn in one collection of four, with room for 160 documents: more than a
    // quarter of the room, less than all of it.
    const counters: Projection = {
      name: 'counters',
      version: 1,
      eventTypes: defaultEventRegistry.types,
      collections: ['busy', 'quiet', 'quieter', 'quietest'],
      apply: (event, view) => {
        const key = `counter-${event.position % 70n}`;
        const before = view.get('busy', key);
        view.put('busy', key, { n: Number(before?.n ?? 0) + 1 });
      },
    };
    await project(eventStore, readModels, [counters], 160, last);
    const counts = (await store.documents('counters', 'busy')).map((row) => Number(row.document.n));
    expect(counts).toHaveLength(70);
    expect(counts.reduce((sum, n) => sum + n, 0)).toBe(3000);
    // Each counter asked for once, before it was first written.
    expect(asked()).toBe(70);
  });
});
