import { createMemoryEventStore, createMemoryReadModelStore } from '@lantern/adapters/memory';
import type { EventStore, NewEvent, ReadModelStore } from '@lantern/core';
import { catalogEvent } from '@lantern/core/testing';
import { map, throwError } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { defineProjection, type Projection } from './projection.js';
import { createProjectionEngine, type ProjectionEngine, retryDelayAfter } from './projectionEngine.js';

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

  it('refuses an apply that would not run through when called, when defined and in the engine alike', () => {
    const shape = { name: 'late', version: 1, eventTypes: ['ClubClosed'], collections: ['clubs'] };
    const engineOf = (projection: Projection) =>
      createProjectionEngine({ eventStore, readModels, projections: [projection] });
    const asyncApply = async (): Promise<void> => {};
    expect(() => defineProjection({ ...shape, apply: asyncApply })).toThrow(
      /Projection "late": apply is an async function\. It must be synchronous .* Read documents with view\.get/,
    );
    // Written as a plain object, never given to defineProjection: the engine checks it all the same.
    expect(() => engineOf({ ...shape, apply: asyncApply })).toThrow(/apply is an async function/);
    expect(() => engineOf({ ...shape, apply: function* () {} as never })).toThrow(/apply is a generator/);
    expect(() => engineOf({ ...shape, apply: undefined as never })).toThrow(
      /apply must be a function \(event, view\) => void; got undefined/,
    );
    expect(() => engineOf({ ...shape, version: 0, apply: () => {} })).toThrow(
      /version must be a whole number/,
    );
    expect(() => engineOf({ ...shape, collections: [], apply: () => {} })).toThrow(/writes no collections/);
    // The register of releases outside the programme is kept under this name.
    expect(() => engineOf({ ...shape, name: 'release_register', apply: () => {} })).toThrow(
      /may not be named "release_register".*Name it otherwise/,
    );
  });

  it('stops a projection whose apply returns a promise, whatever its policy, and keeps nothing it writes late', async () => {
    const store = await closedClubs(3);
    const shared = createMemoryReadModelStore();
    const late: Promise<unknown>[] = [];
    const deferred = defineProjection({
      name: 'deferred',
      version: 1,
      eventTypes: ['ClubClosed'],
      collections: ['clubs'],
      onPoison: 'skip',
      // Not an async function, as an async one compiled for an older runtime is not: only what it
      // returns gives it away.
      apply: (event, view) => {
        const write = Promise.resolve().then(() =>
          view.put('clubs', (event.data as { clubId: string }).clubId, { closed: true }),
        );
        late.push(
          write.then(
            () => 'kept',
            (error: Error) => error.message,
          ),
        );
        return write as unknown as undefined;
      },
    });
    const engine = await started({
      eventStore: store,
      readModels: shared,
      projections: [deferred, closedCount],
    });
    await engine.waitFor(3n);
    const [stopped, counting] = engine.status();
    expect(stopped).toMatchObject({
      state: 'failed',
      error: expect.stringMatching(/apply returned a promise\. It must be synchronous/),
    });
    expect(counting).toMatchObject({ position: 3n });
    // Every write it made after returning was refused, and nothing of it was committed.
    expect(await Promise.all(late)).toEqual(
      late.map(() => expect.stringMatching(/a document was written after apply returned/)),
    );
    expect(await shared.documents('deferred', 'clubs')).toEqual([]);
    expect(await shared.deadLetters('deferred')).toHaveLength(1);
    expect(await shared.getDocument('closed_count', 'totals', 'all')).toEqual({ closed: 3 });
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

  it('refuses a retry delay that is not a whole number of milliseconds, or a maximum below the first', () => {
    const make = (options: { retryDelayMs?: number; maxRetryDelayMs?: number }) =>
      createProjectionEngine({ eventStore, readModels, projections: [closures], ...options });
    expect(() => make({ retryDelayMs: 0 })).toThrow(
      /retryDelayMs must be a whole number of milliseconds, 1 or more; got 0/,
    );
    expect(() => make({ maxRetryDelayMs: Number.NaN })).toThrow(/maxRetryDelayMs must be .* got NaN/);
    expect(() => make({ retryDelayMs: 500, maxRetryDelayMs: 100 })).toThrow(
      /maxRetryDelayMs \(100\) is less than retryDelayMs \(500\); give a maximum of at least the first delay/,
    );
    expect(() => make({ retryDelayMs: 500, maxRetryDelayMs: 500 })).not.toThrow();
  });

  it('waits twice as long after each failure in a row, up to the maximum', () => {
    expect([1, 2, 3, 4, 5].map((failures) => retryDelayAfter(failures, 200, 3000))).toEqual([
      200, 400, 800, 1600, 3000,
    ]);
    expect(retryDelayAfter(10_000, 200, 30_000)).toBe(30_000);
  });

  /** Counts the clubs closed: a projection that would count an event twice if it were applied twice. */
  const closedCount = defineProjection({
    name: 'closed_count',
    version: 1,
    eventTypes: ['ClubClosed'],
    collections: ['totals'],
    apply: (_event, view) => {
      const before = (view.get('totals', 'all') as { closed: number } | undefined)?.closed ?? 0;
      view.put('totals', 'all', { closed: before + 1 });
    },
  });

  /** An event store holding `count` ClubClosed events, one per stream. */
  const closedClubs = async (count: number) => {
    const store = createMemoryEventStore();
    for (let i = 0; i < count; i += 1) await store.append(`club-${i}`, [closed(`c${i}`)]);
    return store;
  };

  /** An engine, stopped after the test. */
  const made = (options: Parameters<typeof createProjectionEngine>[0]): ProjectionEngine => {
    const engine = createProjectionEngine(options);
    engines.push(engine);
    return engine;
  };

  /** An engine over these stores, started, and stopped after the test. */
  const started = async (
    options: Parameters<typeof createProjectionEngine>[0],
  ): Promise<ProjectionEngine> => {
    const engine = made(options);
    await engine.start();
    return engine;
  };

  /** Every error the engines' status shows while watched, looked at every 2 ms. */
  const watchErrors = (...watched: ProjectionEngine[]) => {
    const errors = new Set<string>();
    const timer = setInterval(() => {
      for (const engine of watched) {
        for (const status of engine.status()) if (status.error !== undefined) errors.add(status.error);
      }
    }, 2);
    return { errors, unwatch: () => clearInterval(timer) };
  };

  /** The store, but the first read of a document, or of the keys, fails as a disk would. */
  const failingOnce = (inner: ReadModelStore, read: 'getDocumentNow' | 'keysNow') => {
    let failed = false;
    const failFirst = (): void => {
      if (failed) return;
      failed = true;
      throw new Error('disk I/O error');
    };
    const store: ReadModelStore =
      read === 'getDocumentNow'
        ? {
            ...inner,
            getDocumentNow: (projection, collection, key) => {
              failFirst();
              return inner.getDocumentNow?.(projection, collection, key);
            },
          }
        : {
            ...inner,
            keysNow: (projection, collection) => {
              failFirst();
              return inner.keysNow?.(projection, collection) ?? [];
            },
          };
    return { store, failed: () => failed };
  };

  it('reports a failing read-model store with the failures in a row, goes on when it recovers, and counts nothing twice', async () => {
    const store = await closedClubs(6);
    const inner = createMemoryReadModelStore();
    let failuresLeft = 3;
    const seenAtAttempts: { retries?: number; error?: string; state: string }[] = [];
    let engine: ProjectionEngine | undefined;
    const flaky: ReadModelStore = {
      ...inner,
      commit: async (batches) => {
        const status = engine?.status()[0];
        if (status) {
          seenAtAttempts.push({
            state: status.state,
            ...(status.retries === undefined ? {} : { retries: status.retries }),
            ...(status.error === undefined ? {} : { error: status.error }),
          });
        }
        if (failuresLeft > 0) {
          failuresLeft -= 1;
          throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
        }
        return inner.commit(batches);
      },
    };
    engine = createProjectionEngine({
      eventStore: store,
      readModels: flaky,
      projections: [closedCount],
      batchSize: 2,
      retryDelayMs: 1,
      maxRetryDelayMs: 4,
    });
    engines.push(engine);
    await engine.start();
    await engine.waitFor(6n);
    // Each attempt after a failure sees it reported, with how many came in a row.
    const refused = 'connect ECONNREFUSED 127.0.0.1:5432';
    expect(seenAtAttempts.slice(0, 4)).toEqual([
      { state: 'catching-up' },
      { state: 'catching-up', retries: 1, error: refused },
      { state: 'catching-up', retries: 2, error: refused },
      { state: 'catching-up', retries: 3, error: refused },
    ]);
    // Once a commit lands, the failure is no longer reported.
    expect(engine.status()[0]).not.toHaveProperty('error');
    expect(engine.status()[0]).not.toHaveProperty('retries');
    expect(await inner.getDocument('closed_count', 'totals', 'all')).toEqual({ closed: 6 });
  });

  it('goes on when loading again after a failure fails too', async () => {
    const store = await closedClubs(4);
    const inner = createMemoryReadModelStore();
    let commitFails = true;
    let checkpointFails = 0;
    const down: ReadModelStore = {
      ...inner,
      commit: async (batches) => {
        if (commitFails) {
          // The connection drops at the commit and stays down for the next two checkpoint reads: the
          // reload right after the failed commit, and the one after the first wait.
          commitFails = false;
          checkpointFails = 2;
          throw new Error('Connection terminated unexpectedly');
        }
        return inner.commit(batches);
      },
      checkpoint: async (projection) => {
        if (checkpointFails > 0) {
          checkpointFails -= 1;
          throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
        }
        return inner.checkpoint(projection);
      },
    };
    const engine = await started({
      eventStore: store,
      readModels: down,
      projections: [closedCount],
      retryDelayMs: 1,
    });
    await engine.waitFor(4n);
    expect(checkpointFails).toBe(0);
    expect(engine.status()[0]?.position).toBe(4n);
    expect(engine.status()[0]).not.toHaveProperty('error');
    expect(await inner.getDocument('closed_count', 'totals', 'all')).toEqual({ closed: 4 });
  });

  it('takes a read-model store failing to read a document for a store failure, not for a poison event', async () => {
    const store = await closedClubs(8);
    const inner = createMemoryReadModelStore();
    const reads = failingOnce(inner, 'getDocumentNow');
    const engine = await started({
      eventStore: store,
      readModels: reads.store,
      projections: [{ ...closedCount, onPoison: 'stop' }],
      batchSize: 2,
      documentsInMemory: 1,
      retryDelayMs: 1,
    });
    await engine.waitFor(8n);
    expect(reads.failed()).toBe(true);
    expect(await inner.deadLetters('closed_count')).toEqual([]);
    expect(engine.status()[0]).toMatchObject({ position: 8n, deadLettered: 0 });
    expect(engine.status()[0]?.state).not.toBe('failed');
    expect(await inner.getDocument('closed_count', 'totals', 'all')).toEqual({ closed: 8 });
  });

  it('takes a read-model store failing to list the keys for a store failure too', async () => {
    const store = await closedClubs(4);
    const inner = createMemoryReadModelStore();
    const listing = failingOnce(inner, 'keysNow');
    // Each closure is kept with how many clubs had closed before it, read from the keys.
    const ranked = defineProjection({
      name: 'ranked',
      version: 1,
      eventTypes: ['ClubClosed'],
      collections: ['clubs'],
      apply: (event, view) => {
        const before = [...view.keys('clubs')].length;
        view.put('clubs', (event.data as { clubId: string }).clubId, { before });
      },
    });
    const engine = await started({
      eventStore: store,
      readModels: listing.store,
      projections: [ranked],
      documentsInMemory: 1,
      retryDelayMs: 1,
    });
    await engine.waitFor(4n);
    expect(listing.failed()).toBe(true);
    expect(await inner.deadLetters('ranked')).toEqual([]);
    expect(engine.status()[0]).toMatchObject({ position: 4n, deadLettered: 0 });
    expect(await inner.getDocument('ranked', 'clubs', 'c3')).toEqual({ before: 3 });
  });

  it('does not go on with what apply made of a store failure it caught itself', async () => {
    const store = await closedClubs(5);
    const inner = createMemoryReadModelStore();
    const reads = failingOnce(inner, 'getDocumentNow');
    // Takes any failure to read for "no document yet": it would start counting again from 1.
    const forgiving = defineProjection({
      ...closedCount,
      apply: (_event, view) => {
        let before: { closed: number } | undefined;
        try {
          before = view.get('totals', 'all') as { closed: number } | undefined;
        } catch {
          before = undefined;
        }
        view.put('totals', 'all', { closed: (before?.closed ?? 0) + 1 });
      },
    });
    // A first commit, so that the failing read is of a document the store holds.
    const first = createProjectionEngine({ eventStore: store, readModels: inner, projections: [forgiving] });
    await first.start();
    await first.waitFor(5n);
    await first.stop();
    for (let i = 5; i < 8; i += 1) await store.append(`club-${i}`, [closed(`c${i}`)]);
    const engine = await started({
      eventStore: store,
      readModels: reads.store,
      projections: [forgiving],
      documentsInMemory: 1,
      retryDelayMs: 1,
    });
    await engine.waitFor(8n);
    expect(reads.failed()).toBe(true);
    expect(await inner.getDocument('closed_count', 'totals', 'all')).toEqual({ closed: 8 });
  });

  it('keeps a projection stopped at a poison event saying why, whatever fails after it', async () => {
    const store = await closedClubs(3);
    let reads = 0;
    // The second read of the log fails once: after the commit that stopped the poisoned projection.
    const { readAllPages: _pages, ...eventsOnly } = store;
    const flaky: EventStore = {
      ...eventsOnly,
      readAll: (options) => {
        reads += 1;
        if (reads === 2) throw new Error('read ECONNRESET');
        return store.readAll(options);
      },
    };
    const poisoned = defineProjection({
      name: 'poisoned',
      version: 1,
      eventTypes: ['ClubClosed'],
      collections: ['clubs'],
      apply: (event) => {
        if ((event.data as { clubId: string }).clubId === 'c0') throw new Error('no such club: c0');
      },
    });
    const engine = await started({
      eventStore: flaky,
      readModels: createMemoryReadModelStore(),
      projections: [poisoned, closedCount],
      batchSize: 1,
      retryDelayMs: 1,
    });
    await engine.waitFor(3n);
    expect(reads).toBeGreaterThan(2);
    const [stopped, counting] = engine.status();
    expect(stopped).toMatchObject({ state: 'failed', error: expect.stringMatching(/no such club: c0/) });
    expect(stopped).not.toHaveProperty('retries');
    expect(counting).toMatchObject({ position: 3n });
    expect(counting).not.toHaveProperty('error');
  });

  it('hands its leases to another instance once it has failed for as long as a lease lasts', async () => {
    const store = await closedClubs(3);
    let cutOff = false;
    const unreachable = (): Error => new Error('connect EHOSTUNREACH 10.0.0.7:2113');
    // Instance a's way to the events, which goes down while instance b's does not.
    const { readAllPages: _pages, ...eventsOnly } = store;
    const throughA: EventStore = {
      ...eventsOnly,
      readAll: (options) => {
        if (cutOff) throw unreachable();
        return store.readAll(options);
      },
      subscribe: (options) =>
        store.subscribe(options).pipe(
          map((event) => {
            if (cutOff) throw unreachable();
            return event;
          }),
        ),
    };
    const shared = createMemoryReadModelStore();
    const common = { readModels: shared, projections: [closedCount], retryDelayMs: 5, maxRetryDelayMs: 20 };
    const a = await started({ ...common, eventStore: throughA, instance: { owner: 'a', leaseTtlMs: 600 } });
    await a.waitFor(3n);
    const b = await started({ ...common, eventStore: store, instance: { owner: 'b', leaseTtlMs: 600 } });
    expect(b.status()[0]?.state).toBe('standby');

    cutOff = true;
    for (let i = 3; i < 6; i += 1) await store.append(`club-${i}`, [closed(`c${i}`)]);
    await vi.waitFor(
      async () => expect(await shared.getDocument('closed_count', 'totals', 'all')).toEqual({ closed: 6 }),
      { timeout: 10_000 },
    );
    expect(b.status()[0]).toMatchObject({ position: 6n });
    // Standby, it says why it gave up; how stale the read model is, the owner's status tells.
    expect(a.status()[0]).toMatchObject({
      state: 'standby',
      error: 'connect EHOSTUNREACH 10.0.0.7:2113',
      lagMs: 0,
    });
  });

  it('says so when another engine without an instance commits the same projection, and counts nothing twice', async () => {
    const store = await closedClubs(2);
    const shared = createMemoryReadModelStore();
    const common = {
      eventStore: store,
      readModels: shared,
      projections: [closedCount],
      retryDelayMs: 50,
      maxRetryDelayMs: 50,
    };
    const first = await started(common);
    const second = await started(common);
    // The engine that loses a commit says why for as long as it waits to try again: watched here.
    const { errors, unwatch } = watchErrors(first, second);
    try {
      // Each appended event is applied by both; only one commit can follow each checkpoint.
      for (let i = 2; i < 8; i += 1) await store.append(`club-${i}`, [closed(`c${i}`)]);
      await vi.waitFor(
        async () => expect(await shared.getDocument('closed_count', 'totals', 'all')).toEqual({ closed: 8 }),
        { timeout: 5_000 },
      );
      await vi.waitFor(() => expect(errors.size).toBeGreaterThan(0), { timeout: 5_000 });
    } finally {
      unwatch();
    }
    expect([...errors]).toContainEqual(
      expect.stringMatching(
        /Projection "closed_count": another engine commits it to the same read-model store .* give every engine an instance/,
      ),
    );
  });

  it('takes its own rebuild, landing while a commit is on its way, for no other engine', async () => {
    const store = await closedClubs(3);
    const inner = createMemoryReadModelStore();
    let gate: Promise<void> | undefined;
    let open = (): void => {};
    let held = false;
    const gated: ReadModelStore = {
      ...inner,
      commit: async (batches) => {
        if (gate) {
          held = true;
          await gate;
        }
        return inner.commit(batches);
      },
    };
    const engine = await started({ eventStore: store, readModels: gated, projections: [closedCount] });
    await engine.waitFor(3n);
    gate = new Promise((resolve) => {
      open = resolve;
    });
    await store.append('club-3', [closed('c3')]);
    await vi.waitFor(() => expect(held).toBe(true));
    // The commit of the fourth event waits while the read model is emptied under it.
    const { errors, unwatch } = watchErrors(engine);
    try {
      await engine.rebuild('closed_count');
      gate = undefined;
      open();
      await vi.waitFor(async () =>
        expect(await inner.getDocument('closed_count', 'totals', 'all')).toEqual({ closed: 4 }),
      );
    } finally {
      unwatch();
    }
    expect([...errors]).toEqual([]);
  });

  it('runs one loop when start is called twice at once, and waitFor called meanwhile waits for it', async () => {
    const store = await closedClubs(3);
    const shared = createMemoryReadModelStore();
    const engine = made({
      eventStore: store,
      readModels: shared,
      projections: [closedCount],
    });
    await Promise.all([engine.start(), engine.start()]);
    // Two loops would apply each event twice over one memory, and count some once, some not.
    for (let i = 3; i < 23; i += 1) await store.append(`club-${i}`, [closed(`c${i}`)]);
    await engine.waitFor(23n);
    expect(await shared.getDocument('closed_count', 'totals', 'all')).toEqual({ closed: 23 });

    const other = createMemoryReadModelStore();
    const later = made({
      eventStore: store,
      readModels: other,
      projections: [closedCount],
    });
    const starting = later.start();
    // Called while starting: it waits for the start, then for the events.
    await later.waitFor(23n);
    expect(await other.getDocument('closed_count', 'totals', 'all')).toEqual({ closed: 23 });
    await starting;
  });

  it('lists the keys as they are when asked, so apply may write while it goes through them', async () => {
    const store = await closedClubs(3);
    for (const documentsInMemory of [Number.POSITIVE_INFINITY, 2]) {
      const copies = defineProjection({
        name: 'copies',
        version: 1,
        eventTypes: ['ClubClosed'],
        collections: ['clubs'],
        apply: (event, view) => {
          let seen = 0;
          // Each key gets a copy: a live list would meet the copies, and their copies, for ever.
          for (const key of view.keys('clubs')) {
            seen += 1;
            if (seen > 100) throw new Error('the keys never end');
            view.put('clubs', `${key}+`, { copy: true });
          }
          view.put('clubs', (event.data as { clubId: string }).clubId, { closed: true });
        },
      });
      const shared = createMemoryReadModelStore();
      const engine = await started({
        eventStore: store,
        readModels: shared,
        projections: [copies],
        documentsInMemory,
      });
      await engine.waitFor(3n);
      expect(engine.status()[0]).not.toHaveProperty('error');
      // c0; then c0+ and c1; then c0+ again, c0++, c1+ and c2: six keys in all.
      expect((await shared.documents('copies', 'clubs')).map((row) => row.key).sort()).toEqual(
        ['c0', 'c0+', 'c0++', 'c1', 'c1+', 'c2'].sort(),
      );
    }
  });

  it('publishes frozen copies of the documents, so a subscriber cannot change what the engine counts on', async () => {
    const store = await closedClubs(1);
    const shared = createMemoryReadModelStore();
    const engine = made({
      eventStore: store,
      readModels: shared,
      projections: [closedCount],
    });
    const refusals: string[] = [];
    engine.changes.subscribe(({ changes }) => {
      for (const { document } of changes) {
        try {
          // A display that bumps what it was given.
          (document as { closed: number }).closed += 100;
        } catch (error) {
          refusals.push((error as Error).message);
        }
      }
    });
    await engine.start();
    for (let i = 1; i < 3; i += 1)
      await engine.waitFor((await store.append(`club-${i}`, [closed(`c${i}`)])).position);
    expect(await shared.getDocument('closed_count', 'totals', 'all')).toEqual({ closed: 3 });
    expect(refusals.length).toBeGreaterThan(0);
    expect(refusals[0]).toMatch(/read[- ]only|not extensible|frozen/i);
  });

  it('refuses a position that is not a bigint, and waitFor on an engine not running, saying what to do', async () => {
    const engine = made({ eventStore, readModels, projections: [closures] });
    await expect(engine.waitFor(3n)).rejects.toThrow(
      /waitFor was called on an engine that is not running: call start\(\) first/,
    );
    await engine.start();
    for (const position of [3, '3', -1n, undefined]) {
      await expect(engine.waitFor(position as bigint)).rejects.toThrow(
        /waitFor takes a global position as a bigint of 0 or more.*BigInt\(text\)/,
      );
    }
    await engine.stop();
    // Stopped, it has nothing more to wait for.
    await expect(engine.waitFor(3n)).resolves.toBeUndefined();
  });

  it('says when every projection has caught up with the log, with no position to wait for', async () => {
    const store = await closedClubs(250);
    const shared = createMemoryReadModelStore();
    const engine = made({
      eventStore: store,
      readModels: shared,
      projections: [closedCount, closures],
      batchSize: 100,
    });
    await expect(engine.caughtUp()).rejects.toThrow(
      /caughtUp was called on an engine that is not running: call start\(\) first/,
    );
    const starting = engine.start();
    // Called while starting: it waits for the start, then for the three batches.
    await engine.caughtUp();
    expect(await shared.getDocument('closed_count', 'totals', 'all')).toEqual({ closed: 250 });
    expect(await shared.checkpoint('closures')).toMatchObject({ position: 250n });
    expect(engine.status().map((status) => status.state)).toEqual(['live', 'live']);
    await starting;
    // Caught up already: at once.
    await engine.caughtUp();
    await engine.stop();
    await expect(engine.caughtUp()).resolves.toBeUndefined();
  });

  it('waits, on an instance that does not own a projection, until its owner has committed the position', async () => {
    const store = await closedClubs(2);
    const shared = createMemoryReadModelStore();
    // The owner commits slowly, so that a write is not read back by chance.
    const slowly: ReadModelStore = {
      ...shared,
      commit: async (batches) => {
        await new Promise((resolve) => setTimeout(resolve, 50));
        return shared.commit(batches);
      },
    };
    const owner = await started({
      eventStore: store,
      readModels: slowly,
      projections: [closedCount],
      instance: { owner: 'a' },
    });
    await owner.waitFor(2n);
    const other = await started({
      eventStore: store,
      readModels: shared,
      projections: [closedCount],
      // Lease checks every 100 ms: the test sees its status follow the owner without waiting long.
      instance: { owner: 'b', leaseTtlMs: 300 },
    });
    expect(other.status()[0]?.state).toBe('standby');

    const { position } = await store.append('club-9', [closed('c9')]);
    await other.waitFor(position);
    expect(await shared.getDocument('closed_count', 'totals', 'all')).toEqual({ closed: 3 });
    // Its status follows the owner's commits, at its next lease check.
    await vi.waitFor(() => expect(other.status()[0]).toMatchObject({ state: 'standby', position }));
    // A position the projection has nothing to do with (another type): nothing to wait for.
    const { position: elsewhere } = await store.append('club-9', [
      catalogEvent(
        'ClubEstablished',
        {
          programmeId: 'pp-phnom-penh',
          clubId: 'c10',
          name: 'Riverfront kids club',
          area: 'KH-12-09',
          kind: 'kids-club',
          establishedOn: '2019-03-01',
        },
        { occurredAt: '2019-03-01T09:00:00+07:00', recordedBy: 'st_5a1c0b7e2d4a61f3' },
      ),
    ]);
    await other.waitFor(elsewhere);
    expect(await shared.checkpoint('closed_count')).toMatchObject({ position });
  });

  it('rejects start while the read-model store cannot be reached, and starts when asked again', async () => {
    const store = await closedClubs(2);
    const inner = createMemoryReadModelStore();
    let down = true;
    const booting: ReadModelStore = {
      ...inner,
      checkpoint: async (projection) => {
        if (down) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
        return inner.checkpoint(projection);
      },
    };
    const engine = made({
      eventStore: store,
      readModels: booting,
      projections: [closedCount],
    });
    await expect(engine.start()).rejects.toThrow(/ECONNREFUSED/);
    down = false;
    await engine.start();
    await engine.waitFor(2n);
    expect(await inner.getDocument('closed_count', 'totals', 'all')).toEqual({ closed: 2 });
  });

  it('waits longer each time the live subscription fails, though reading the log works', async () => {
    const store = await closedClubs(2);
    let subscribeFailures = 4;
    const seen: number[] = [];
    let engine: ProjectionEngine | undefined;
    const flaky: EventStore = {
      ...store,
      subscribe: (options) => {
        const retries = engine?.status()[0]?.retries;
        if (retries !== undefined) seen.push(retries);
        if (subscribeFailures > 0) {
          subscribeFailures -= 1;
          return throwError(() => new Error('subscription dropped: UNAVAILABLE'));
        }
        return store.subscribe(options);
      },
    };
    engine = await started({
      eventStore: flaky,
      readModels: createMemoryReadModelStore(),
      projections: [closedCount],
      retryDelayMs: 2,
      maxRetryDelayMs: 8,
    });
    await vi.waitFor(() => expect(subscribeFailures).toBe(0));
    // Each attempt after a failure sees the failures in a row grow, rather than start again at 1.
    expect(seen).toEqual([1, 2, 3, 4]);
    const { position } = await store.append('club-9', [closed('c9')]);
    await engine.waitFor(position);
    expect(engine.status()[0]).toMatchObject({ state: 'live', position });
    expect(engine.status()[0]).not.toHaveProperty('retries');
    expect(engine.status()[0]).not.toHaveProperty('error');
  });

  it('takes a subscription that stays up after failing for working again, with no event to commit', async () => {
    const store = await closedClubs(2);
    let subscribes = 0;
    const flaky: EventStore = {
      ...store,
      subscribe: (options) => {
        subscribes += 1;
        if (subscribes === 1) return throwError(() => new Error('subscription dropped: UNAVAILABLE'));
        return store.subscribe(options);
      },
    };
    const engine = await started({
      eventStore: flaky,
      readModels: createMemoryReadModelStore(),
      projections: [closedCount],
      retryDelayMs: 5,
    });
    // The second subscription is up, and nothing comes to commit: the failure is still passed.
    await vi.waitFor(() => expect(subscribes).toBe(2));
    await vi.waitFor(() => {
      expect(engine.status()[0]).toMatchObject({ state: 'live', position: 2n });
      expect(engine.status()[0]).not.toHaveProperty('error');
      expect(engine.status()[0]).not.toHaveProperty('retries');
    });
  });

  it('stops at once while waiting to try a failing store again', async () => {
    const store = createMemoryEventStore();
    await store.append('club-1', [closed('c1')]);
    let attempts = 0;
    let attempted: () => void = () => {};
    const firstAttempt = new Promise<void>((resolve) => {
      attempted = resolve;
    });
    const refusing: ReadModelStore = {
      ...createMemoryReadModelStore(),
      commit: async () => {
        attempts += 1;
        attempted();
        throw new Error('disk I/O error');
      },
    };
    // A minute's wait: stop() must not sit it out (the test would time out).
    const engine = made({
      eventStore: store,
      readModels: refusing,
      projections: [closedCount],
      retryDelayMs: 60_000,
      maxRetryDelayMs: 60_000,
    });
    await engine.start();
    await firstAttempt;
    await new Promise((resolve) => setImmediate(resolve));
    expect(engine.status()[0]).toMatchObject({ state: 'catching-up', error: 'disk I/O error', retries: 1 });
    await engine.stop();
    expect(attempts).toBe(1);
    expect(engine.status()[0]?.state).toBe('stopped');
  });

  it('commits every eventsPerCommit events while catching up, and never less than a read', async () => {
    const store = await closedClubs(25);
    const commitsWith = async (eventsPerCommit: number | undefined): Promise<bigint[]> => {
      const engine = createProjectionEngine({
        eventStore: store,
        readModels: createMemoryReadModelStore(),
        projections: [closures],
        batchSize: 5,
        ...(eventsPerCommit === undefined ? {} : { eventsPerCommit }),
      });
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
    // By default every 10,000 events, with any store: here, once at the end of the log.
    expect(await commitsWith(undefined)).toEqual([25n]);
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
    const engine = await started({
      eventStore: store,
      readModels: readModelStore,
      projections: [reopened],
      batchSize: 2,
      documentsInMemory: 1,
    });
    await engine.waitFor(3n);
    expect(await readModelStore.getDocument('reopened', 'seen', 'c1')).toEqual({ afterDelete: null });
    expect(await readModelStore.getDocument('reopened', 'clubs', 'c1')).toBeUndefined();
    expect(await readModelStore.getDocument('reopened', 'clubs', 'c2')).toEqual({ closed: true });
  });
});
