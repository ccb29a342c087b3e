import { resolve as resolvePath } from 'node:path';
import type {
  AppendOptions,
  AppendResult,
  EventFilter,
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
  expectedRevisionFits,
  IdempotencyError,
  isConcurrencyError,
  isIdempotencyError,
  parseExpectedRevision,
  parseMaxCount,
  parseStreamId,
  resendOf,
  type StoredPlace,
  StreamNotFoundError,
} from '@lantern/core';
import type Database from 'better-sqlite3';
import { Observable } from 'rxjs';
import { openDatabase } from './database.js';
import { createReadValidation } from './readValidation.js';
import { closedError, readOnlyError, sqliteCode, translateSqliteError } from './sqliteErrors.js';
import {
  createRowReader,
  type EventRow,
  eventColumns,
  rowMatches,
  rowPosition,
  rowRevision,
  rowStreamId,
  rowType,
} from './storedEvents.js';
import { createStreamCache } from './streamCache.js';

export interface SqliteEventStoreOptions {
  /**
   * The database file, created with its schema when it does not exist; relative paths resolve
   * against the current working directory. Its directory must exist. SQLite keeps `-wal` and
   * `-shm` files beside it. Required.
   */
  path: string;
  /** The event types the store accepts, validated on append and upcast on read. Default: `defaultEventRegistry`. */
  registry?: EventRegistry;
  /** The clock that stamps `recordedAt`. Default: `() => new Date()`. */
  now?: () => Date;
  /**
   * How often, in milliseconds, live subscriptions look for events that another process (or
   * another store on the same file) committed. Each look is one `PRAGMA data_version`; this
   * store's own appends reach its subscribers at once. Default: `20`.
   */
  pollIntervalMs?: number;
  /**
   * How long, in milliseconds, an append (or creating the file) waits for another process's
   * write lock before it fails with a StoreError. The wait blocks the thread, as every
   * better-sqlite3 call does. Default: `5000`.
   */
  busyTimeoutMs?: number;
  /**
   * Open the file for reading only: reads and subscriptions work, appends throw a StoreError, and
   * the file is never written. A file this user cannot write is opened read-only without asking.
   * Default: `false`.
   */
  readonly?: boolean;
  /**
   * How stored events are validated on read. `checksum`: a row whose checksum (written on append)
   * proves it holds text that the reader's own schema, at the current version, already accepted
   * unchanged is returned without running the schema again; every other row goes through
   * `registry.readRecorded`. `full`: every row goes through `registry.readRecorded`. Both refuse
   * rows that are corrupt or foreign. Default: `checksum`.
   */
  readValidation?: 'checksum' | 'full';
  /**
   * How many events of recently read streams to keep in memory, validated, so that reading a
   * stream again (as a command handler does before every command) reads only its new events.
   * Streams longer than this are never cached; `0` turns the cache off. Default: `10000`.
   */
  streamCacheEvents?: number;
}

/** Rows per read: a reader or a catching-up subscriber never holds more than this in memory. */
const chunkSize = 512;
/**
 * Positions one filtered query may scan: a filter that matches little of a long log is read a
 * window at a time, letting the event loop run in between.
 */
const scanWindow = 65_536;

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const checkAmount = (name: string, unit: string, value: number | undefined, fallback: number): number => {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`${name} must be a number of ${unit}, 0 or more; got ${String(value)}.`);
  }
  return value;
};

/** An event ready for its row: validated, serialised and checksummed before the transaction. */
interface PreparedEvent {
  id: string;
  type: string;
  schemaVersion: number;
  data: string;
  metadata: string;
  checksum: number | null;
}

