import type {
  AppendOptions,
  AppendResult,
  EventFilter,
  EventRegistry,
  EventStore,
  EventTexts,
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
import { type Chunk, chunkedEvents, chunkedPages } from './chunkedEvents.js';
import { openDatabase, storeFileOf } from './database.js';
import { createReadValidation, joinTexts } from './readValidation.js';
import { closedError, readOnlyError, sqliteCode, translateSqliteError } from './sqliteErrors.js';
import {
  createRowReader,
  type EventRow,
  logColumns,
  plainColumns,
  type RowAt,
  rowMatches,
  rowPosition,
  rowRevision,
  rowStreamId,
  rowType,
  streamColumns,
  type TextsAt,
  unpackRow,
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
   * A stream is cached from its second read, when that read comes before the cache has turned
   * over (so reading many streams round after round does not cache each only to evict it).
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

/** Insert statements of 1, 2, 4 … 32 rows: a batch of 100 goes in four. */
const insertSizes = 6;
/** Values bound per row by the inserts. */
const columnsPerRow = 9;
/** Streams whose last revision the writer keeps in memory (see `heads`). */
const headsLimit = 16_384;

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
  const file = storeFileOf('createSqliteEventStore', options);
  const registry = options.registry ?? defaultEventRegistry;
  const now = options.now ?? (() => new Date());
  const pollIntervalMs = checkAmount('pollIntervalMs', 'milliseconds', options.pollIntervalMs, 20);
  const busyTimeoutMs = checkAmount('busyTimeoutMs', 'milliseconds', options.busyTimeoutMs, 5000);
  const cacheEvents = checkAmount('streamCacheEvents', 'events', options.streamCacheEvents, 10_000);
  const validation = createReadValidation(registry, (options.readValidation ?? 'checksum') === 'checksum');
  // Statements are prepared below, once the file is open; a row is read only after that.
  const rowAt: RowAt = (position) => statements.rowAt.get(position) as ReturnType<RowAt>;
  const textsAt: TextsAt = (position) => {
    const columns = rowAt(position);
    return columns && { metadata: columns[6], data: columns[7] };
  };
  const readRow = createRowReader(file, registry, validation, textsAt);
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
      `SELECT ${streamColumns} FROM events WHERE stream_id = ? AND revision >= ? AND revision <= ? ORDER BY revision LIMIT ?`,
    ).pluck(),
    streamBackwards: prepare(
      `SELECT ${streamColumns} FROM events WHERE stream_id = ? AND revision <= ? ORDER BY revision DESC LIMIT ?`,
    ).pluck(),
    rowAt: prepare(`SELECT ${plainColumns} FROM events WHERE position = ?`).raw(),
  }));

  /** Statements only a writer needs; none are prepared on a read-only file. */
  const writer = readonly
    ? undefined
    : prepareOrClose(() => ({
        /** `inserts[k]` inserts 2^k rows at once (see `insertQueued`). */
        inserts: Array.from({ length: insertSizes }, (_, k) =>
          prepare(
            `INSERT INTO events (stream_id, revision, id, type, schema_version, data, metadata, recorded_at, checksum) VALUES ${Array.from({ length: 2 ** k }, () => '(?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
          ),
        ),
        begin: prepare('BEGIN IMMEDIATE'),
        commit: prepare('COMMIT'),
        rollback: prepare('ROLLBACK'),
        savepoint: prepare('SAVEPOINT batch'),
        release: prepare('RELEASE batch'),
        rollbackToSavepoint: prepare('ROLLBACK TO batch'),
      }));

  /**
   * A filter naming every type the registry knows (a projection over everything, say) is checked
   * here rather than in SQL: every row matches it but a foreign one, and SQLite's `type IN (…)`
   * of two dozen names costs more per row than the whole check in JavaScript.
   */
  const registered = new Set(registry.types);
  const namesEveryType = (types: readonly string[] | undefined): boolean => {
    if (!types || types.length < registered.size) return false;
    const named = new Set(types);
    for (const type of registered) if (!named.has(type)) return false;
    return true;
  };

  /** Queries of the log after a position, one per filter shape (how many types, how many prefixes). */
  const logQueries = new Map<string, Database.Statement>();
  const logQuery = (filter: EventFilter | undefined): { statement: Database.Statement; params: string[] } => {
    const types = namesEveryType(filter?.eventTypes) ? undefined : filter?.eventTypes;
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
        `SELECT ${logColumns} FROM events WHERE ${clauses.join(' AND ')} ORDER BY position LIMIT ?`,
      ).pluck();
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
      return (statement.all(after, end, ...params, limit) as string[]).map((text) =>
        unpackRow(text, undefined, rowAt),
      );
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

  /**
   * Each stream's last revision (-1: none) as this connection's own transactions left it, so that
   * checking an expected revision needs no query. True only while no other connection commits:
   * every transaction first compares `PRAGMA data_version`, which changes when another connection
   * commits, with the value the previous one saw, and forgets every head if it changed. A
   * transaction that does not commit forgets them too. The oldest streams are forgotten first.
   */
  const heads = new Map<string, number>();
  let headsDataVersion: unknown;

  const setHead = (streamId: string, revision: number): void => {
    if (heads.size >= headsLimit && !heads.has(streamId)) {
      for (const oldest of heads.keys()) {
        heads.delete(oldest);
        break;
      }
    }
    heads.set(streamId, revision);
  };

  const headOf = (streamId: string): number => {
    let head = heads.get(streamId);
    if (head === undefined) {
      const revision = statements.lastRevision.get(streamId) as number | null;
      head = revision ?? -1;
      setHead(streamId, head);
    }
    return head;
  };

  const revisionOf = (head: number): bigint | 'noStream' => (head < 0 ? 'noStream' : BigInt(head));

  type Found = readonly [position: number, streamId: string, revision: number];
  /**
   * Where an id is stored. Ids are stored and looked up in lowercase; the NOCASE index of a file
   * of schema version 1 also finds the other spellings that version stored.
   */
  const storedAt = (id: string): Found | undefined => statements.byId.get(id) as Found | undefined;

  /** The ids of a batch stored already. */
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
      () => revisionOf(headOf(streamId)),
    );
    if (last?.position === undefined) return undefined;
    return { nextExpectedRevision: last.revision, position: last.position, written: false };
  };

  /** True when an error thrown while writing one batch refuses that batch and no other. */
  const refusesBatch = (error: unknown): boolean =>
    isConcurrencyError(error) ||
    isIdempotencyError(error) ||
    sqliteCode(error)?.startsWith('SQLITE_CONSTRAINT') === true;

  /**
   * The error that refuses one batch, called once its savepoint is rolled back. A constraint
   * broken by a batch whose first id is new means another of its ids is stored already: the batch
   * mixes stored and new ids.
   */
  const batchRefusal = (append: PendingAppend, error: unknown): unknown => {
    if (isConcurrencyError(error) || isIdempotencyError(error)) return error;
    const storedIds = storedIdsOf(append.events);
    if (storedIds.length > 0) return mixedIds(append.streamId, storedIds);
    return translateSqliteError(file, 'appending', error, busyTimeoutMs);
  };

  type Outcome = { ok: AppendResult } | { error: unknown };

  /** One group's transaction so far: the rows waiting for their insert, and what was written. */
  interface GroupWrite {
    /** Every event of the group is stamped with the time its transaction began. */
    recordedAt: string;
    /** The batches whose rows wait in `values`, in order, with the stream revision each ends at. */
    queued: { index: number; lastRevision: number }[];
    /** Nine values per waiting row, in the insert's column order. */
    values: unknown[];
    /** The rows written, for live subscribers; undefined when there are none to hand them to. */
    rows: EventRow[] | undefined;
    firstPosition: number;
    lastPosition: number;
  }

  /**
   * Inserts the waiting rows in order, in statements of up to 2^(insertSizes - 1) rows (one
   * statement per row costs about half as much CPU again on a batch of 100), and answers their
   * batches. SQLite gives each new row the rowid after the largest, so the rows of one statement
   * take consecutive positions ending at its last insert rowid.
   */
  const insertQueued = (group: readonly PendingAppend[], write: GroupWrite, outcomes: Outcome[]): void => {
    const { queued, values, rows } = write;
    if (!writer || queued.length === 0) return;
    write.queued = [];
    write.values = [];
    const positions: number[] = [];
    for (let offset = 0; offset < values.length; ) {
      const k = Math.min(insertSizes - 1, 31 - Math.clz32((values.length - offset) / columnsPerRow));
      const end = offset + 2 ** k * columnsPerRow;
      const params = offset === 0 && end === values.length ? values : values.slice(offset, end);
      const last = Number((writer.inserts[k] as Database.Statement).run(params).lastInsertRowid);
      for (let position = last - 2 ** k + 1; position <= last; position++) positions.push(position);
      offset = end;
    }
    if (write.firstPosition === 0) write.firstPosition = positions[0] as number;
    write.lastPosition = positions.at(-1) as number;
    if (rows) {
      positions.forEach((position, i) => {
        const at = i * columnsPerRow;
        // The insert's columns: stream_id, revision, id, type, schema_version, data, metadata, recorded_at, checksum.
        rows.push([
          position,
          values[at],
          values[at + 1],
          values[at + 2],
          values[at + 3],
          values[at + 4],
          joinTexts(values[at + 6] as string, values[at + 5] as string),
          values[at + 7],
          values[at + 8],
        ] as EventRow);
      });
    }
    let row = -1;
    for (const { index, lastRevision } of queued) {
      row += (group[index] as PendingAppend).events.length;
      outcomes[index] = {
        ok: {
          nextExpectedRevision: BigInt(lastRevision),
          position: BigInt(positions[row] as number),
          written: true,
        },
      };
    }
  };

  /**
   * Checks one batch against the log as the batches before it left it, and answers it (a resend)
   * or queues its rows; throws a Lantern error to refuse it, before queueing anything. `careful`:
   * the batch's first id is looked up before anything else, as a resend's would be. Otherwise only
   * a batch whose expected revision does not fit is looked up (a resend, or a conflict); any other
   * stored id breaks the unique index on insert, and the group is then written again, carefully.
   */
  const checkBatch = (
    group: readonly PendingAppend[],
    index: number,
    write: GroupWrite,
    outcomes: Outcome[],
    careful: boolean,
  ): void => {
    const append = group[index] as PendingAppend;
    const { streamId, events, expected } = append;
    if (careful) {
      const retry = retryResult(append);
      if (retry) {
        outcomes[index] = { ok: retry };
        return;
      }
    }
    const head = headOf(streamId);
    if (!expectedRevisionFits(expected, revisionOf(head))) {
      if (!careful) {
        // This batch may resend one queued before it in the group: those rows are looked up too.
        insertQueued(group, write, outcomes);
        const retry = retryResult(append);
        if (retry) {
          outcomes[index] = { ok: retry };
          return;
        }
      }
      // Reusing stored ids is refused before the revision is looked at, as in memory.
      const storedIds = storedIdsOf(events);
      if (storedIds.length > 0) throw mixedIds(streamId, storedIds);
      throw new ConcurrencyError(streamId, expected, revisionOf(head));
    }
    const { values, recordedAt } = write;
    let revision = head;
    for (const event of events) {
      revision += 1;
      values.push(
        streamId,
        revision,
        event.id,
        event.type,
        event.schemaVersion,
        event.data,
        event.metadata,
        recordedAt,
        event.checksum,
      );
    }
    setHead(streamId, revision);
    write.queued.push({ index, lastRevision: revision });
  };

  /**
   * Writes a group inside the open transaction and says how each batch fared. `careful`: each
   * batch in a savepoint of its own, rolled back when a constraint refuses it. Otherwise without
   * savepoints, as long as no constraint breaks: undefined when one does, and the caller rolls the
   * whole transaction back. A refused batch never touches another's events either way.
   */
  const writeGroup = (
    group: readonly PendingAppend[],
    write: GroupWrite,
    careful: boolean,
  ): Outcome[] | undefined => {
    if (!writer) return undefined;
    const outcomes: Outcome[] = new Array(group.length);
    for (let index = 0; index < group.length; index++) {
      const mark = write.rows?.length ?? 0;
      if (careful) writer.savepoint.run();
      try {
        checkBatch(group, index, write, outcomes, careful);
        if (careful) {
          insertQueued(group, write, outcomes);
          writer.release.run();
        }
      } catch (error) {
        // A refusal is the batch's own; anything else (disk, lock) fails the whole group.
        if (!refusesBatch(error)) throw error;
        if (!careful) {
          // Checks refuse before queueing anything: only an insert breaks a constraint.
          if (sqliteCode(error) !== undefined) return undefined;
          outcomes[index] = { error };
          continue;
        }
        writer.rollbackToSavepoint.run();
        writer.release.run();
        const append = group[index] as PendingAppend;
        // Its rows are gone, and its stream's head with them: read again when next needed.
        write.queued = [];
        write.values = [];
        write.rows?.splice(mark);
        heads.delete(append.streamId);
        outcomes[index] = { error: batchRefusal(append, error) };
      }
    }
    try {
      insertQueued(group, write, outcomes);
    } catch (error) {
      if (sqliteCode(error)?.startsWith('SQLITE_CONSTRAINT') === true) return undefined;
      throw error;
    }
    return outcomes;
  };

  /**
   * Commits every append waiting now in one transaction. Each batch is checked against the log as
   * the batches before it left it, so a refused batch (ConcurrencyError, IdempotencyError) writes
   * nothing and leaves the others untouched. Callers hear back only after COMMIT returned, i.e.
   * once the WAL is synced to disk.
   */
  const flush = (): void => {
    flushScheduled = false;
    const group = pending;
    pending = [];
    if (group.length === 0 || !writer) return;
    let write: GroupWrite | undefined;
    let outcomes: Outcome[] | undefined;
    try {
      // Resends and refusals are rare: the group is written without savepoints first, and again,
      // carefully, only if a constraint broke.
      for (const careful of [false, true]) {
        write = {
          recordedAt: now().toISOString(),
          queued: [],
          values: [],
          rows: listeners.size > 0 ? [] : undefined,
          firstPosition: 0,
          lastPosition: 0,
        };
        writer.begin.run();
        try {
          const dataVersion = statements.dataVersion.get();
          if (dataVersion !== headsDataVersion) {
            heads.clear();
            headsDataVersion = dataVersion;
          }
          outcomes = writeGroup(group, write, careful);
          if (outcomes) {
            writer.commit.run();
            break;
          }
          writer.rollback.run();
          heads.clear();
        } catch (error) {
          heads.clear();
          if (db.inTransaction) writer.rollback.run();
          throw error;
        }
      }
    } catch (error) {
      const failure = translateSqliteError(file, 'appending', error, busyTimeoutMs);
      for (const append of group) append.reject(failure);
      return;
    }
    if (write && write.lastPosition > 0) announce(write.rows, write.firstPosition - 1, write.lastPosition);
    group.forEach((append, i) => {
      const outcome = outcomes?.[i];
      if (outcome && 'ok' in outcome) append.resolve(outcome.ok);
      else append.reject(outcome?.error);
    });
  };

  /** Validates, serialises and checksums a batch, so the transaction holds the write lock only to write. */
  const prepareBatch = (streamId: string, events: readonly NewEvent[], appendOptions: AppendOptions) => {
    ensureOpen();
    parseStreamId(streamId);
    const expected = parseExpectedRevision(appendOptions.expectedRevision ?? 'any');
    if (!Array.isArray(events)) throw new TypeError('append needs an array of at least one event.');
    if (readonly) throw readOnlyError(file, readonlyReason ?? 'the store was opened read-only');
    const builtAsJson: boolean[] = [];
    const texts: EventTexts = { metadata: [], data: [] };
    const prepared = registry.validateBatch(events, builtAsJson, texts).map((event, i): PreparedEvent => {
      // A registry that does not fill the texts (one of the programme's own) leaves them to us.
      const data = texts.data[i] ?? JSON.stringify(event.data);
      const metadata = texts.metadata[i] ?? JSON.stringify(event.metadata);
      const { type } = event;
      const version = event.metadata.schemaVersion;
      return {
        // Registries canonicalise ids; one written by hand might not, and the id index (schema
        // version 2) compares them byte for byte.
        id: event.id.toLowerCase(),
        type,
        schemaVersion: version,
        data,
        metadata,
        checksum: validation.checksumFor(
          type,
          version,
          metadata,
          data,
          event.metadata,
          event.data,
          builtAsJson[i] === true,
        ),
      };
    });
    return { expected, prepared };
  };

  // Not an async function: one promise per append, settled straight from the group's commit.
  const append = (
    streamId: string,
    events: readonly NewEvent[],
    appendOptions: AppendOptions = {},
  ): Promise<AppendResult> => {
    let batch: ReturnType<typeof prepareBatch>;
    try {
      batch = prepareBatch(streamId, events, appendOptions);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<AppendResult>((resolve, reject) => {
      pending.push({ streamId, events: batch.prepared, expected: batch.expected, resolve, reject });
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
        (backwards
          ? statements.streamBackwards.all(streamId, from, limit)
          : statements.streamForwards.all(streamId, from, end, limit)) as string[]
      ).map((text) => unpackRow(text, streamId, rowAt));
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
    /** The stream's last revision, read now; a stream with no events is not found. */
    const endNow = (): number => {
      let last: bigint | 'noStream';
      try {
        last = lastRevisionOf(streamId);
      } catch (error) {
        return fail('reading a stream', error);
      }
      if (last === 'noStream') throw new StreamNotFoundError(streamId);
      return Number(last);
    };
    async function* chunks(): AsyncGenerator<Chunk, void> {
      ensureOpen();
      const from = readOptions.fromRevision;
      // Reading stops at the end the stream had when the read began: one consistent snapshot.
      let end: number;
      let next: number;
      let count = 0;
      if (!backwards && !cache?.wouldCache(streamId)) {
        // Forwards and not cached: the first query may hold the rest of the stream, and then its
        // last row is the stream's end, with no query for the end before it.
        next = from === undefined || from <= 0n ? 0 : Number(from);
        const limit = Math.min(chunkSize, maxCount);
        const rows = readStreamRows(streamId, next, Number.MAX_SAFE_INTEGER, false, limit);
        const lastRow = rows.at(-1);
        end = lastRow && rows.length < limit ? rowRevision(lastRow) : endNow();
        // Only notes the read (the cache said it would not cache this one), so the next caches it.
        cache?.start(streamId, end + 1);
        if (rows.length > 0) yield { rows };
        if (!lastRow || rows.length < limit) return;
        count = rows.length;
        next = rowRevision(lastRow) + 1;
        await yieldToEventLoop();
        ensureOpen();
      } else {
        end = endNow();
        const last = BigInt(end);
        if (backwards) next = from === undefined || from >= last ? end : Number(from);
        else next = from === undefined || from <= 0n ? 0 : from > last ? end + 1 : Number(from);
        const cached = await cachedStream(streamId, end);
        if (cached) {
          const stop = backwards ? Math.max(-1, next - maxCount) : Math.min(end + 1, next + maxCount);
          if (backwards ? stop < next : next < stop) {
            yield {
              events: backwards ? cached.slice(stop + 1, next + 1).reverse() : cached.slice(next, stop),
            };
          }
          return;
        }
      }

      while (count < maxCount && next >= 0 && next <= end) {
        const limit = Math.min(chunkSize, maxCount - count);
        const rows = readStreamRows(streamId, next, end, backwards, limit);
        if (rows.length > 0) yield { rows };
        count += rows.length;
        const lastRow = rows.at(-1);
        if (!lastRow || rows.length < limit) return;
        next = rowRevision(lastRow) + (backwards ? -1 : 1);
        await yieldToEventLoop();
        ensureOpen();
      }
    }
    return chunkedEvents(chunks, readRow, ensureOpen);
  };

  /** What readAll and readAllPages read: the log's rows a query at a time, from when reading starts. */
  const logChunks = (readOptions: ReadAllOptions): (() => AsyncGenerator<Chunk, void>) => {
    ensureOpen();
    const maxCount = parseMaxCount(readOptions.maxCount);
    const { after, filter } = readOptions;
    const checkedInJs = namesEveryType(filter?.eventTypes);
    return async function* chunks(): AsyncGenerator<Chunk, void> {
      ensureOpen();
      // Reading stops at the end the log had when the read began.
      const end = maxPosition();
      let cursor = after === undefined || after <= 0n ? 0 : after >= BigInt(end) ? end : Number(after);
      let count = 0;
      while (count < maxCount && cursor < end) {
        const limit = Math.min(chunkSize, maxCount - count);
        const upTo = Math.min(end, cursor + scanWindow);
        const read = readLog(cursor, upTo, filter, limit);
        // Rows of types no filter clause in SQL left out (see namesEveryType).
        const rows = checkedInJs
          ? read.filter((row) => rowMatches(filter, rowType(row), rowStreamId(row)))
          : read;
        if (rows.length > 0) yield { rows };
        count += rows.length;
        const lastRow = read.at(-1);
        cursor = lastRow && read.length === limit ? rowPosition(lastRow) : upTo;
        if (count < maxCount && cursor < end) {
          await yieldToEventLoop();
          ensureOpen();
        }
      }
    };
  };

  const readAll = (readOptions: ReadAllOptions = {}): AsyncIterable<RecordedEvent> =>
    chunkedEvents(logChunks(readOptions), readRow, ensureOpen);

  const readAllPages = (readOptions: ReadAllOptions = {}): AsyncIterable<readonly RecordedEvent[]> =>
    chunkedPages(logChunks(readOptions), readRow, ensureOpen);

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
   * Hands the rows just committed here, after `positionBefore` up to `lastPosition`, to live
   * subscribers — at once, without reading them back, when nothing else was committed since the
   * last rows they got; otherwise from the log. `rows` is undefined when nobody listened as the
   * transaction began (none were kept).
   */
  const announce = (
    rows: readonly EventRow[] | undefined,
    positionBefore: number,
    lastPosition: number,
  ): void => {
    if (listeners.size === 0) {
      announcedUpTo = lastPosition;
      return;
    }
    if (rows && !tailing && positionBefore === announcedUpTo) {
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

  return { append, readStream, readAll, readAllPages, subscribe, close };
};
