import {
  checkLeaseOwner,
  checkLeaseTtl,
  copyFields,
  type DeadLetter,
  type DocumentChange,
  type EventStore,
  isLeaseLostError,
  keepableTextOf,
  type Lease,
  type LeaseLostError,
  type ProjectionBatch,
  type ReadModelDocument,
  type ReadModelStore,
  type RecordedEvent,
  refuseUnkeepableDocument,
} from '@lantern/core';
import { Observable, Subject, type Subscription } from 'rxjs';
import { createKeyFilter, type KeyFilter } from './keyFilter.js';
import { checkProjectionShape, type Projection, type ProjectionView } from './projection.js';

/** Where a projection is in its life. */
export type ProjectionState =
  /** Loading its checkpoint and documents. */
  | 'starting'
  /** Another instance owns it; this one takes over if that lease expires. */
  | 'standby'
  /** Reading the log in batches towards its end. */
  | 'catching-up'
  /** Caught up: applying events as they are appended. */
  | 'live'
  /** Stopped at a poison event (policy `stop`); see `error` and the dead letters. */
  | 'failed'
  | 'stopped';

export interface ProjectionStatus {
  readonly name: string;
  readonly version: number;
  readonly state: ProjectionState;
  /**
   * Global position of the last event committed for it; on a `standby` instance, the position its
   * owner had committed when this one last looked (at each lease check).
   */
  readonly position: bigint;
  /**
   * How stale its read model is: time since the newest committed event was recorded, 0 when live
   * and idle. 0 on a `standby` instance too: its owner's status tells.
   */
  readonly lagMs: number;
  /** Events dead-lettered by this instance since it started. */
  readonly deadLettered: number;
  readonly error?: string;
  /**
   * While the event store or the read-model store keeps failing: how many times in a row the
   * engine has tried again (see `retryDelayMs`). Absent once a commit, or catching up, succeeds;
   * after the live subscription failed, once a new one has stayed up as long as the last wait.
   */
  readonly retries?: number;
}

/** Published after every commit: what changed, so an app can refresh live. */
export interface ReadModelChanges {
  readonly projection: string;
  readonly position: bigint;
  readonly changes: readonly DocumentChange[];
}

export interface ProjectionEngineOptions {
  eventStore: EventStore;
  readModels: ReadModelStore;
  projections: readonly Projection[];
  /** Events per read of the log, and at most per commit once live. Default 1000. */
  batchSize?: number;
  /**
   * While catching up, how many events are applied, read after read, before their read-model
   * changes and the checkpoints are committed together. A rebuild changes its busiest documents
   * in nearly every read: fewer, bigger commits write each of them (and each page of a SQLite
   * read model) once per commit rather than once per read, while each read stays `batchSize`
   * events long, so no more events are held at once. A crash costs at most this many events'
   * work, applied again from the checkpoint; nothing is counted twice. Live, each batch is
   * committed as it comes. Default 10,000, with every store (the memory store copies each changed
   * document at a commit, so it gains too); never fewer than `batchSize`.
   */
  eventsPerCommit?: number;
  /**
   * About the most documents the engine keeps in memory between batches, for all its projections
   * and collections together: those used lately stay, whichever collection they are in, and those
   * changed since the last commit always do. The others stay in the read-model store and are read
   * back when an event needs them. Works with stores that read synchronously (`getDocumentNow`
   * and `keysNow`: memory, SQLite). Default: 75,000 with such a store; with any other
   * (PostgreSQL), or when set to `Infinity`, every document is held in memory, loaded at start.
   */
  documentsInMemory?: number;
  /**
   * Set when several instances may run the same projections (e.g. read models in PostgreSQL):
   * each projection is then run only while this instance holds its lease in the read-model
   * store. Without it, the engine assumes it is the only one.
   */
  instance?: {
    /** This instance's name, unique among the instances, e.g. `${hostname}-${pid}`. */
    owner: string;
    /** How long a lease lasts unless renewed; renewed every third of it. Default 10,000 ms. */
    leaseTtlMs?: number;
  };
  /**
   * When the event store or the read-model store fails (a disk, a network, a refusal), the engine
   * reports the error in `status()`, waits, loads every running projection again from its
   * checkpoint and goes on. It waits `retryDelayMs` after the first failure and twice as long
   * after each further failure in a row, up to `maxRetryDelayMs`, so a store that is down for
   * long is not hammered. Defaults 200 and 30,000 ms. `stop()` does not wait for the delay.
   */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** Clock for lag and dead letters. Default: the system clock. */
  now?: () => Date;
}

export interface ProjectionEngine {
  /**
   * Loads every projection's checkpoint (rebuilding those whose version changed) and runs them.
   * Called again while it runs, it gives the same start; it may be called again after it failed.
   */
  start(): Promise<void>;
  /** Stops after the batch in hand is committed (or abandoned), releasing any leases. */
  stop(): Promise<void>;
  status(): ProjectionStatus[];
  /**
   * Every committed batch's changes, per projection. Its documents are frozen copies: the engine
   * goes on from its own, which no subscriber can change.
   */
  readonly changes: Observable<ReadModelChanges>;
  /**
   * Resolves once every running projection has taken in every event up to `position` (e.g. an
   * AppendResult's), so a caller can read its own writes from the read models. With `instance`,
   * also those another instance runs: their checkpoints in the read-model store are looked at
   * until they are there. Called while `start()` runs, it waits for the start first; it rejects a
   * position that is not a bigint, and an engine never started (at once on a stopped one).
   */
  waitFor(position: bigint): Promise<void>;
  /**
   * Resolves once every projection this engine runs has read the log to the end it found and
   * committed what it applied (it is live), or has stopped at a poison event: a job that brings
   * the read models up to date and stops needs no position to wait for. Projections another
   * instance runs (standby) are not waited for, nor events appended after the end was found.
   * Called while `start()` runs, it waits for the start first; it rejects an engine never started,
   * and returns at once on a stopped one.
   */
  caughtUp(): Promise<void>;
  /** Drops a projection's read model and builds it again from the start of the log. */
  rebuild(name: string): Promise<void>;
}