/** One caller's append, waiting for the next group commit. */
interface PendingAppend {
  streamId: string;
  events: PreparedEvent[];
  expected: ExpectedRevision;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

/**
 * What live subscribers are handed: a committed row, parsed at most once for all of them, or a
 * fault that ends every live subscription (the log could not be read).
 */
type LiveItem = { row: EventRow; event?: RecordedEvent; error?: unknown } | { fault: unknown };

type Listener = (items: readonly LiveItem[]) => void;

/**
 * An event store in one SQLite file: durable on commit (WAL, `synchronous = FULL`), one global
 * order, readable and subscribable from other processes while this one writes. Appends made at
 * the same time are committed together — one transaction, one fsync — each batch still checked
 * and written (or refused) on its own. Every event read is validated (see `readValidation`).
 */
export const createSqliteEventStore = (options: SqliteEventStoreOptions): EventStore => {
  if (typeof options?.path !== 'string' || options.path === '') {
    throw new TypeError('createSqliteEventStore needs a path, e.g. { path: "./data/lantern.db" }.');
  }
  const file = resolvePath(options.path);
  const registry = options.registry ?? defaultEventRegistry;
  const now = options.now ?? (() => new Date());
  const pollIntervalMs = checkAmount('pollIntervalMs', 'milliseconds', options.pollIntervalMs, 20);
  const busyTimeoutMs = checkAmount('busyTimeoutMs', 'milliseconds', options.busyTimeoutMs, 5000);
  const cacheEvents = checkAmount('streamCacheEvents', 'events', options.streamCacheEvents, 10_000);
  const validation = createReadValidation(registry, (options.readValidation ?? 'checksum') === 'checksum');
  const readRow = createRowReader(file, registry, validation);
  const cache = cacheEvents > 0 ? createStreamCache(cacheEvents) : undefined;

  const { db, readonly, readonlyReason } = openDatabase({
    path: file,
    readonly: options.readonly ?? false,
    busyTimeoutMs,
  });

  const fail = (doing: string, error: unknown): never => {
    throw translateSqliteError(file, doing, error, busyTimeoutMs);
  };

  const prepare = (sql: string): Database.Statement => {
    try {
      return db.prepare(sql);
    } catch (error) {
      return fail('preparing a query', error);
    }
  };

  const prepareOrClose = <T>(prepareAll: () => T): T => {
    try {
      return prepareAll();
    } catch (error) {
      db.close();
      throw error;
    }
  };

  const statements = prepareOrClose(() => ({
    maxPosition: prepare('SELECT coalesce(max(position), 0) FROM events').pluck(),
    dataVersion: prepare('PRAGMA data_version').pluck(),
    lastRevision: prepare('SELECT max(revision) FROM events WHERE stream_id = ?').pluck(),
    idAt: prepare('SELECT position, id FROM events WHERE stream_id = ? AND revision = ?').raw(),
    byId: prepare('SELECT position, stream_id, revision FROM events WHERE id = ?').raw(),
    streamForwards: prepare(
      `SELECT ${eventColumns} FROM events WHERE stream_id = ? AND revision >= ? AND revision <= ? ORDER BY revision LIMIT ?`,
    ).raw(),
    streamBackwards: prepare(
      `SELECT ${eventColumns} FROM events WHERE stream_id = ? AND revision <= ? ORDER BY revision DESC LIMIT ?`,
    ).raw(),
  }));

  /** Statements only a writer needs; none are prepared on a read-only file. */
  const writer = readonly
    ? undefined
    : prepareOrClose(() => ({
        insert: prepare(
          'INSERT INTO events (stream_id, revision, id, type, schema_version, data, metadata, recorded_at, checksum) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        ),
        begin: prepare('BEGIN IMMEDIATE'),
        commit: prepare('COMMIT'),
        rollback: prepare('ROLLBACK'),
        savepoint: prepare('SAVEPOINT batch'),
        release: prepare('RELEASE batch'),
        rollbackToSavepoint: prepare('ROLLBACK TO batch'),
      }));

  /** Queries of the log after a position, one per filter shape (how many types, how many prefixes). */
  const logQueries = new Map<string, Database.Statement>();
  const logQuery = (filter: EventFilter | undefined): { statement: Database.Statement; params: string[] } => {
    const types = filter?.eventTypes;
    const prefixes = filter?.streamPrefixes;
    const key = `${types?.length ?? '-'}/${prefixes?.length ?? '-'}`;
    let statement = logQueries.get(key);
    if (!statement) {
      const clauses = ['position > ?', 'position <= ?'];
      if (types) clauses.push(types.length === 0 ? '0' : `type IN (${types.map(() => '?').join(', ')})`);
      if (prefixes) {
        // substr and length count characters, so a prefix matches exactly as startsWith does.
        clauses.push(
          prefixes.length === 0
            ? '0'
            : `(${prefixes.map(() => 'substr(stream_id, 1, length(?)) = ?').join(' OR ')})`,
        );
      }
      statement = prepare(
        `SELECT ${eventColumns} FROM events WHERE ${clauses.join(' AND ')} ORDER BY position LIMIT ?`,
      ).raw();
      logQueries.set(key, statement);
    }
    return { statement, params: [...(types ?? []), ...(prefixes ?? []).flatMap((p) => [p, p])] };
  };

  /** Rows of the log in (after, end], matching the filter, at most `limit`. */
  const readLog = (
    after: number,
    end: number,
    filter: EventFilter | undefined,
    limit: number,
  ): EventRow[] => {
    const { statement, params } = logQuery(filter);
    try {
      return statement.all(after, end, ...params, limit) as EventRow[];
    } catch (error) {
      return fail('reading the log', error);
    }
  };

  const maxPosition = (): number => {
    try {
      return Number(statements.maxPosition.get());
    } catch (error) {
      return fail('reading the log', error);
    }
  };

  const lastRevisionOf = (streamId: string): bigint | 'noStream' => {
    const revision = statements.lastRevision.get(streamId) as number | null;
    return revision === null ? 'noStream' : BigInt(revision);
  };

  let closed = false;
  const ensureOpen = (): void => {
    if (closed) throw closedError(file);
  };

  // ---- Appending: group commit --------------------------------------------------------------

  let pending: PendingAppend[] = [];
  let flushScheduled = false;

  type Found = readonly [position: number, streamId: string, revision: number];
  const storedAt = (id: string): Found | undefined => statements.byId.get(id) as Found | undefined;

  /** The ids of a batch stored already (compared without regard to case). */
  const storedIdsOf = (events: readonly PreparedEvent[]): string[] =>
    events.filter((event) => storedAt(event.id) !== undefined).map((event) => event.id);

  const mixedIds = (streamId: string, storedIds: readonly string[]): IdempotencyError =>
    new IdempotencyError(streamId, storedIds, 'some of these ids are stored already and others are not');

  /**
   * A batch whose ids are all stored already is a retry when they sit consecutively, in batch
   * order, in this stream and the expected revision fits where they were written (as in memory).
   * Only the first id is looked up on the way in: a batch whose first id is new is no retry, and
   * if a later id of it is stored the unique index refuses the insert (see `batchRefusal`).
   */
  const retryResult = (append: PendingAppend): AppendResult | undefined => {
    const { streamId, events, expected } = append;
    const head = events[0];
    if (!head || storedAt(head.id) === undefined) return undefined;
    const places = events.map((event): StoredPlace | undefined => {
      const found = storedAt(event.id);
      return found && { position: BigInt(found[0]), streamId: found[1], revision: BigInt(found[2]) };
    });
    const last = resendOf(
      streamId,
      events.map((event) => event.id),
      places,
      expected,
      () => lastRevisionOf(streamId),
    );
    if (last?.position === undefined) return undefined;
    return { nextExpectedRevision: last.revision, position: last.position, written: false };
  };

  /** Checks and writes one batch inside the group's transaction; throws a Lantern error to refuse it. */
  const writeBatch = (
    insert: Database.Statement,
    append: PendingAppend,
    written: EventRow[],
  ): AppendResult => {
    const retry = retryResult(append);
    if (retry) return retry;
    const { streamId, events, expected } = append;
    const actual = lastRevisionOf(streamId);
    if (!expectedRevisionFits(expected, actual)) {
      // Reusing stored ids is refused before the revision is looked at, as in memory.
      const storedIds = storedIdsOf(events);
      if (storedIds.length > 0) throw mixedIds(streamId, storedIds);
      throw new ConcurrencyError(streamId, expected, actual);
    }
    const recordedAt = now().toISOString();
    const firstRevision = actual === 'noStream' ? 0 : Number(actual) + 1;
    let position = 0;
    events.forEach((event, i) => {
      const { id, type, schemaVersion, data, metadata, checksum } = event;
      // The stored row without its position, which the insert assigns.
      const columns = [
        streamId,
        firstRevision + i,
        id,
        type,
        schemaVersion,
        data,
        metadata,
        recordedAt,
        checksum,
      ] as const;
      position = Number(insert.run(...columns).lastInsertRowid);
      written.push([position, ...columns]);
    });
    return {
      nextExpectedRevision: BigInt(firstRevision + events.length - 1),
      position: BigInt(position),
      written: true,
    };
  };

  /** True when an error thrown while writing one batch refuses that batch and no other. */
  const refusesBatch = (error: unknown): boolean =>
    isConcurrencyError(error) ||
    isIdempotencyError(error) ||
    sqliteCode(error)?.startsWith('SQLITE_CONSTRAINT') === true;

  /**
   * The error that refuses one batch, called once its savepoint is rolled back. A constraint
   * broken by a batch whose first id is new means another of its ids is stored already (the batch
   * mixes stored and new ids), or two of its ids differ only in case: ids are unique without
   * regard to case, so such twins break the index.
   */
  const batchRefusal = (append: PendingAppend, error: unknown): unknown => {
    if (isConcurrencyError(error) || isIdempotencyError(error)) return error;
    const storedIds = storedIdsOf(append.events);
    if (storedIds.length > 0) return mixedIds(append.streamId, storedIds);
    return new IdempotencyError(
      append.streamId,
      append.events.map((event) => event.id),
      'two of its ids differ only in letter case, and ids compare without regard to case',
    );
  };

  /**
   * Commits every append waiting now in one transaction. Each batch runs in its own savepoint and
   * is checked against the log as the batches before it left it, so a refused batch
   * (ConcurrencyError, IdempotencyError) writes nothing and leaves the others untouched. Callers
   * hear back only after COMMIT returned, i.e. once the WAL is synced to disk.
   */
  const flush = (): void => {
    flushScheduled = false;
    const group = pending;
    pending = [];
    if (group.length === 0 || !writer) return;
    const outcomes: ({ ok: AppendResult } | { error: unknown })[] = [];
    const written: EventRow[] = [];
    let positionBefore = 0;
    try {
      writer.begin.run();
      try {
        positionBefore = Number(statements.maxPosition.get());
        for (const append of group) {
          writer.savepoint.run();
          const mark = written.length;
          try {
            outcomes.push({ ok: writeBatch(writer.insert, append, written) });
            writer.release.run();
          } catch (error) {
            // A refusal is the batch's own; anything else (disk, lock) fails the whole group.
            if (!refusesBatch(error)) throw error;
            writer.rollbackToSavepoint.run();
            writer.release.run();
            written.length = mark;
            outcomes.push({ error: batchRefusal(append, error) });
          }
        }
        writer.commit.run();
      } catch (error) {
        if (db.inTransaction) writer.rollback.run();
        throw error;
      }
    } catch (error) {
      const failure = translateSqliteError(file, 'appending', error, busyTimeoutMs);
      for (const append of group) append.reject(failure);
      return;
    }
    if (written.length > 0) announce(written, positionBefore);
    group.forEach((append, i) => {
      const outcome = outcomes[i];
      if (outcome && 'ok' in outcome) append.resolve(outcome.ok);
      else append.reject(outcome?.error);
    });
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
    if (readonly) throw readOnlyError(file, readonlyReason ?? 'the store was opened read-only');
    const valid = registry.validateBatch(events);
    // Serialised and checksummed here, so the transaction holds the write lock only to write.
    const prepared = valid.map((event): PreparedEvent => {
      const data = JSON.stringify(event.data);
      const metadata = JSON.stringify(event.metadata);
      const { type } = event;
      const version = event.metadata.schemaVersion;
      return {
        id: event.id,
        type,
        schemaVersion: version,
        data,
        metadata,
        checksum: validation.checksumFor(type, version, metadata, data, event.metadata, event.data),
      };
    });
    return new Promise<AppendResult>((resolve, reject) => {
      pending.push({ streamId, events: prepared, expected, resolve, reject });
      if (!flushScheduled) {
        flushScheduled = true;
        // Every append made before the event loop turns joins this commit.
        setImmediate(flush);
      }
    });
  };

  // ---- Reading ------------------------------------------------------------------------------

  /** Rows of a stream from revision `from` towards `end` (forwards) or 0 (backwards), at most `limit`. */
  const readStreamRows = (
    streamId: string,
    from: number,
    end: number,
    backwards: boolean,
    limit: number,
  ): EventRow[] => {
    try {
      return (
        backwards
          ? statements.streamBackwards.all(streamId, from, limit)
          : statements.streamForwards.all(streamId, from, end, limit)
      ) as EventRow[];
    } catch (error) {
      return fail('reading a stream', error);
    }
  };

  /**
   * Stored rows are never rewritten, but a file can be restored from elsewhere under an open
   * store: the stream's last cached event must still be the one stored at its revision.
   */
  const stillStored = (streamId: string, event: RecordedEvent, end: number): boolean => {
    if (event.revision > BigInt(end)) return false;
    const row = statements.idAt.get(streamId, event.revision) as [number, string] | undefined;
    return row !== undefined && row[0] === Number(event.position) && row[1] === event.id;
  };

  /**
   * The stream's events up to revision `end`, from the cache, reading (and caching) only those
   * appended since it was last read; undefined when the stream is not cached (too long, or a row
   * does not read back: the caller then reads row by row and meets the error where it lies).
   */
  const cachedStream = async (streamId: string, end: number): Promise<RecordedEvent[] | undefined> => {
    if (!cache) return undefined;
    let events = cache.get(streamId);
    const last = events?.at(-1);
    if (last && !stillStored(streamId, last, end)) {
      cache.drop(streamId);
      events = undefined;
    }
    events ??= cache.start(streamId, end + 1);
    if (!events) return undefined;
    while (events.length <= end) {
      const from = events.length;
      const rows = readStreamRows(streamId, from, end, false, chunkSize);
      if (rows.length === 0) break;
      let fresh: RecordedEvent[];
      try {
        // Shared by every reader of the stream: frozen, so none can change it for another.
        fresh = rows.map((row) => deepFreeze(readRow(row)));
      } catch {
        cache.drop(streamId);
        return undefined;
      }
      events.push(...fresh);
      cache.grew(streamId, events, fresh.length);
      if (events.length <= end) await yieldToEventLoop();
      ensureOpen();
    }
    return events.length > end ? events : undefined;
  };

  const readStream = (
    streamId: string,
    readOptions: ReadStreamOptions = {},
  ): AsyncIterable<RecordedEvent> => {
    ensureOpen();
    parseStreamId(streamId);
    const maxCount = parseMaxCount(readOptions.maxCount);
    const backwards = readOptions.direction === 'backwards';
    return {
      async *[Symbol.asyncIterator]() {
        ensureOpen();
        let last: bigint | 'noStream';
        try {
          last = lastRevisionOf(streamId);
        } catch (error) {
          return fail('reading a stream', error);
        }
        if (last === 'noStream') throw new StreamNotFoundError(streamId);
        // Reading stops at the end the stream had when the read began: one consistent snapshot.
        const end = Number(last);
        const from = readOptions.fromRevision;
        let next: number;
        if (backwards) next = from === undefined || from >= last ? end : Number(from);
        else next = from === undefined || from <= 0n ? 0 : from > last ? end + 1 : Number(from);
        let count = 0;

        const cached = await cachedStream(streamId, end);
        if (cached) {
          for (; count < maxCount && next >= 0 && next <= end; next += backwards ? -1 : 1) {
            yield cached[next] as RecordedEvent;
            count += 1;
            ensureOpen();
          }
          return;
        }

        while (count < maxCount && next >= 0 && next <= end) {
          const limit = Math.min(chunkSize, maxCount - count);
          const rows = readStreamRows(streamId, next, end, backwards, limit);
          for (const row of rows) {
            yield readRow(row);
            count += 1;
            ensureOpen();
          }
          const lastRow = rows.at(-1);
          if (!lastRow || rows.length < limit) return;
          next = rowRevision(lastRow) + (backwards ? -1 : 1);
          await yieldToEventLoop();
          ensureOpen();
        }
      },
    };
  };

  const readAll = (readOptions: ReadAllOptions = {}): AsyncIterable<RecordedEvent> => {
    ensureOpen();
    const maxCount = parseMaxCount(readOptions.maxCount);
    const { after, filter } = readOptions;
    return {
      async *[Symbol.asyncIterator]() {
        ensureOpen();
        // Reading stops at the end the log had when the read began.
        const end = maxPosition();
        let cursor = after === undefined || after <= 0n ? 0 : after >= BigInt(end) ? end : Number(after);
        let count = 0;
        while (count < maxCount && cursor < end) {
          const limit = Math.min(chunkSize, maxCount - count);
          const upTo = Math.min(end, cursor + scanWindow);
          const rows = readLog(cursor, upTo, filter, limit);
          for (const row of rows) {
            yield readRow(row);
            count += 1;
            ensureOpen();
          }
          const lastRow = rows.at(-1);
          cursor = lastRow && rows.length === limit ? rowPosition(lastRow) : upTo;
          if (count < maxCount && cursor < end) {
            await yieldToEventLoop();
            ensureOpen();
          }
        }
      },
    };
  };

  // ---- Subscriptions ------------------------------------------------------------------------

  /** Live subscribers: each gets every row committed after it went live, in position order. */
  const listeners = new Set<Listener>();
  /** Every open subscription, catching up or live, so close() can complete it. */
  const openSubscriptions = new Set<() => void>();
  /** Live subscribers have been handed every row up to here. Meaningless while there are none. */
  let announcedUpTo = 0;
  let lastDataVersion: unknown;
  let tailing = false;
  let tailAgain = false;
  let pollTimer: NodeJS.Timeout | undefined;

  const dispatch = (items: readonly LiveItem[]): void => {
    for (const listener of [...listeners]) listener(items);
  };

  /**
   * Hands the rows just committed here to live subscribers — at once, without reading them back,
   * when nothing else was committed since the last rows they got; otherwise from the log.
   */
  const announce = (rows: readonly EventRow[], positionBefore: number): void => {
    const lastRow = rows.at(-1);
    const lastPosition = lastRow ? rowPosition(lastRow) : positionBefore;
    if (listeners.size === 0) {
      announcedUpTo = lastPosition;
      return;
    }
    if (!tailing && positionBefore === announcedUpTo) {
      announcedUpTo = lastPosition;
      dispatch(rows.map((row) => ({ row })));
      return;
    }
    void tail();
  };

  /** Reads what anyone committed after `announcedUpTo` and hands it to live subscribers, in chunks. */
  const tail = async (): Promise<void> => {
    if (tailing) {
      tailAgain = true;
      return;
    }
    tailing = true;
    try {
      do {
        tailAgain = false;
        while (!closed && listeners.size > 0) {
          const end = maxPosition();
          if (end <= announcedUpTo) break;
          const rows = readLog(announcedUpTo, end, undefined, chunkSize);
          const lastRow = rows.at(-1);
          if (!lastRow) break;
          announcedUpTo = rowPosition(lastRow);
          dispatch(rows.map((row) => ({ row })));
          await yieldToEventLoop();
        }
      } while (tailAgain && !closed);
    } catch (error) {
      // The log cannot be read (a lock, the disk): every live subscription ends with the error.
      dispatch([{ fault: error }]);
    } finally {
      tailing = false;
    }
  };

  /** Runs while anyone listens: one `PRAGMA data_version`, which changes when another connection commits. */
  const poll = (): void => {
    if (closed || listeners.size === 0) return;
    let version: unknown;
    try {
      version = statements.dataVersion.get();
    } catch (error) {
      dispatch([{ fault: translateSqliteError(file, 'watching for new events', error, busyTimeoutMs) }]);
      return;
    }
    if (version !== lastDataVersion) {
      lastDataVersion = version;
      void tail();
    }
  };

  /** Makes a caught-up subscriber live; `end` is the log's last position it read up to. */
  const startListening = (listener: Listener, end: number): void => {
    if (listeners.size === 0) {
      announcedUpTo = Math.max(announcedUpTo, end);
      lastDataVersion = statements.dataVersion.get();
      pollTimer = setInterval(poll, pollIntervalMs);
    }
    listeners.add(listener);
  };

  const stopListening = (listener: Listener): void => {
    if (!listeners.delete(listener) || listeners.size > 0) return;
    if (pollTimer) clearInterval(pollTimer);
    pollTimer = undefined;
  };

  const subscribe = (subscribeOptions: SubscribeOptions = {}): Observable<RecordedEvent> => {
    ensureOpen();
    const { after, filter } = subscribeOptions;
    if (after !== undefined && after !== 'end' && typeof after !== 'bigint') {
      throw new TypeError(`subscribe's "after" must be a bigint position or "end"; got ${String(after)}.`);
    }
    return new Observable<RecordedEvent>((subscriber) => {
      if (closed) {
        subscriber.error(closedError(file));
        return;
      }
      let stopped = false;
      const queue: LiveItem[] = [];
      let draining = false;
      // Everything at or before this position has been delivered (or skipped by the filter).
      let delivered = 0;

      const fault = (error: unknown): void => {
        stop();
        subscriber.error(error);
      };

      /** Delivers one row unless already delivered or filtered out; false when the subscription ended. */
      const deliver = (row: EventRow, present: () => RecordedEvent): boolean => {
        if (stopped || subscriber.closed) return false;
        if (rowPosition(row) <= delivered) return true;
        delivered = rowPosition(row);
        if (!rowMatches(filter, rowType(row), rowStreamId(row))) return true;
        let event: RecordedEvent;
        try {
          event = present();
        } catch (error) {
          fault(error);
          return false;
        }
        subscriber.next(event);
        return !stopped;
      };

      const deliverLive = (item: LiveItem): boolean => {
        if ('fault' in item) {
          fault(item.fault);
          return false;
        }
        return deliver(item.row, () => {
          if (item.event === undefined && item.error === undefined) {
            try {
              // Shared by every live subscriber of this store: frozen, so none can change it for another.
              item.event = deepFreeze(readRow(item.row));
            } catch (error) {
              item.error = error;
            }
          }
          if (item.error !== undefined) throw item.error;
          return item.event as RecordedEvent;
        });
      };

      // A subscriber's handler may append; queueing keeps delivery in order when it does.
      const listener: Listener = (items) => {
        queue.push(...items);
        if (draining) return;
        draining = true;
        try {
          for (let next = queue.shift(); next && deliverLive(next); next = queue.shift());
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
        stopListening(listener);
        openSubscriptions.delete(complete);
      };
      openSubscriptions.add(complete);

      const catchUp = async (): Promise<void> => {
        delivered = after === 'end' ? maxPosition() : after !== undefined && after > 0n ? Number(after) : 0;
        while (!stopped) {
          const end = maxPosition();
          if (end <= delivered) {
            // Caught up: go live in the same tick, so no commit can fall between the two.
            startListening(listener, end);
            return;
          }
          const upTo = Math.min(end, delivered + scanWindow);
          const rows = readLog(delivered, upTo, filter, chunkSize);
          for (const row of rows) {
            // Read for this subscriber alone: a fresh object, nobody else's to change.
            if (!deliver(row, () => readRow(row))) return;
          }
          // Every row up to the window's end was read (or filtered out) unless the chunk was full.
          if (rows.length < chunkSize) delivered = Math.max(delivered, upTo);
          await yieldToEventLoop();
        }
      };
      catchUp().catch(fault);

      return stop;
    });
  };

  // ---- Closing ------------------------------------------------------------------------------
  const close = async (): Promise<void> => {
    if (closed) return;
    // Appends already accepted are committed before the file closes.
    if (pending.length > 0) flush();
    closed = true;
    for (const complete of [...openSubscriptions]) complete();
    listeners.clear();
    if (pollTimer) clearInterval(pollTimer);
    pollTimer = undefined;
    cache?.clear();
    db.close();
  };

  return { append, readStream, readAll, subscribe, close };
};
