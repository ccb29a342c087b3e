import type {
  AppendOptions,
  AppendResult,
  EventRegistry,
  EventStore,
  ExpectedRevision,
  NewEvent,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  SubscribeOptions,
} from '@lantern/core';
import {
  ConcurrencyError,
  deepFreeze,
  defaultEventRegistry,
  type EventFilter,
  eventMetadataSchema,
  expectedRevisionFits,
  matchesFilter,
  parseExpectedRevision,
  parseMaxCount,
  parseStreamId,
  resendOf,
  StoreError,
  StreamNotFoundError,
  schemaKeepsValidInput,
} from '@lantern/core';
import { Observable } from 'rxjs';

export interface MemoryEventStoreOptions {
  /** The event types the store accepts, validated on append and upcast on read. Default: `defaultEventRegistry`. */
  registry?: EventRegistry;
  /** The clock that stamps `recordedAt`. Default: `() => new Date()`. */
  now?: () => Date;
  /**
   * How long, in milliseconds, reading may keep the event loop before it lets it run: a long read
   * or a subscriber catching up pauses once this much time has gone by since the store's last
   * pause (looked at every 256 events). `0` pauses every 256 events. Default: `2`.
   */
  turnMs?: number;
}

/** One stored event: frozen, in its stored schema version, plus its current (upcast) form. */
interface StoredEvent {
  readonly recorded: RecordedEvent;
  /** `recorded` itself when reading would change nothing; otherwise made on first read. */
  current?: RecordedEvent;
}

/** A cursor's answer when the event loop should run before it goes on. */
const pause = Symbol('pause');
/** A read in progress: the next event it hands out, `pause`, or undefined once it is done. */
type Cursor = () => StoredEvent | typeof pause | undefined;

/**
 * How many events a reader or a catching-up subscriber handles between two looks at the clock
 * (see `turnMs`): each pause costs a turn of the event loop, far more than reading 256 events.
 */
const chunkSize = 256;

/**
 * The store's own copy of validated data, through JSON text as a store on disk keeps it: a field
 * left undefined is gone, exactly as after SQLite or EventStoreDB. Objects JSON.parse builds are
 * also faster to read than structuredClone's (a fold over the log ran about 40% faster).
 */
const jsonCopy = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** Event ids are uuids: compare them without regard to case, as EventStoreDB does. */
const idKey = (id: string): string => id.toLowerCase();

const closedError = (): StoreError =>
  new StoreError('This memory event store is closed. Create a new store with createMemoryEventStore().');

/**
 * A filter compiled once per read: a Set of event types instead of a scan of the list per event.
 * Undefined when it lets every stored event through: no prefixes, and types naming every type of
 * the registry, which every stored event was validated against (a projection over everything).
 */
const compileFilter = (
  filter: EventFilter | undefined,
  registered: readonly string[],
): ((event: RecordedEvent) => boolean) | undefined => {
  if (!filter) return undefined;
  const types = filter.eventTypes ? new Set(filter.eventTypes) : undefined;
  const prefixes = filter.streamPrefixes;
  if (prefixes === undefined && (types === undefined || registered.every((type) => types.has(type)))) {
    return undefined;
  }
  return (event) =>
    (types === undefined || types.has(event.type)) &&
    (prefixes === undefined || prefixes.some((prefix) => event.streamId.startsWith(prefix)));
};

const metadataKeptAsValidated = schemaKeepsValidInput(eventMetadataSchema);

/**
 * An event store held in memory: for tests and for trying Lantern out. It keeps the whole
 * contract of the EventStore port (atomic appends, idempotent retries, one global order,
 * catch-up then live subscriptions) but nothing survives the process.
 */
