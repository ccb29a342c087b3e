import { createMemoryEventStore, createMemoryReadModelStore } from '@lantern/adapters/memory';
import type { NewEvent, ReadModelStore } from '@lantern/core';
import { catalogEvent } from '@lantern/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { defineProjection } from './projection.js';
import { createProjectionEngine, type ProjectionEngine } from './projectionEngine.js';

const closed = (clubId: string): NewEvent =>
  catalogEvent(
    'ClubClosed',
    { clubId, reason: 'premises' },
    { occurredAt: '2019-04-01T09:00:00+07:00', recordedBy: 'st_5a1c0b7e2d4a61f3' },
  );

const closures = defineProjection({
  name: 'closures',
  version: 1,
  eventTypes: ['ClubClosed'],
  collections: ['clubs'],
  apply: (event, view) => {
    view.put('clubs', (event.data as { clubId: string }).clubId, { closed: true });
  },
});

describe('createProjectionEngine', () => {
  const eventStore = createMemoryEventStore();
  const readModels = createMemoryReadModelStore();
  const engines: ProjectionEngine[] = [];
  afterEach(async () => {
    for (const engine of engines.splice(0)) await engine.stop();
  });

  it('refuses a batch or commit size that is not a whole number of 1 or more, naming the option', () => {
    const make = (options: { batchSize?: number; eventsPerCommit?: number; documentsInMemory?: number }) =>
      createProjectionEngine({ eventStore, readModels, projections: [closures], ...options });
    expect(() => make({ batchSize: 0 })).toThrow(/batchSize must be a whole number of 1 or more; got 0/);
    expect(() => make({ eventsPerCommit: 2.5 })).toThrow(
      /eventsPerCommit must be a whole number of 1 or more; got 2.5/,
    );
    expect(() => make({ eventsPerCommit: -1 })).toThrow(/eventsPerCommit/);
    expect(() => make({ documentsInMemory: 0 })).toThrow(/documentsInMemory must be/);
  });

  it('refuses, when a projection is defined, a table name PostgreSQL would cut short, whatever the store', () => {
    const named = (name: string, collection: string) =>
      defineProjection({
        name,
        version: 1,
        eventTypes: ['ClubSessionHeld'],
        collections: [collection],
        apply: () => {},
      });
    expect(() => named('a'.repeat(40), 'b'.repeat(22))).toThrow(
      /would be named a{40}__b{22} \(64 characters\), longer than the 63 PostgreSQL keeps: shorten/,
    );
    expect(named('a'.repeat(40), 'b'.repeat(21)).collections).toEqual(['b'.repeat(21)]);
  });

  it('refuses an instance whose owner or lease time no store would take, before any work', () => {
    const make = (instance: { owner: string; leaseTtlMs?: number }) =>
      createProjectionEngine({ eventStore, readModels, projections: [closures], instance });
    expect(() => make({ owner: '' })).toThrow(/owner must be a name of 1 to 200 characters/);
    expect(() => make({ owner: 'host-1\u0000' })).toThrow(/owner "host-1\\u0000" holds U\+0000/);
    expect(() => make({ owner: 'host-1', leaseTtlMs: 0 })).toThrow(
      /ttlMs must be a number of milliseconds above 0/,
    );
    expect(() => make({ owner: 'host-1', leaseTtlMs: Number.POSITIVE_INFINITY })).toThrow(/got Infinity/);
    expect(() => make({ owner: 'host-1', leaseTtlMs: 1000 })).not.toThrow();
  });

  it('commits every eventsPerCommit events while catching up, and never less than a read', async () => {
    const store = createMemoryEventStore();
    for (let i = 0; i < 25; i += 1) await store.append(`club-${i}`, [closed(`c${i}`)]);
    const commitsWith = async (
      eventsPerCommit: number | undefined,
      readModelStore: ReadModelStore = createMemoryReadModelStore(),
    ): Promise<bigint[]> => {
      const engine = createProjectionEngine({
        eventStore: store,
        readModels: readModelStore,
        projections: [closures],
        batchSize: 5,
        ...(eventsPerCommit === undefined ? {} : { eventsPerCommit }),
      });
      engines.push(engine);
      const positions: bigint[] = [];
      engine.changes.subscribe(({ position }) => positions.push(position));
      await engine.start();
      await engine.waitFor(25n);
      return positions;
    };
    // Reads of 5: two reads per commit, then the short read at the end commits the rest.
    expect(await commitsWith(10)).toEqual([10n, 20n, 25n]);
    // Fewer than a read: a commit per read.
    expect(await commitsWith(2)).toEqual([5n, 10n, 15n, 20n, 25n]);
    // By default, a commit per read with the memory store, whose commits are cheap…
    expect(await commitsWith(undefined)).toEqual([5n, 10n, 15n, 20n, 25n]);
    // …and every 10,000 events with any other: here, once at the end of the log.
    const elsewhere = { ...createMemoryReadModelStore(), commitsAreCheap: false };
    expect(await commitsWith(undefined, elsewhere)).toEqual([25n]);
  });

  it('reads nothing back for a document deleted since the last commit, even one the store still holds', async () => {
    const store = createMemoryEventStore();
    // A first read puts c1 and c2 and commits them; the next deletes c1 and asks for it again.
    await store.append('club-1', [closed('c1')]);
    await store.append('club-2', [closed('c2')]);
    await store.append('club-1b', [closed('c1')]);
    const reopened = defineProjection({
      name: 'reopened',
      version: 1,
      eventTypes: ['ClubClosed'],
      collections: ['clubs', 'seen'],
      apply: (event, view) => {
        const { clubId } = event.data as { clubId: string };
        if (view.get('clubs', clubId) === undefined) {
          view.put('clubs', clubId, { closed: true });
          return;
        }
        view.delete('clubs', clubId);
        view.put('seen', clubId, { afterDelete: view.get('clubs', clubId) ?? null });
      },
    });
    const readModelStore = createMemoryReadModelStore();
    // One document in memory: the first commit's documents are forgotten, and read back from the store.
    const engine = createProjectionEngine({
      eventStore: store,
      readModels: readModelStore,
      projections: [reopened],
      batchSize: 2,
      documentsInMemory: 1,
    });
    engines.push(engine);
    await engine.start();
    await engine.waitFor(3n);
    expect(await readModelStore.getDocument('reopened', 'seen', 'c1')).toEqual({ afterDelete: null });
    expect(await readModelStore.getDocument('reopened', 'clubs', 'c1')).toBeUndefined();
    expect(await readModelStore.getDocument('reopened', 'clubs', 'c2')).toEqual({ closed: true });
  });
});