/** One collection of a runner's read model, in memory. */
interface CollectionState {
  readonly name: string;
  /**
   * Documents as committed or changed since: every one of them without paging; with paging, those
   * read or written since memory was last trimmed, and every one changed since the last commit.
   */
  documents: Map<string, ReadModelDocument>;
  /**
   * With paging: `documents` as they were at the last trim. One read again moves back into
   * `documents`; the rest are forgotten at the next trim (see `forgetUnused`). Where a key is in
   * both, `documents` holds its current document.
   */
  older?: Map<string, ReadModelDocument>;
  /** Changed since the last commit: each key's document, or null when it was deleted. */
  readonly dirty: Map<string, ReadModelDocument | null>;
  /** Deletes among `dirty` (or more, when a deleted key was put again): none, most of the time. */
  deletes: number;
  /** With paging: the keys the store may hold; a key it rules out is not looked up. */
  stored?: KeyFilter;
}

interface Runner {
  readonly projection: Projection;
  readonly handles: ReadonlySet<string>;
  state: ProjectionState;
  /** Set when a newer version owns the read model: this instance leaves it alone for good. */
  retired?: boolean;
  /** Last committed position. */
  committed: bigint;
  /** Position applied in memory (committed, or further within the batch in hand). */
  applied: bigint;
  collections: Map<string, CollectionState>;
  /** The collection `collectionOf` found last; forgotten whenever `collections` is replaced. */
  lastCollection?: CollectionState | undefined;
  /** Collections changed since the last commit, in the order they were first changed. */
  changed: CollectionState[];
  view: ProjectionView;
  deadLetters: DeadLetter[];
  deadLettered: number;
  failure?: string;
  error?: string;
  lease?: Lease;
  /** Store failures in a row while it ran, `error` being the last one's; absent since it went on. */
  retries?: number;
  /**
   * Set when reading the read-model store failed inside `apply` (a document or the keys read on
   * demand): what `apply` then throws is the store's failure, not the event's, and is handled as
   * one rather than dead-lettering the event.
   */
  storeFailure?: { readonly error: unknown };
  /** Set while `apply` runs: the view takes writes then only. */
  applying: boolean;
  /** Calls of `engine.rebuild` for it so far, and how many of them its memory was loaded after. */
  rebuilds: number;
  loadedAfterRebuilds: number;
  /**
   * With `instance`: until when (performance.now()) this instance leaves the lease to the others,
   * after giving it up because it kept failing with it.
   */
  heldBackUntil?: number;
  /** recordedAt of the newest committed event. */
  committedRecordedAt?: string;
  /** recordedAt of the newest applied event, committed or not. */
  appliedRecordedAt?: string;
}

const defaultBatchSize = 1000;
const defaultEventsPerCommit = 10_000;
const defaultDocumentsInMemory = 75_000;
const defaultLeaseTtlMs = 10_000;
/** Live events waiting beyond this many batches send the engine back to reading in batches. */
const liveHighWaterBatches = 10;
/** How many times the keys it is built with a key filter has room for (see fillKeyFilter). */
const keyFilterGrowth = 4;
const defaultRetryDelayMs = 200;
/** How often `waitFor` looks at the checkpoints of projections another instance runs. */
const ownerPollMs = 20;
const defaultMaxRetryDelayMs = 30_000;

/**
 * How long to wait before trying again after `failures` failures in a row (1 for the first):
 * `first`, doubled for each failure after the first, never more than `max`.
 */
export const retryDelayAfter = (failures: number, first: number, max: number): number =>
  Math.min(max, first * 2 ** Math.min(Math.max(0, failures - 1), 30));

const checkDelay = (name: string, value: number): number => {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new TypeError(`${name} must be a whole number of milliseconds, 1 or more; got ${String(value)}.`);
  }
  return value;
};

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** The index of the first event after `position` (events are in position order). */
const firstAfter = (events: readonly RecordedEvent[], position: bigint): number => {
  let index = 0;
  while (index < events.length && (events[index] as RecordedEvent).position <= position) index += 1;
  return index;
};

/**
 * Runs projections: catch-up in batches from each one's checkpoint, then live. All the running
 * projections share one read of the log; each batch's document changes and checkpoints are
 * committed in one read-model transaction, so a crash never double-counts.
 */