export const createMemoryEventStore = (options: MemoryEventStoreOptions = {}): EventStore => {
  const registry = options.registry ?? defaultEventRegistry;
  const now = options.now ?? (() => new Date());
  const turnMs = options.turnMs ?? 2;
  if (typeof turnMs !== 'number' || !Number.isFinite(turnMs) || turnMs < 0) {
    throw new TypeError(`turnMs must be a number of milliseconds, 0 or more; got ${String(options.turnMs)}.`);
  }

  /** When the event loop last ran after a pause of this store's (or when the store was made). */
  let lastTurnAt = performance.now();
  /** True when reading has kept the event loop long enough to let it run. */
  const turnIsDue = (): boolean => turnMs === 0 || performance.now() - lastTurnAt >= turnMs;
  const yieldToEventLoop = (): Promise<void> =>
    new Promise((resolve) =>
      setImmediate(() => {
        lastTurnAt = performance.now();
        resolve();
      }),
    );

  /** The global log: the event at index i has position i + 1. */
  const log: StoredEvent[] = [];
  const streams = new Map<string, StoredEvent[]>();
  const byId = new Map<string, StoredEvent>();
  /** Live subscribers, called synchronously with every committed batch. */
  const listeners = new Set<(batch: readonly StoredEvent[]) => void>();
  /** Every open subscription, catching up or live, so close() can complete it. */
  const openSubscriptions = new Set<() => void>();
  let closed = false;

  const ensureOpen = (): void => {
    if (closed) throw closedError();
  };

  /**
   * The event as callers see it: validated, upcast to the current schema version, frozen. Done
   * once per event: the stored record and the registry never change, so neither does the result.
   */
  const present = (stored: StoredEvent): RecordedEvent => {
    if (!stored.current) stored.current = deepFreeze(registry.readRecorded(stored.recorded));
    return stored.current;
  };

  /** Per event type: whether reading an event appended at its current version gives it back as stored. */
  const readsAsStored = new Map<string, number | undefined>();
  /**
   * True when `registry.readRecorded` would return this freshly validated event unchanged: it is at
   * its type's current version (nothing to upcast) and its schema keeps valid input as it is. Such
   * an event is its own current form, so reading it runs no schema a second time.
   */
  const alreadyCurrent = (event: NewEvent): boolean => {
    if (!metadataKeptAsValidated) return false;
    if (!readsAsStored.has(event.type)) {
      const definition = registry.get(event.type);
      const kept = definition !== undefined && schemaKeepsValidInput(definition.schema);
      readsAsStored.set(event.type, kept ? definition.schemaVersion : undefined);
    }
    const version = readsAsStored.get(event.type);
    return version !== undefined && event.metadata.schemaVersion === version;
  };

  const lastRevision = (stream: readonly StoredEvent[] | undefined): bigint | 'noStream' =>
    stream && stream.length > 0 ? BigInt(stream.length - 1) : 'noStream';

  /**
   * A batch whose ids are all stored already is a retry when they sit consecutively, in batch
   * order, in this stream and the expected revision fits where they were written.
   */
  const retryResult = (
    streamId: string,
    events: readonly NewEvent[],
    expected: ExpectedRevision,
  ): AppendResult | undefined => {
    const places = events.map((event) => byId.get(idKey(event.id))?.recorded);
    const last = resendOf(
      streamId,
      events.map((event) => event.id),
      places,
      expected,
      () => lastRevision(streams.get(streamId)),
    );
    if (last?.position === undefined) return undefined;
    return { nextExpectedRevision: last.revision, position: last.position, written: false };
  };

  const append = async (
    streamId: string,
    events: readonly NewEvent[],
    appendOptions: AppendOptions = {},
  ): Promise<AppendResult> => {
    ensureOpen();
    parseStreamId(streamId);
    const expected = parseExpectedRevision(appendOptions.expectedRevision ?? 'any');
    if (!Array.isArray(events)) throw new TypeError('append needs an array of at least one event.');
    // Everything below runs without awaiting, so the batch is atomic: no other call interleaves.
    const valid = registry.validateBatch(events);
    const retry = retryResult(streamId, valid, expected);
    if (retry) return retry;

    const stream = streams.get(streamId);
    const actual = lastRevision(stream);
    if (!expectedRevisionFits(expected, actual)) throw new ConcurrencyError(streamId, expected, actual);

    const recordedAt = now().toISOString();
    const target = stream ?? [];
    const batch = valid.map((event, i): StoredEvent => {
      const recorded: RecordedEvent = deepFreeze({
        id: event.id,
        type: event.type,
        // A copy, so the caller's objects and the store never share state.
        data: jsonCopy(event.data),
        metadata: jsonCopy(event.metadata),
        streamId,
        revision: BigInt(target.length + i),
        position: BigInt(log.length + i + 1),
        recordedAt,
      });
      return alreadyCurrent(event) ? { recorded, current: recorded } : { recorded };
    });
    for (const stored of batch) {
      log.push(stored);
      target.push(stored);
      byId.set(idKey(stored.recorded.id), stored);
    }
    if (!stream) streams.set(streamId, target);

    for (const listener of [...listeners]) listener(batch);

    const last = batch[batch.length - 1] as StoredEvent;
    return { nextExpectedRevision: last.recorded.revision, position: last.recorded.position, written: true };
  };

  /**
   * An async iterable of what the cursor made by `begin` finds; `begin` runs when iteration starts,
   * so a read sees the log as it was then. Written by hand rather than as an async generator: each
   * event costs one resolved promise instead of a generator's round trips, which in a rebuild from
   * memory is most of the cost of reading.
   */
  const iterableOf = (begin: () => Cursor): AsyncIterable<RecordedEvent> => ({
    [Symbol.asyncIterator]: (): AsyncIterator<RecordedEvent> => {
      let cursor: Cursor | undefined;
      let finished = false;
      const finish = (): IteratorResult<RecordedEvent> => {
        finished = true;
        cursor = undefined;
        return { done: true, value: undefined };
      };
      const next = (): Promise<IteratorResult<RecordedEvent>> => {
        if (finished) return Promise.resolve({ done: true, value: undefined });
        try {
          ensureOpen();
          cursor ??= begin();
          const found = cursor();
          if (found === pause) return yieldToEventLoop().then(next);
          if (found === undefined) return Promise.resolve(finish());
          return Promise.resolve({ done: false, value: present(found) });
        } catch (error) {
          finish();
          return Promise.reject(error);
        }
      };
      return { next, return: () => Promise.resolve(finish()) };
    },
  });

  const readStream = (
    streamId: string,
    readOptions: ReadStreamOptions = {},
  ): AsyncIterable<RecordedEvent> => {
    ensureOpen();
    parseStreamId(streamId);
    const maxCount = parseMaxCount(readOptions.maxCount);
    const backwards = readOptions.direction === 'backwards';
    return iterableOf(() => {
      const stream = streams.get(streamId);
      if (!stream || stream.length === 0) throw new StreamNotFoundError(streamId);
      // Reading stops at the end the stream had when the read began: one consistent snapshot.
      const end = stream.length;
      const from = readOptions.fromRevision;
      let index: number;
      if (backwards) {
        index = from === undefined || from >= BigInt(end - 1) ? end - 1 : Number(from);
      } else {
        index = from === undefined || from <= 0n ? 0 : from >= BigInt(end) ? end : Number(from);
      }
      const step = backwards ? -1 : 1;
      let count = 0;
      let sincePause = 0;
      return () => {
        if (count >= maxCount || index < 0 || index >= end) return undefined;
        if (sincePause === chunkSize) {
          sincePause = 0;
          if (turnIsDue()) return pause;
        }
        const stored = stream[index];
        index += step;
        count += 1;
        sincePause += 1;
        return stored;
      };
    });
  };

  const startIndexAfter = (after: bigint | undefined): number => {
    if (after === undefined || after <= 0n) return 0;
    return after >= BigInt(log.length) ? log.length : Number(after);
  };

  /** What readAll and readAllPages read: a cursor over the log, made when reading starts. */
  const logCursor = (readOptions: ReadAllOptions): (() => Cursor) => {
    ensureOpen();
    const maxCount = parseMaxCount(readOptions.maxCount);
    const matches = compileFilter(readOptions.filter, registry.types);
    return () => {
      // Reading stops at the end the log had when the read began.
      const end = log.length;
      let index = startIndexAfter(readOptions.after);
      let count = 0;
      // Events scanned, matching or not: a filter that matches little still lets the loop run.
      let sincePause = 0;
      return () => {
        while (index < end && count < maxCount) {
          if (sincePause === chunkSize) {
            sincePause = 0;
            if (turnIsDue()) return pause;
          }
          const stored = log[index] as StoredEvent;
          index += 1;
          sincePause += 1;
          if (matches === undefined || matches(stored.recorded)) {
            count += 1;
            return stored;
          }
        }
        return undefined;
      };
    };
  };

  const readAll = (readOptions: ReadAllOptions = {}): AsyncIterable<RecordedEvent> =>
    iterableOf(logCursor(readOptions));

  /** The events readAll hands out, each run between two pauses as one page. */
  const readAllPages = (readOptions: ReadAllOptions = {}): AsyncIterable<readonly RecordedEvent[]> => {
    const begin = logCursor(readOptions);
    return {
      async *[Symbol.asyncIterator]() {
        ensureOpen();
        const cursor = begin();
        for (;;) {
          const page: RecordedEvent[] = [];
          let found = cursor();
          try {
            while (found !== undefined && found !== pause) {
              page.push(present(found));
              found = cursor();
            }
          } catch (error) {
            // An event that does not read back: the ones before it first, then its error.
            if (page.length > 0) yield page;
            throw error;
          }
          if (page.length > 0) yield page;
          if (found === undefined) return;
          await yieldToEventLoop();
          ensureOpen();
        }
      },
    };
  };

  const subscribe = (subscribeOptions: SubscribeOptions = {}): Observable<RecordedEvent> => {
    ensureOpen();
    const { after, filter } = subscribeOptions;
    if (after !== undefined && after !== 'end' && typeof after !== 'bigint') {
      throw new TypeError(`subscribe's "after" must be a bigint position or "end"; got ${String(after)}.`);
    }
    return new Observable<RecordedEvent>((subscriber) => {
      if (closed) {
        subscriber.error(closedError());
        return;
      }
      // Everything at or before this position has been delivered (or skipped by the filter).
      let delivered = after === 'end' ? BigInt(log.length) : after !== undefined && after > 0n ? after : 0n;
      let stopped = false;
      const queue: StoredEvent[] = [];
      let draining = false;

      const deliver = (stored: StoredEvent): void => {
        if (stopped || subscriber.closed || stored.recorded.position <= delivered) return;
        delivered = stored.recorded.position;
        if (!matchesFilter(stored.recorded, filter)) return;
        let event: RecordedEvent;
        try {
          event = present(stored);
        } catch (error) {
          stop();
          subscriber.error(error);
          return;
        }
        subscriber.next(event);
      };

      // A subscriber's handler may append; queueing keeps delivery in order when it does.
      const listener = (batch: readonly StoredEvent[]): void => {
        queue.push(...batch);
        if (draining) return;
        draining = true;
        try {
          for (let next = queue.shift(); next && !stopped; next = queue.shift()) deliver(next);
        } finally {
          queue.length = 0;
          draining = false;
        }
      };

      const complete = (): void => {
        stop();
        subscriber.complete();
      };
      const stop = (): void => {
        stopped = true;
        listeners.delete(listener);
        openSubscriptions.delete(complete);
      };
      openSubscriptions.add(complete);

      const catchUp = async (): Promise<void> => {
        while (!stopped) {
          const end = Math.min(log.length, Number(delivered) + chunkSize);
          for (let index = Number(delivered); index < end && !stopped; index += 1) {
            const stored = log[index];
            if (stored) deliver(stored);
          }
          if (stopped) return;
          // Caught up: start listening in the same tick, so no append can fall between the two.
          if (Number(delivered) >= log.length) {
            listeners.add(listener);
            return;
          }
          if (turnIsDue()) await yieldToEventLoop();
        }
      };
      catchUp().catch((error: unknown) => {
        stop();
        subscriber.error(error);
      });

      return stop;
    });
  };

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    for (const complete of [...openSubscriptions]) complete();
    listeners.clear();
  };

  return { append, readStream, readAll, readAllPages, subscribe, close };
};
