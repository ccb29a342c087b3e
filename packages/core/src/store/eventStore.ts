import type { Observable } from 'rxjs';
import type { ExpectedRevision } from '../errors/errors.js';
import type { NewEvent, RecordedEvent } from '../events/envelope.js';

export type { ExpectedRevision };

export interface AppendOptions {
  /**
   * What the writer believes the stream's last revision is. A mismatch throws a
   * ConcurrencyError and writes nothing. Default: `any`.
   */
  expectedRevision?: ExpectedRevision;
}

export interface AppendResult {
  /** The stream's last revision after the append: pass it as the next `expectedRevision`. */
  nextExpectedRevision: bigint;
  /** Global position of the last event of the batch. */
  position: bigint;
  /** False when the batch was an idempotent retry and nothing new was written. */
  written: boolean;
}

export interface ReadStreamOptions {
  /** First revision to read (inclusive). Default: the start, or the end when reading backwards. */
  fromRevision?: bigint;
  /** Default `forwards`. */
  direction?: 'forwards' | 'backwards';
  /** At most this many events. Default: all. */
  maxCount?: number;
}

/** Which events a reader or subscriber wants; an event must match every given clause. */
export interface EventFilter {
  /** Only these event types. */
  eventTypes?: readonly string[];
  /** Only streams whose name starts with one of these, e.g. `case-` for every case. */
  streamPrefixes?: readonly string[];
}

export interface ReadAllOptions {
  /** A checkpoint: read events whose position is after it (exclusive). Default: from the start. */
  after?: bigint;
  filter?: EventFilter;
  /** At most this many events. Default: all. */
  maxCount?: number;
}

export interface SubscribeOptions {
  /**
   * A checkpoint: deliver events whose position is after it, first those already stored
   * (catch-up), then new ones as they are appended (live). `end` skips history. Default: from
   * the start.
   */
  after?: bigint | 'end';
  filter?: EventFilter;
}

/**
 * The port every event store implements; one contract suite (test/storeContract) proves it.
 * Streams are append-only; global order is total and the same for every reader.
 */
export interface EventStore {
  /**
   * Appends a batch to a stream, atomically. Resending a batch already stored (same event ids,
   * same stream, compatible expected revision) succeeds and writes nothing.
   */
  append(streamId: string, events: readonly NewEvent[], options?: AppendOptions): Promise<AppendResult>;
  /** Reads one stream. Iterating a stream that has no events throws StreamNotFoundError. */
  readStream(streamId: string, options?: ReadStreamOptions): AsyncIterable<RecordedEvent>;
  /** Reads every stream in global order. */
  readAll(options?: ReadAllOptions): AsyncIterable<RecordedEvent>;
  /**
   * Optional: the very events `readAll(options)` gives, a page at a time (an array, never
   * empty, of a size the store picks), so a reader that takes events in batches (the projection
   * engine) pays for one promise per page instead of one per event. An event that does not read
   * back ends the read with its error, after a page holding every event before it.
   */
  readAllPages?(options?: ReadAllOptions): AsyncIterable<readonly RecordedEvent[]>;
  /** Catch-up then live, with no gap and no duplicate at the switch. */
  subscribe(options?: SubscribeOptions): Observable<RecordedEvent>;
  /** Releases the store's resources; live subscriptions complete. */
  close(): Promise<void>;
}

/** How many events `pagesOf` puts in a page unless told otherwise. */
const defaultPageSize = 512;

/**
 * An event iterable in pages of at most `size` events: `readAllPages` for a store that reads one
 * event at a time anyway (over a network). When the source fails, the events read before the
 * failure come out as a last page, then the error.
 */
export async function* pagesOf(
  events: AsyncIterable<RecordedEvent>,
  size = defaultPageSize,
): AsyncGenerator<RecordedEvent[], void> {
  if (!Number.isSafeInteger(size) || size < 1) {
    throw new TypeError(`A page holds 1 or more events, a whole number; got ${String(size)}.`);
  }
  let page: RecordedEvent[] = [];
  try {
    for await (const event of events) {
      page.push(event);
      if (page.length === size) {
        yield page;
        page = [];
      }
    }
  } catch (error) {
    if (page.length > 0) yield page;
    throw error;
  }
  if (page.length > 0) yield page;
}

/** True when the event passes the filter. */
export const matchesFilter = (event: RecordedEvent, filter: EventFilter | undefined): boolean => {
  if (!filter) return true;
  if (filter.eventTypes && !filter.eventTypes.includes(event.type)) return false;
  if (filter.streamPrefixes && !filter.streamPrefixes.some((p) => event.streamId.startsWith(p))) {
    return false;
  }
  return true;
};

/** The category of a stream named category-id: `case-PP-2020-014` → `case`. */
export const streamCategory = (streamId: string): string => {
  const dash = streamId.indexOf('-');
  return dash < 0 ? streamId : streamId.slice(0, dash);
};

/** The stream name for an aggregate: `streamName('case', 'PP-2020-014')` → `case-PP-2020-014`. */
export const streamName = (category: string, id: string): string => `${category}-${id}`;