export const createProjectionEngine = (options: ProjectionEngineOptions): ProjectionEngine => {
  const { eventStore, readModels } = options;
  const batchSize = options.batchSize ?? defaultBatchSize;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new TypeError(`batchSize must be a whole number of 1 or more; got ${String(options.batchSize)}.`);
  }
  const eventsPerCommitAsked = options.eventsPerCommit ?? defaultEventsPerCommit;
  if (!Number.isSafeInteger(eventsPerCommitAsked) || eventsPerCommitAsked < 1) {
    throw new TypeError(
      `eventsPerCommit must be a whole number of 1 or more; got ${String(options.eventsPerCommit)}.`,
    );
  }
  const eventsPerCommit = Math.max(batchSize, eventsPerCommitAsked);
  const documentsInMemory =
    options.documentsInMemory ??
    (readModels.getDocumentNow && readModels.keysNow ? defaultDocumentsInMemory : Number.POSITIVE_INFINITY);
  if (
    documentsInMemory !== Number.POSITIVE_INFINITY &&
    (!Number.isSafeInteger(documentsInMemory) || documentsInMemory < 1)
  ) {
    throw new TypeError(
      `documentsInMemory must be a whole number of 1 or more, or Infinity; got ${String(options.documentsInMemory)}.`,
    );
  }
  const { getDocumentNow, keysNow } = readModels;
  /** Set when documents are paged: read from the store on demand, only some kept in memory. */
  const paging =
    getDocumentNow && keysNow && Number.isFinite(documentsInMemory)
      ? {
          getDocumentNow: getDocumentNow.bind(readModels),
          keysNow: keysNow.bind(readModels),
          /** Whether to keep a filter of the stored keys, or ask the store about every key not held. */
          filtered: readModels.missesAreCheap !== true,
        }
      : undefined;
  const retryDelayMs = checkDelay('retryDelayMs', options.retryDelayMs ?? defaultRetryDelayMs);
  const maxRetryDelayMs = checkDelay('maxRetryDelayMs', options.maxRetryDelayMs ?? defaultMaxRetryDelayMs);
  if (maxRetryDelayMs < retryDelayMs) {
    throw new TypeError(
      `maxRetryDelayMs (${maxRetryDelayMs}) is less than retryDelayMs (${retryDelayMs}); give a maximum of at least the first delay.`,
    );
  }
  const now = options.now ?? (() => new Date());
  const leaseTtlMs = checkLeaseTtl(options.instance?.leaseTtlMs ?? defaultLeaseTtlMs);
  if (options.instance) checkLeaseOwner(options.instance.owner);
  const names = new Set<string>();
  for (const projection of options.projections) {
    checkProjectionShape(projection);
    if (names.has(projection.name)) {
      throw new TypeError(`Projection "${projection.name}" is given twice; give each projection once.`);
    }
    names.add(projection.name);
  }

  const changes = new Subject<ReadModelChanges>();
  /** Told after every commit, when projections go live, and on stop (see `waitFor`). */
  const commitListeners = new Set<() => void>();
  const tellListeners = (): void => {
    for (const listener of commitListeners) listener();
  };

  const markDirty = (
    runner: Runner,
    state: CollectionState,
    key: string,
    document: ReadModelDocument | null,
  ) => {
    if (state.dirty.size === 0) runner.changed.push(state);
    if (document === null) state.deletes += 1;
    state.dirty.set(key, document);
  };

  const collectionOf = (runner: Runner, collection: string): CollectionState => {
    // Most projections write one collection, or several in turn: the last one asked for first.
    const last = runner.lastCollection;
    if (last !== undefined && last.name === collection) return last;
    const state = runner.collections.get(collection);
    if (!state) {
      throw new TypeError(
        `Projection "${runner.projection.name}" has no collection "${collection}"; add it to its collections.`,
      );
    }
    runner.lastCollection = state;
    return state;
  };

  /** A read of the read-model store made for `apply` failed: noted as the store's failure, to throw. */
  const storeFailed = (runner: Runner, error: unknown): unknown => {
    runner.storeFailure ??= { error };
    return error;
  };

  const runners: Runner[] = options.projections.map((projection) => {
    const runner: Runner = {
      projection,
      handles: new Set(projection.eventTypes),
      state: 'starting',
      committed: 0n,
      applied: 0n,
      collections: new Map(),
      lastCollection: undefined,
      changed: [],
      deadLetters: [],
      deadLettered: 0,
      applying: false,
      rebuilds: 0,
      loadedAfterRebuilds: 0,
      view: undefined as unknown as ProjectionView,
    };
    const { name } = projection;
    const get = (state: CollectionState, key: string): ReadModelDocument | undefined => {
      const held = state.documents.get(key);
      if (held !== undefined || !paging) return held;
      // Written since the last commit are in `documents`; deleted (null) must not be read back.
      if (state.deletes > 0 && state.dirty.has(key)) return undefined;
      const kept = state.older?.get(key);
      if (kept !== undefined) {
        state.documents.set(key, kept);
        return kept;
      }
      if (paging.filtered && !state.stored?.mayHave(key)) return undefined;
      let document: ReadModelDocument | undefined;
      try {
        document = paging.getDocumentNow(name, state.name, key);
      } catch (error) {
        throw storeFailed(runner, error);
      }
      if (document !== undefined) state.documents.set(key, document);
      return document;
    };
    runner.view = {
      get: (collection, key) => get(collectionOf(runner, collection), key),
      put: (collection, key, document) => {
        if (!runner.applying) throw writtenLate(name);
        const state = collectionOf(runner, collection);
        // Stores keep documents as JSON, while the engine holds the object put: one JSON would not
        // give back as it is (a Date, NaN, a Map…) would read differently once reloaded, and a key
        // or text holding U+0000 or half a surrogate pair is kept otherwise, or refused, by the SQL
        // stores. Refused here, so the event that put it is dead-lettered with the reason.
        refuseUnkeepableDocument(name, collection, key, document);
        state.documents.set(key, document);
        markDirty(runner, state, key, document);
      },
      delete: (collection, key) => {
        if (!runner.applying) throw writtenLate(name);
        const state = collectionOf(runner, collection);
        if (get(state, key) === undefined) return;
        state.documents.delete(key);
        state.older?.delete(key);
        markDirty(runner, state, key, null);
      },
      keys: (collection) => {
        const state = collectionOf(runner, collection);
        // The keys as they are now, listed in full: apply may write while it goes through them, and
        // a live view would then meet the keys it writes (for ever, if each one writes another).
        if (!paging) return [...state.documents.keys()][Symbol.iterator]();
        // Listed in full first: a store may not read anything else while it lists (SQLite).
        let committed: string[];
        try {
          committed = [...paging.keysNow(name, collection)];
        } catch (error) {
          throw storeFailed(runner, error);
        }
        const dirty = state.dirty;
        const keys = committed.filter((key) => !dirty.has(key));
        for (const [key, document] of dirty) if (document !== null) keys.push(key);
        return keys[Symbol.iterator]();
      },
    };
    return runner;
  });
  const runnerNamed = (name: string): Runner => {
    const runner = runners.find((r) => r.projection.name === name);
    if (!runner) throw new TypeError(`No projection named "${name}" runs in this engine.`);
    return runner;
  };

  /**
   * Builds the collection's key filter afresh from the keys committed, with room for
   * `keyFilterGrowth` times as many: each rebuild lists every key from the store, so a filter
   * growing with a rebuild's read model is rebuilt a few times, not once per doubling. A full
   * filter's own count of the keys it took in sizes the next one; at load they are counted.
   */
  const fillKeyFilter = (projection: string, state: CollectionState): void => {
    if (!paging?.filtered) return;
    let count = state.stored?.added;
    if (count === undefined) {
      count = 0;
      for (const _ of paging.keysNow(projection, state.name)) count += 1;
      if (count === 0) {
        state.stored = createKeyFilter(0);
        return;
      }
    }
    const stored = createKeyFilter(count * keyFilterGrowth);
    for (const key of paging.keysNow(projection, state.name)) stored.add(key);
    state.stored = stored;
  };

  /**
   * Trims memory once the documents used since the last trim pass half of `documentsInMemory`,
   * counted over every projection and collection: those not used since the trim before are
   * forgotten, and those used since become the ones kept for one more round. So a document in
   * use stays whatever its collection, and the engine holds about `documentsInMemory` at most
   * (two rounds' worth), plus those changed since the last commit: those are nowhere else, so
   * they are always kept among the ones in use.
   */
  const forgetUnused = (): void => {
    if (!paging) return;
    let used = 0;
    for (const runner of runners) {
      for (const state of runner.collections.values()) used += state.documents.size;
    }
    if (used <= documentsInMemory / 2) return;
    for (const runner of runners) {
      for (const state of runner.collections.values()) {
        state.older = state.documents;
        state.documents = new Map();
        for (const [key, document] of state.dirty) if (document !== null) state.documents.set(key, document);
      }
    }
  };

  /** After a commit: the keys written go into the filter (a bigger one when it is full). */
  const afterCommit = (runner: Runner, committed: readonly DocumentChange[]): void => {
    if (!paging) return;
    if (paging.filtered) {
      for (const change of committed) {
        if (change.document !== null) collectionOf(runner, change.collection).stored?.add(change.key);
      }
    }
    for (const state of runner.collections.values()) {
      if (state.stored && state.stored.added > state.stored.capacity) {
        fillKeyFilter(runner.projection.name, state);
      }
    }
  };

  /** Replaces the runner's memory with what the read-model store holds. */
  const load = async (runner: Runner): Promise<void> => {
    const { name, version, collections } = runner.projection;
    const rebuilds = runner.rebuilds;
    await readModels.prepare(name, collections);
    let checkpoint = await readModels.checkpoint(name);
    if (checkpoint && checkpoint.version > version) {
      // Built by a newer deployment: rebuilding it back would fight that deployment for ever.
      runner.state = 'failed';
      runner.retired = true;
      runner.error =
        `its read model was built by version ${checkpoint.version} of the projection and this instance runs ` +
        `version ${version}; upgrade this instance (it leaves the read model alone)`;
      return;
    }
    if (options.instance && !runner.lease) {
      // Only the lease holder may rebuild or load; without it, wait for the lease.
      runner.state = 'standby';
      return;
    }
    if (!checkpoint || checkpoint.version !== version) {
      await readModels.reset(name, version, collections, runner.lease);
      checkpoint = await readModels.checkpoint(name);
    }
    runner.collections = new Map();
    runner.lastCollection = undefined;
    for (const collection of collections) {
      if (paging) {
        // Keys only: documents are read when an event needs them.
        const state: CollectionState = {
          name: collection,
          documents: new Map(),
          dirty: new Map(),
          deletes: 0,
        };
        fillKeyFilter(name, state);
        runner.collections.set(collection, state);
        continue;
      }
      const rows = await readModels.documents(name, collection);
      // Copies: stores may hand out frozen documents, and apply may change what it gets.
      const documents = new Map(rows.map((row) => [row.key, structuredClone(row.document)]));
      runner.collections.set(collection, { name: collection, documents, dirty: new Map(), deletes: 0 });
    }
    runner.changed = [];
    runner.deadLetters = [];
    delete runner.failure;
    delete runner.storeFailure;
    runner.committed = checkpoint?.position ?? 0n;
    runner.applied = runner.committed;
    runner.loadedAfterRebuilds = rebuilds;
    if (runner.committedRecordedAt === undefined) delete runner.appliedRecordedAt;
    else runner.appliedRecordedAt = runner.committedRecordedAt;
    if (options.instance && !runner.lease) {
      runner.state = 'standby';
    } else if (checkpoint?.status === 'failed') {
      runner.state = 'failed';
      runner.error = checkpoint.error ?? 'failed at a poison event';
    } else {
      runner.state = 'catching-up';
      // A store failure stays reported until the engine has gone on past it.
      if (runner.retries === undefined) delete runner.error;
    }
  };

  // ---- Leases -------------------------------------------------------------------------------

  let stopping = false;
  let restartRequested = false;
  let wake: (() => void) | undefined;
  const nudge = (): void => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  const requestRestart = (): void => {
    restartRequested = true;
    nudge();
  };
  /** Waits `ms`, or less when stopped or nudged (a restart asked for, say). */
  const pause = (ms: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        if (wake === woken) wake = undefined;
        resolve();
      }, ms);
      const woken = (): void => {
        clearTimeout(timer);
        resolve();
      };
      wake = woken;
    });

  /** Store failures in a row, for the delay before trying again, and when the first of them was. */
  let failuresInARow = 0;
  let failingSince = 0;
  /**
   * Whether the last of them came from the live subscription. Catching up to the log's end then
   * proves nothing: reads may work while subscribing fails every time.
   */
  let failedLive = false;
  /** A commit, or catching up to the log's end, worked: whatever failed before has passed. */
  const wentOn = (active: readonly Runner[]): void => {
    failuresInARow = 0;
    failingSince = 0;
    failedLive = false;
    for (const runner of active) {
      if (runner.retries === undefined) continue;
      delete runner.retries;
      if (isRunning(runner)) delete runner.error;
    }
  };

  const giveUp = async (runner: Runner, lease: Lease): Promise<void> => {
    if (runner.lease === lease) delete runner.lease;
    await readModels.releaseLease(lease).catch(() => undefined);
  };

  /**
   * Takes or keeps every projection's lease; a projection that changes hands restarts the loop.
   * Runs one round at a time (the next is scheduled when this one ends), and a renewal that comes
   * back after the lease changed hands is ignored.
   */
  const tendLeases = async (): Promise<void> => {
    const owner = options.instance?.owner;
    if (owner === undefined) return;
    for (const runner of runners) {
      if (runner.state === 'stopped' || stopping) continue;
      const held = runner.lease;
      if (runner.retired) {
        // Left for a newer deployment: never hold its lease.
        if (held) await giveUp(runner, held);
        continue;
      }
      if (held) {
        const renewed = await readModels.renewLease(held, leaseTtlMs);
        if (runner.lease !== held) continue;
        if (renewed) runner.lease = renewed;
        else {
          delete runner.lease;
          runner.state = 'standby';
          requestRestart();
        }
      } else {
        if (runner.heldBackUntil !== undefined && performance.now() < runner.heldBackUntil) continue;
        delete runner.heldBackUntil;
        const lease = await readModels.acquireLease(runner.projection.name, owner, leaseTtlMs);
        if (!lease) {
          runner.state = 'standby';
          // Another instance runs it: its status here follows the owner's commits.
          const checkpoint = await readModels.checkpoint(runner.projection.name);
          if (checkpoint && !runner.lease) runner.committed = checkpoint.position;
          continue;
        }
        runner.lease = lease;
        try {
          await load(runner);
        } catch (error) {
          // Could not load (the store is unreachable): let another instance have it meanwhile.
          runner.state = 'standby';
          runner.error = messageOf(error);
          await giveUp(runner, lease);
          continue;
        }
        if (runner.retired) await giveUp(runner, lease);
        requestRestart();
      }
    }
  };

  // ---- Applying and committing ----------------------------------------------------------------

  const isRunning = (runner: Runner): boolean => runner.state === 'catching-up' || runner.state === 'live';

  const deadLetterOf = (runner: Runner, event: RecordedEvent, error: unknown): DeadLetter => ({
    projection: runner.projection.name,
    version: runner.projection.version,
    position: event.position,
    eventId: event.id,
    eventType: event.type,
    streamId: event.streamId,
    // Whatever the message holds, every store keeps it: a NUL or half a surrogate pair becomes U+FFFD.
    error: keepableTextOf(messageOf(error)),
    deadLetteredAt: now().toISOString(),
  });

  /**
   * Applies one event to the runner's view. An `apply` that returned a promise (an async function
   * compiled to a plain one, say) is refused: what it writes after an await would land in another
   * batch, or after a reload, so the view refuses it, and the projection stops saying why.
   */
  const applyOne = (runner: Runner, event: RecordedEvent): void =>
    fold(runner, () => runner.projection.apply(event, runner.view));

  /** Runs `apply` or `applyEvents` with the view open for writes, refusing a promise returned. */
  const fold = (runner: Runner, call: () => unknown): void => {
    let returned: unknown;
    runner.applying = true;
    try {
      returned = call();
    } finally {
      runner.applying = false;
    }
    if (isThenable(returned)) {
      // Its outcome is nobody's now: a rejection must not end the process as an unhandled one.
      returned.then(undefined, () => undefined);
      throw new ApplyReturnedPromise(runner.projection.name);
    }
  };

  /**
   * A read's events, for a projection with `applyEvents`, folded at once; true when that worked.
   * When it throws, whatever it half-changed is thrown away (memory is reloaded from the last
   * commit and what came in earlier reads applied again), and false tells the caller to apply the
   * read one event at a time, which finds the event that fails. A failure of the store is thrown.
   */
  const appliedAtOnce = async (
    runner: Runner,
    events: readonly RecordedEvent[],
    first: number,
  ): Promise<boolean> => {
    const handled: RecordedEvent[] = [];
    for (let i = first; i < events.length; i += 1) {
      const event = events[i] as RecordedEvent;
      if (runner.handles.has(event.type)) handled.push(event);
    }
    if (handled.length === 0) return true;
    const from = runner.applied;
    try {
      fold(runner, () => runner.projection.applyEvents?.(handled, runner.view));
      if (runner.storeFailure !== undefined) throw runner.storeFailure.error;
      return true;
    } catch {
      const failure = runner.storeFailure;
      if (failure !== undefined) {
        delete runner.storeFailure;
        throw failure.error;
      }
    }
    const { deadLetters, state } = runner;
    await load(runner);
    if (runner.state === 'catching-up') runner.state = state;
    runner.deadLetters = deadLetters;
    await reapply(runner, from, new Set(deadLetters.map((dead) => dead.position)));
    return false;
  };

  /**
   * Applies again what the runner had applied since its last commit, up to `until`, read back
   * from the log: after a reload, for what came in earlier reads than the one in hand.
   */
  const reapply = async (runner: Runner, until: bigint, skipped: ReadonlySet<bigint>): Promise<void> => {
    if (until <= runner.committed) return;
    const read = { after: runner.committed, filter: { eventTypes: runner.projection.eventTypes } };
    for await (const event of eventStore.readAll(read)) {
      if (event.position > until) break;
      if (!skipped.has(event.position)) applyOne(runner, event);
    }
  };

  /**
   * Applies one read's events to one runner, after what it has applied already, and gives back
   * the position it got to. When apply throws, whatever it half-changed is thrown away: memory is
   * reloaded from the last commit and everything applied since is applied again, up to the event
   * (events from earlier reads are read back from the log). The event is dead-lettered, and the
   * runner stops there or skips it.
   */
  const applyBatch = async (runner: Runner, events: readonly RecordedEvent[]): Promise<bigint> => {
    const from = runner.applied;
    const first = firstAfter(events, from);
    if (runner.projection.applyEvents !== undefined && (await appliedAtOnce(runner, events, first))) {
      return events.at(-1)?.position ?? from;
    }
    let skipped: Set<bigint> | undefined;
    const { handles } = runner;
    for (let i = first; i < events.length; i += 1) {
      const event = events[i] as RecordedEvent;
      if (!handles.has(event.type) || skipped?.has(event.position)) continue;
      try {
        applyOne(runner, event);
        // An apply that caught the store's failure itself went on as if a document were absent.
        if (runner.storeFailure !== undefined) throw runner.storeFailure.error;
      } catch (error) {
        const failure = runner.storeFailure;
        if (failure !== undefined) {
          // The store failed, not the event: handled as any store failure (reported, retried from
          // the checkpoint), whatever apply made of the error.
          delete runner.storeFailure;
          throw failure.error;
        }
        const letter = deadLetterOf(runner, event, error);
        const deadLetters = [...runner.deadLetters, letter];
        const state = runner.state;
        await load(runner);
        // Reloading is not a restart: a live projection stays live.
        if (runner.state === 'catching-up') runner.state = state;
        runner.deadLetters = deadLetters;
        runner.deadLettered += 1;
        // Every event dead-lettered since the last commit stays out of the replay.
        skipped = new Set(deadLetters.map((dead) => dead.position));
        await reapply(runner, from, skipped);
        // An apply that returned a promise would fail at every event: it stops whatever the policy.
        if ((runner.projection.onPoison ?? 'stop') === 'stop' || error instanceof ApplyReturnedPromise) {
          runner.failure = `event ${event.id} (${event.type}) at position ${event.position}: ${letter.error}`;
          for (let j = first; j < i; j += 1) {
            const earlier = events[j] as RecordedEvent;
            if (handles.has(earlier.type) && !skipped.has(earlier.position)) {
              applyOne(runner, earlier);
            }
          }
          return i > first ? (events[i - 1] as RecordedEvent).position : from;
        }
        // Skip: this read's events again from its start, without the dead-lettered ones.
        i = first - 1;
      }
    }
    return events.at(-1)?.position ?? from;
  };

  const drain = (runner: Runner): DocumentChange[] => {
    const out: DocumentChange[] = [];
    for (const state of runner.changed) {
      const collection = state.name;
      for (const [key, document] of state.dirty) out.push({ collection, key, document });
      state.dirty.clear();
      state.deletes = 0;
    }
    runner.changed = [];
    return out;
  };

  /** Applies a read's events to every running projection behind it; nothing is committed yet. */
  const applyAll = async (events: readonly RecordedEvent[], active: readonly Runner[]): Promise<void> => {
    const last = events.at(-1);
    if (!last) return;
    for (const runner of active) {
      if (runner.applied >= last.position || runner.failure !== undefined) continue;
      const position = await applyBatch(runner, events);
      runner.applied = position;
      const appliedEvent = events.findLast((e) => e.position <= position);
      if (appliedEvent) runner.appliedRecordedAt = appliedEvent.recordedAt;
    }
  };

  /** Commits what every projection applied since its last commit, all in one transaction. */
  const commitApplied = async (active: readonly Runner[]): Promise<void> => {
    const batches: { runner: Runner; batch: ProjectionBatch }[] = [];
    for (const runner of active) {
      if (
        runner.applied <= runner.committed &&
        runner.failure === undefined &&
        runner.deadLetters.length === 0
      ) {
        continue;
      }
      batches.push({
        runner,
        batch: {
          projection: runner.projection.name,
          version: runner.projection.version,
          after: runner.committed,
          position: runner.applied,
          changes: drain(runner),
          deadLetters: runner.deadLetters,
          ...(runner.failure === undefined ? {} : { failure: runner.failure }),
          ...(runner.lease ? { lease: runner.lease } : {}),
        },
      });
    }
    if (batches.length === 0) return;
    // What memory was loaded after: a rebuild asked since then empties the store under this commit.
    const loadedAfter = batches.map(({ runner }) => runner.loadedAfterRebuilds);
    try {
      await readModels.commit(batches.map((b) => b.batch));
    } catch (error) {
      const rebuiltMeanwhile = batches.some(({ runner }, i) => runner.rebuilds !== loadedAfter[i]);
      // Nothing was written: memory goes back to the last commit before anything else happens.
      if (isLeaseLostError(error)) {
        for (const { runner } of batches) {
          if (!runner.lease) continue;
          const renewed = await readModels.renewLease(runner.lease, leaseTtlMs);
          if (renewed) runner.lease = renewed;
          else delete runner.lease;
        }
      }
      for (const { runner } of batches) await load(runner);
      if (isLeaseLostError(error)) {
        if (!options.instance && !rebuiltMeanwhile) throw anotherEngine(error);
        requestRestart();
        return;
      }
      throw error;
    }
    for (const { runner, batch } of batches) {
      runner.committed = batch.position;
      runner.applied = batch.position;
      runner.deadLetters = [];
      afterCommit(runner, batch.changes);
      if (runner.appliedRecordedAt !== undefined) runner.committedRecordedAt = runner.appliedRecordedAt;
      if (batch.failure !== undefined) {
        runner.state = 'failed';
        runner.error = batch.failure;
        delete runner.failure;
        requestRestart();
      }
      if (batch.changes.length > 0 && changes.observed) {
        // Frozen copies: the engine goes on from the documents it holds, and a subscriber that
        // changed one (a count bumped for display, say) would change every count after it.
        changes.next({
          projection: batch.projection,
          position: batch.position,
          changes: batch.changes.map((change) =>
            change.document === null ? change : { ...change, document: frozenCopyOf(change.document) },
          ),
        });
      }
    }
    wentOn(batches.map((b) => b.runner));
    forgetUnused();
    tellListeners();
  };

  /** Applies a batch to every running projection behind it and commits them all at once. */
  const applyAndCommit = async (
    events: readonly RecordedEvent[],
    active: readonly Runner[],
  ): Promise<void> => {
    await applyAll(events, active);
    await commitApplied(active);
  };

  // ---- The loop -------------------------------------------------------------------------------

  const activeRunners = (): Runner[] => runners.filter(isRunning);
  const filterOf = (active: readonly Runner[]) => ({
    eventTypes: [...new Set(active.flatMap((r) => r.projection.eventTypes))],
  });
  /**
   * The lowest position among them: of their checkpoints (`committed`, the default), or of what
   * they applied, committed or not (bigints: Math.min does not apply).
   */
  const lowest = (active: readonly Runner[], of: 'committed' | 'applied' = 'committed'): bigint => {
    let min = active[0]?.[of] ?? 0n;
    for (const runner of active) if (runner[of] < min) min = runner[of];
    return min;
  };

  /**
   * Reads and applies batches until a read comes back short (the log's end, for now), committing
   * every `eventsPerCommit` events, at the end, and whenever a projection stops at a poison event.
   */
  const catchUp = async (active: readonly Runner[]): Promise<void> => {
    for (const runner of active) runner.state = 'catching-up';
    const filter = filterOf(active);
    let uncommitted = 0;
    while (!stopping && !restartRequested) {
      const events: RecordedEvent[] = [];
      const read = { after: lowest(active, 'applied'), filter, maxCount: batchSize };
      if (eventStore.readAllPages) {
        // A page per promise rather than an event per promise: in a rebuild from memory, most of
        // what reading costs.
        for await (const page of eventStore.readAllPages(read)) for (const event of page) events.push(event);
      } else {
        for await (const event of eventStore.readAll(read)) events.push(event);
      }
      const running = active.filter(isRunning);
      await applyAll(events, running);
      uncommitted += events.length;
      const atEnd = events.length < batchSize;
      if (atEnd || uncommitted >= eventsPerCommit || running.some((r) => r.failure !== undefined)) {
        await commitApplied(running);
        uncommitted = 0;
      } else {
        // Between commits too, so that documents read for these events do not pile up.
        forgetUnused();
      }
      if (atEnd) {
        if (!failedLive) wentOn(active);
        return;
      }
    }
    // Stopping between commits: keep what was applied rather than apply it again next time.
    if (uncommitted > 0 && !restartRequested) await commitApplied(active.filter(isRunning));
  };

  /** Applies events as they are appended, in batches of whatever arrived meanwhile. */
  const live = async (active: readonly Runner[]): Promise<void> => {
    for (const runner of active) runner.state = 'live';
    // Caught up: whoever waits for a position may now look whether anything is left to apply.
    tellListeners();
    const queue: RecordedEvent[] = [];
    let failure: unknown;
    let subscription: Subscription | undefined;
    // After a failure of the subscription: once it has stayed up as long as the last wait, it is
    // taken to work again, even if no event came meanwhile to commit.
    const steady = failedLive
      ? setTimeout(
          () => {
            if (failure === undefined) wentOn(active);
          },
          retryDelayAfter(failuresInARow, retryDelayMs, maxRetryDelayMs),
        )
      : undefined;
    try {
      subscription = eventStore.subscribe({ after: lowest(active), filter: filterOf(active) }).subscribe({
        next: (event) => {
          queue.push(event);
          nudge();
        },
        error: (error: unknown) => {
          failure = error;
          nudge();
        },
      });
      while (!stopping && !restartRequested && failure === undefined) {
        if (queue.length === 0) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          continue;
        }
        if (queue.length > batchSize * liveHighWaterBatches) return; // fell behind: read in batches
        const events = queue.splice(0, batchSize);
        await applyAndCommit(events, active.filter(isRunning));
      }
      if (failure !== undefined) {
        failedLive = true;
        throw failure;
      }
    } finally {
      clearTimeout(steady);
      subscription?.unsubscribe();
    }
  };

  let loop: Promise<void> | undefined;
  /** While `start()` loads: a second call waits for the same start rather than run a second loop. */
  let starting: Promise<void> | undefined;
  /** Whether `stop()` was called: `waitFor` then returns at once rather than wait for ever. */
  let stoppedOnce = false;
  let leaseTimer: NodeJS.Timeout | undefined;

  const run = async (): Promise<void> => {
    /** Set after a failure: memory goes back to what the read-model store holds before going on. */
    let reload = false;
    while (!stopping) {
      restartRequested = false;
      const active = activeRunners();
      if (active.length === 0) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        continue;
      }
      try {
        if (reload) {
          for (const runner of active) await load(runner);
          reload = false;
          // Loading may have changed who runs (a lease lost meanwhile, a newer version).
          continue;
        }
        await catchUp(active);
        if (!stopping && !restartRequested) await live(active);
      } catch (error) {
        // A store failed (disk, network, a refusal): report it, wait longer after each failure
        // in a row, and resume from the checkpoints. Loading again may fail too: the same way.
        failuresInARow += 1;
        if (failuresInARow === 1) failingSince = performance.now();
        for (const runner of active) {
          runner.error = messageOf(error);
          runner.retries = failuresInARow;
        }
        if (options.instance && performance.now() - failingSince >= leaseTtlMs) {
          // Failing for as long as a lease lasts: another instance may reach what this one cannot,
          // so the leases go to it, as they would if this one had died. This one asks again after
          // one more lease's time, and goes on if no other took them.
          for (const runner of active) {
            if (!runner.lease) continue;
            runner.state = 'standby';
            runner.heldBackUntil = performance.now() + leaseTtlMs;
            await giveUp(runner, runner.lease);
          }
          failuresInARow = 0;
          failingSince = 0;
        }
        reload = true;
        await pause(retryDelayAfter(failuresInARow, retryDelayMs, maxRetryDelayMs));
      }
    }
  };

  /** Whether `runners` handle an event after `after`, up to `position`: one read of the log. */
  const handleBetween = async (
    pending: readonly Runner[],
    after: bigint,
    position: bigint,
  ): Promise<boolean> => {
    let more = false;
    for await (const event of eventStore.readAll({ after, filter: filterOf(pending), maxCount: 1 })) {
      more = event.position <= position;
    }
    return more;
  };

  /** Until this instance's running projections have taken in every event up to `position`. */
  const waitForOwn = async (position: bigint): Promise<void> => {
    for (;;) {
      const pending = activeRunners().filter((r) => r.committed < position);
      if (pending.length === 0 || stopping) return;
      // Listening before looking, so a commit made while we look is not missed.
      let listener: () => void = () => {};
      const committed = new Promise<void>((resolve) => {
        listener = () => {
          commitListeners.delete(listener);
          resolve();
        };
        commitListeners.add(listener);
      });
      // While any of them catches up, the next commit or going live will tell: no need to look.
      if (!pending.some((runner) => runner.state === 'catching-up')) {
        // Nothing any of them handles lies between their checkpoints and `position`: done.
        if (!(await handleBetween(pending, lowest(pending), position))) {
          commitListeners.delete(listener);
          return;
        }
      }
      await committed;
    }
  };

  /**
   * With `instance`: until the projections that other instances run (this one's are standby) have
   * committed every event they handle up to `position`, read from the read-model store's
   * checkpoints every `ownerPollMs`; and this one's own too, should it take a lease meanwhile.
   * So a caller reads its own write whichever instance owns the projection.
   */
  const waitForOwners = async (position: bigint): Promise<void> => {
    for (;;) {
      if (stopping) return;
      let behind = false;
      for (const runner of runners) {
        const running = isRunning(runner);
        if (!running && runner.state !== 'standby') continue;
        const at = running
          ? runner.committed
          : ((await readModels.checkpoint(runner.projection.name))?.position ?? 0n);
        if (at < position && (await handleBetween([runner], at, position))) {
          behind = true;
          break;
        }
      }
      if (!behind) return;
      // Not `pause`: the engine's own loop waits on `wake`.
      await new Promise((resolve) => setTimeout(resolve, ownerPollMs));
    }
  };

  const positionOf = (runner: Runner): bigint => runner.committed;

  /** Loads every projection (or takes the leases) and starts the run loop. */
  const startLoop = async (): Promise<void> => {
    stopping = false;
    stoppedOnce = false;
    if (options.instance) {
      await tendLeases();
      const tick = (): void => {
        leaseTimer = setTimeout(
          () => {
            tendLeases()
              .catch(() => {
                // A store that cannot be reached: leases are tried again at the next tick.
              })
              .finally(() => {
                if (!stopping) tick();
              });
          },
          Math.max(1, Math.floor(leaseTtlMs / 3)),
        );
      };
      tick();
    } else {
      for (const runner of runners) await load(runner);
    }
    loop = run();
  };

  return {
    changes: changes.asObservable(),

    start: () => {
      if (loop) return Promise.resolve();
      starting ??= startLoop().finally(() => {
        starting = undefined;
      });
      return starting;
    },

    stop: async () => {
      // A start under way finishes first: stopping it halfway would leave its loop to run on.
      if (starting) await starting.catch(() => undefined);
      stopping = true;
      stoppedOnce = true;
      if (leaseTimer) clearTimeout(leaseTimer);
      nudge();
      await loop;
      loop = undefined;
      for (const runner of runners) {
        if (runner.lease) {
          await readModels.releaseLease(runner.lease).catch(() => undefined);
          delete runner.lease;
        }
        runner.state = 'stopped';
      }
      tellListeners();
    },

    status: () =>
      runners.map((runner) => {
        // Standby: another instance runs it, and what this one last applied says nothing of it.
        const idle = runner.state === 'live' || runner.state === 'standby';
        const lagMs =
          idle || runner.committedRecordedAt === undefined
            ? 0
            : Math.max(0, now().getTime() - Date.parse(runner.committedRecordedAt));
        return {
          name: runner.projection.name,
          version: runner.projection.version,
          state: runner.state,
          position: positionOf(runner),
          lagMs,
          deadLettered: runner.deadLettered,
          ...(runner.error === undefined ? {} : { error: runner.error }),
          ...(runner.retries === undefined ? {} : { retries: runner.retries }),
        };
      }),

    waitFor: async (position) => {
      if (typeof position !== 'bigint' || position < 0n) {
        throw new TypeError(
          `waitFor takes a global position as a bigint of 0 or more, such as an append's position; got ${typeof position} ${String(position)}. ` +
            'A position sent as text or JSON: BigInt(text).',
        );
      }
      if (starting) await starting;
      if (!loop && !stoppedOnce) {
        // Nothing would ever be applied: the caller would read a read model that never catches up.
        throw new TypeError(
          'waitFor was called on an engine that is not running: call start() first, and again if it failed.',
        );
      }
      await waitForOwn(position);
      if (options.instance) await waitForOwners(position);
    },

    caughtUp: async () => {
      if (starting) await starting;
      if (!loop && !stoppedOnce) {
        throw new TypeError(
          'caughtUp was called on an engine that is not running: call start() first, and again if it failed.',
        );
      }
      const settled = (runner: Runner): boolean =>
        runner.state === 'live' ||
        runner.state === 'failed' ||
        runner.state === 'stopped' ||
        runner.state === 'standby';
      // Told after every commit, when projections go live, and on stop.
      while (!stopping && !runners.every(settled)) {
        await new Promise<void>((resolve) => {
          const listener = (): void => {
            commitListeners.delete(listener);
            resolve();
          };
          commitListeners.add(listener);
        });
      }
    },

    rebuild: async (name) => {
      const runner = runnerNamed(name);
      const { projection } = runner;
      runner.rebuilds += 1;
      await readModels.reset(projection.name, projection.version, projection.collections, runner.lease);
      await load(runner);
      requestRestart();
    },
  };
};

/** A deep copy of a document (plain JSON: `put` checks it), frozen all the way down. */
const frozenCopyOf = <T>(value: T): T => {
  if (value === null || typeof value !== 'object') return value;
  const copy = Array.isArray(value)
    ? value.map(frozenCopyOf)
    : copyFields(value, (_field, inner) => frozenCopyOf(inner));
  return Object.freeze(copy) as T;
};

/** Thrown for an `apply` that returned a promise: the projection stops, whatever its poison policy. */
class ApplyReturnedPromise extends TypeError {
  constructor(projection: string) {
    super(
      `Projection "${projection}": apply returned a promise. It must be synchronous: the engine commits ` +
        "a batch's changes once apply returns, so what it wrote after an await would be lost or land " +
        'in another batch. Read documents with view.get, do other I/O outside the projection, then ' +
        'bump its version to rebuild it.',
    );
    this.name = 'ApplyReturnedPromise';
  }
}

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  value !== null &&
  (typeof value === 'object' || typeof value === 'function') &&
  typeof (value as { then?: unknown }).then === 'function';

/**
 * A commit refused because the projection's checkpoint moved, on an engine without `instance`:
 * another engine commits the same projection to the same store. Nothing is counted twice (each
 * commit follows one checkpoint), but both do the work and one of them throws it away.
 */
const anotherEngine = (error: LeaseLostError): Error =>
  new Error(
    `Projection "${error.projection}": another engine commits it to the same read-model store (its ` +
      'checkpoint moved from under this one), so this batch was not written and is applied again. ' +
      'Run one engine per read-model store, or give every engine an instance ({ owner }) so that each ' +
      'projection runs on one of them at a time.',
    { cause: error },
  );

/** A write through a projection's view once its `apply` has returned. */
const writtenLate = (projection: string): TypeError =>
  new TypeError(
    `Projection "${projection}": a document was written after apply returned (an async apply, or the ` +
      'view kept for later). Nothing written then is kept: write only while apply runs.',
  );

/** The changes of one projection only. */
export const changesOf = (engine: ProjectionEngine, projection: string): Observable<ReadModelChanges> =>
  new Observable((subscriber) =>
    engine.changes.subscribe({
      next: (change) => {
        if (change.projection === projection) subscriber.next(change);
      },
      error: (error: unknown) => subscriber.error(error),
      complete: () => subscriber.complete(),
    }),
  );
