import {
  type AllStreamResolvedEvent,
  ANY,
  type AppendExpectedRevision,
  BACKWARDS,
  END,
  ErrorType,
  type RecordedEvent as EsdbRecordedEvent,
  FORWARDS,
  NO_STREAM,
  START,
  STREAM_EXISTS,
} from '@eventstore/db-client';
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
  defaultEventRegistry,
  expectedRevisionFits,
  pagesOf,
  parseExpectedRevision,
  parseMaxCount,
  parseStreamId,
  resendOf,
  StoreError,
} from '@lantern/core';
import { Observable } from 'rxjs';
import { type EventStoreDBConnection, openConnection } from './connection.js';
import { positionOf, toEventData, toRecordedEvent } from './eventMapping.js';
import { type ResubscribeOptions, resubscription } from './resubscription.js';
import { clientFilter, type FilterPlan, planFilter } from './serverFilter.js';
import { createInbox, type Inbox } from './subscriptionInbox.js';
import { isDriverError, isTransientError, translateError } from './translateError.js';

export interface EventStoreDBEventStoreOptions {
  /** The event types the store accepts, validated on append and upcast on read. Default: `defaultEventRegistry`. */
  registry?: EventRegistry;
  /**
   * Put before every stream name in EventStoreDB, so several Lantern stores (programmes, test runs)
   * share one server: `streamPrefix: 'pp.'` stores `case-42` as `pp.case-42`, and readAll and
   * subscribe see only that store's streams. Default: `''` (none; every non-system stream is the
   * store's).
   */
  streamPrefix?: string;
  /**
   * How many of a stream's latest events an append reads to recognise a resent batch (and a batch
   * reusing stored ids). A resend with `any`/`streamExists` of a batch older than this is written
   * again, unless this store wrote it (see `rememberedIds`). Default: `256`.
   */
  idempotencyWindow?: number;
  /**
   * How many event ids, with the stream they went to, the store remembers from its own appends,
   * to refuse ids reused in another stream (EventStoreDB does not check ids across streams).
   * Default: `50_000`.
   */
  rememberedIds?: number;
  /** What a subscription does when its call drops. Defaults: see ResubscribeOptions. */
  resubscribe?: ResubscribeOptions;
}

/**
 * How many times an `any`/`streamExists` append is written at the revision it just read, reading
 * again after losing a race to another writer. After that it is written with the server's own
 * `any`/`stream_exists`, whose idempotency is weaker (see README): bounded work under contention.
 */
const guardedAttempts = 4;

const idKey = (id: string): string => id.toLowerCase();

const checkCount = (name: string, value: number | undefined, fallback: number): number => {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1)
    throw new TypeError(`${name} must be a whole number, 1 or more; got ${value}.`);
  return value;
};

const closedError = (): StoreError =>
  new StoreError(
    'This EventStoreDB event store is closed. Create a new store with createEventStoreDBEventStore().',
  );

/** Where an id sits: its stream, revision and (when read) position. */
interface Placement {
  readonly streamId: string;
  readonly revision: bigint;
  readonly position: bigint | undefined;
}

/**
 * An event store on EventStoreDB (or KurrentDB), through @eventstore/db-client: single node or
 * cluster. It keeps the store contract on top of the server's own rules:
 *
 * - Expected revisions map one to one (`any` → ANY, `noStream` → NO_STREAM, `streamExists` →
 *   STREAM_EXISTS, a bigint → that revision); a conflict is a ConcurrencyError.
 * - Resent batches: before writing, an append reads the stream's latest `idempotencyWindow` events
 *   (and, for an exact expected revision, the events where the batch would sit) and applies
 *   Lantern's rule, deciding conflicts on what it read; `any`/`streamExists` appends are then
 *   written at the revision just read, and read again if someone wrote first, so no other writer
 *   gets between the check and the write (after four lost races the server's own `any` decides).
 *   Ids stored in another stream are caught when this store wrote them (`rememberedIds`).
 * - readAll and subscribe filter on the server (see serverFilter.ts); subscriptions resubscribe
 *   from the last position they delivered when the call drops, with exponential backoff.
 */
export const createEventStoreDBEventStore = (
  connection: EventStoreDBConnection,
  options: EventStoreDBEventStoreOptions = {},
): EventStore => {
  const registry = options.registry ?? defaultEventRegistry;
  const streamPrefix = options.streamPrefix ?? '';
  if (typeof streamPrefix !== 'string' || streamPrefix.startsWith('$')) {
    throw new TypeError(
      'streamPrefix must be a string that does not start with "$" (EventStoreDB keeps $ for itself).',
    );
  }
  const idempotencyWindow = checkCount('idempotencyWindow', options.idempotencyWindow, 256);
  const rememberedIdsLimit = checkCount('rememberedIds', options.rememberedIds, 50_000);
  const retry = resubscription(options.resubscribe);
  const { client, owned } = openConnection(connection);

  const stored = (streamId: string): string => `${streamPrefix}${streamId}`;
  /** Ids this store appended: where they went. Oldest forgotten first. */
  const remembered = new Map<string, Placement>();
  /** Open subscriptions and reads, so close() can end them. */
  const closers = new Set<() => void>();
  let closed = false;

  const ensureOpen = (): void => {
    if (closed) throw closedError();
  };

  const remember = (id: string, placement: Placement): void => {
    const key = idKey(id);
    remembered.delete(key);
    remembered.set(key, placement);
    if (remembered.size > rememberedIdsLimit) {
      const oldest = remembered.keys().next().value;
      if (oldest !== undefined) remembered.delete(oldest);
    }
  };

  /** The stored events of a stream as the client reads them; a missing stream reads as none. */
  const readStored = async (
    streamId: string,
    read: {
      direction: typeof FORWARDS | typeof BACKWARDS;
      fromRevision: bigint | typeof START | typeof END;
      maxCount: number;
    },
  ): Promise<EsdbRecordedEvent[] | undefined> => {
    const events: EsdbRecordedEvent[] = [];
    try {
      for await (const resolved of client.readStream(stored(streamId), read)) {
        if (resolved.event) events.push(resolved.event);
      }
    } catch (error) {
      if (isDriverError(error) && error.type === ErrorType.STREAM_NOT_FOUND) return undefined;
      throw translateError(error, { action: `read stream "${streamId}"`, streamId });
    }
    return events;
  };

  const placementOf = (streamId: string, event: EsdbRecordedEvent): Placement => ({
    streamId,
    revision: event.revision,
    position: positionOf(undefined, event.position),
  });

  /** The stream's last revision, and where the batch's ids are stored as far as this store can tell. */
  const lookBack = async (streamId: string, events: readonly NewEvent[], expected: ExpectedRevision) => {
    const found = new Map<string, Placement>();
    const tail = await readStored(streamId, {
      direction: BACKWARDS,
      fromRevision: END,
      maxCount: idempotencyWindow,
    });
    const actual: bigint | 'noStream' = tail?.[0]?.revision ?? 'noStream';
    const oldest = tail?.at(-1)?.revision;
    for (const event of tail ?? []) found.set(idKey(event.id), placementOf(streamId, event));

    // Older than the window: where an exact expected revision puts the batch, and ids this store wrote here.
    const starts = new Set<bigint>();
    if (
      actual !== 'noStream' &&
      oldest !== undefined &&
      (typeof expected === 'bigint' || expected === 'noStream')
    ) {
      const first = expected === 'noStream' ? 0n : expected + 1n;
      if (first < oldest) starts.add(first);
    }
    for (const event of events) {
      const known = remembered.get(idKey(event.id));
      if (known?.streamId === streamId && oldest !== undefined && known.revision < oldest)
        starts.add(known.revision);
    }
    for (const start of starts) {
      const older = await readStored(streamId, {
        direction: FORWARDS,
        fromRevision: start,
        maxCount: events.length,
      });
      for (const event of older ?? []) found.set(idKey(event.id), placementOf(streamId, event));
    }
    // Ids this store wrote to other streams.
    for (const event of events) {
      const known = remembered.get(idKey(event.id));
      if (known && known.streamId !== streamId && !found.has(idKey(event.id)))
        found.set(idKey(event.id), known);
    }
    return { actual, found };
  };

  /** Lantern's rule for a batch some of whose ids are stored: a retry, a conflict, or a misuse of ids. */
  const retryResult = (
    streamId: string,
    events: readonly NewEvent[],
    expected: ExpectedRevision,
    { actual, found }: { actual: bigint | 'noStream'; found: Map<string, Placement> },
  ): AppendResult | undefined => {
    const last = resendOf(
      streamId,
      events.map((event) => event.id),
      events.map((event) => found.get(idKey(event.id))),
      expected,
      () => actual,
    );
    if (last?.position === undefined) return undefined;
    return { nextExpectedRevision: last.revision, position: last.position, written: false };
  };

  const positionAt = async (streamId: string, revision: bigint): Promise<bigint> => {
    const [event] =
      (await readStored(streamId, { direction: FORWARDS, fromRevision: revision, maxCount: 1 })) ?? [];
    if (!event)
      throw new StoreError(`EventStoreDB confirmed an append to "${streamId}" but the event is not there.`);
    return positionOf(undefined, event.position);
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
    const valid = registry.validateBatch(events);
    const data = valid.map(toEventData);
    const guarded = expected === 'any' || expected === 'streamExists';

    // One more attempt with the server's own expectation, and one to read what it refused.
    for (let attempt = 1; attempt <= guardedAttempts + 2; attempt += 1) {
      ensureOpen();
      const seen = await lookBack(streamId, valid, expected);
      const resent = retryResult(streamId, valid, expected, seen);
      if (resent) return resent;
      // Decide conflicts on what was just read. The server checks the expected revision again, but
      // only that: a resend of this batch written meanwhile by another writer, landing the stream
      // exactly on the expected revision, would pass there and store the ids twice.
      if (!expectedRevisionFits(expected, seen.actual))
        throw new ConcurrencyError(streamId, expected, seen.actual);
      let serverExpected: AppendExpectedRevision;
      if (expected === 'noStream') serverExpected = NO_STREAM;
      else if (typeof expected === 'bigint') serverExpected = expected;
      else if (attempt <= guardedAttempts)
        serverExpected = seen.actual === 'noStream' ? NO_STREAM : seen.actual;
      // Lost the race this often: let the server decide, with its own (weaker) idempotency.
      else serverExpected = expected === 'any' ? ANY : STREAM_EXISTS;

      let nextExpectedRevision: bigint;
      let position: bigint | undefined;
      try {
        const result = await client.appendToStream(stored(streamId), data, {
          expectedRevision: serverExpected,
        });
        nextExpectedRevision = result.nextExpectedRevision;
        position = result.position?.commit;
      } catch (error) {
        if (isDriverError(error) && error.type === ErrorType.WRONG_EXPECTED_VERSION) {
          if (guarded) continue;
          const actual = error.actualVersion;
          throw new ConcurrencyError(streamId, expected, actual === NO_STREAM ? 'noStream' : actual);
        }
        throw translateError(error, { action: `append to "${streamId}"`, streamId });
      }
      position ??= await positionAt(streamId, nextExpectedRevision);
      const firstRevision = nextExpectedRevision - BigInt(valid.length) + 1n;
      valid.forEach((event, i) => {
        remember(event.id, {
          streamId,
          revision: firstRevision + BigInt(i),
          position: i === valid.length - 1 ? position : undefined,
        });
      });
      return { nextExpectedRevision, position, written: true };
    }
    throw new StoreError(
      `Appending to "${streamId}" lost the race to other writers ${guardedAttempts} times. Try again, or write to this stream from fewer places at once.`,
    );
  };

  const readStream = (
    streamId: string,
    readOptions: ReadStreamOptions = {},
  ): AsyncIterable<RecordedEvent> => {
    ensureOpen();
    parseStreamId(streamId);
    const maxCount = parseMaxCount(readOptions.maxCount);
    const backwards = readOptions.direction === 'backwards';
    const from = readOptions.fromRevision;
    return {
      async *[Symbol.asyncIterator]() {
        ensureOpen();
        // Nothing to read, but a missing stream must still be reported.
        const nothing = maxCount === 0 || (backwards && from !== undefined && from < 0n);
        const read = client.readStream(stored(streamId), {
          direction: backwards ? BACKWARDS : FORWARDS,
          fromRevision: nothing
            ? START
            : from === undefined
              ? backwards
                ? END
                : START
              : from < 0n
                ? START
                : from,
          ...(nothing ? { maxCount: 1 } : Number.isFinite(maxCount) ? { maxCount } : {}),
        });
        const close = () => read.destroy(closedError());
        closers.add(close);
        let done = false;
        try {
          for await (const resolved of read) {
            ensureOpen();
            if (nothing || !resolved.event) continue;
            yield toRecordedEvent(
              resolved.event,
              positionOf(undefined, resolved.event.position),
              streamPrefix,
              registry,
            );
          }
          done = true;
        } catch (error) {
          done = true;
          throw translateError(error, { action: `read stream "${streamId}"`, streamId });
        } finally {
          closers.delete(close);
          if (!done) void read.cancel().catch(() => {});
        }
      },
    };
  };

  /** The position of the last event in $all, or undefined when the log is empty. */
  const lastPosition = async (): Promise<bigint | undefined> => {
    let last: bigint | undefined;
    try {
      // Read to the end (one event) rather than return early: an abandoned read keeps its call open.
      for await (const resolved of client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 })) {
        last = positionOf(resolved.commitPosition, resolved.event?.position ?? resolved.link?.position);
      }
    } catch (error) {
      throw translateError(error, { action: 'read the end of $all' });
    }
    return last;
  };

  const subscribeToAll = (after: bigint | undefined, plan: FilterPlan) => {
    const subscription = client.subscribeToAll({
      fromPosition: after === undefined ? START : { commit: after, prepare: after },
      filter: clientFilter(plan.server, (position) => inbox.checkpoint(position)),
    });
    const inbox: Inbox<AllStreamResolvedEvent> = createInbox(subscription);
    return { subscription, inbox };
  };

  const readAll = (readOptions: ReadAllOptions = {}): AsyncIterable<RecordedEvent> => {
    ensureOpen();
    const maxCount = parseMaxCount(readOptions.maxCount);
    const plan = planFilter(readOptions.filter, streamPrefix);
    const after = readOptions.after !== undefined && readOptions.after > 0n ? readOptions.after : undefined;
    return {
      // The client cannot filter a plain read of $all, so a filtered read is a catch-up
      // subscription that stops where the log ended when the read began.
      async *[Symbol.asyncIterator]() {
        ensureOpen();
        if (plan.matchesNothing || maxCount === 0) return;
        // Subscribe and find the end of the log at once: the inbox holds what arrives meanwhile.
        const { subscription, inbox } = subscribeToAll(after, plan);
        const close = () => inbox.fail(closedError());
        closers.add(close);
        try {
          const end = await lastPosition();
          if (end === undefined || (after !== undefined && after >= end)) return;
          ensureOpen();
          let count = 0;
          while (count < maxCount) {
            const message = await inbox.next();
            if (message.kind === 'caughtUp') return;
            if (message.kind === 'checkpoint') {
              if (message.position >= end) return;
              continue;
            }
            if (message.kind === 'failed') throw translateError(message.error, { action: 'read $all' });
            if (message.kind === 'ended') {
              throw new StoreError(
                'EventStoreDB ended a read of $all early. Read again from the last position you received.',
              );
            }
            if (message.kind !== 'event' || !message.event.event) continue;
            const event = message.event.event;
            const position = positionOf(message.event.commitPosition, event.position);
            if (position > end) return;
            if (plan.accepts(event.streamId, event.type)) {
              yield toRecordedEvent(event, position, streamPrefix, registry);
              count += 1;
            }
            if (position === end) return;
          }
        } finally {
          closers.delete(close);
          inbox.detach();
          void subscription.unsubscribe().catch(() => {});
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
    const plan = planFilter(filter, streamPrefix);
    return new Observable<RecordedEvent>((subscriber) => {
      if (closed) {
        subscriber.error(closedError());
        return;
      }
      /** Everything at or before this position has been delivered (or skipped by the filter). */
      let checkpoint = typeof after === 'bigint' && after > 0n ? after : undefined;
      let stopped = false;
      let current: ReturnType<typeof subscribeToAll> | undefined;
      let attempt = 0;
      let timer: NodeJS.Timeout | undefined;

      const stop = (): void => {
        stopped = true;
        clearTimeout(timer);
        closers.delete(complete);
        if (current) {
          current.inbox.detach();
          void current.subscription.unsubscribe().catch(() => {});
          current = undefined;
        }
      };
      const complete = (): void => {
        stop();
        subscriber.complete();
      };
      const fail = (error: unknown): void => {
        stop();
        subscriber.error(error);
      };
      closers.add(complete);

      const dropped = (error: unknown): void => {
        if (current) {
          current.inbox.detach();
          void current.subscription.unsubscribe().catch(() => {});
          current = undefined;
        }
        if (stopped) return;
        if (error !== undefined && !isTransientError(error)) {
          fail(translateError(error, { action: 'subscribe to $all' }));
          return;
        }
        attempt += 1;
        const delayMs = retry.delayFor(attempt);
        if (delayMs === undefined) {
          fail(
            new StoreError(
              `The subscription to EventStoreDB dropped and ${attempt - 1} attempts to resubscribe failed. ` +
                `Subscribe again after position ${checkpoint ?? 'the start'} (the last one handled) once the server is back.`,
              { cause: error },
            ),
          );
          return;
        }
        retry.report({ attempt, delayMs, after: checkpoint, error });
        timer = setTimeout(connect, delayMs);
      };

      const pump = async (subscription: ReturnType<typeof subscribeToAll>): Promise<void> => {
        for (;;) {
          const message = await subscription.inbox.next();
          if (stopped || current !== subscription) return;
          switch (message.kind) {
            case 'confirmed':
              attempt = 0;
              break;
            case 'checkpoint':
              if (checkpoint === undefined || message.position > checkpoint) checkpoint = message.position;
              break;
            case 'failed':
              dropped(message.error);
              return;
            case 'ended':
              dropped(undefined);
              return;
            case 'event': {
              const event = message.event.event;
              if (!event) break;
              const position = positionOf(message.event.commitPosition, event.position);
              if (checkpoint !== undefined && position <= checkpoint) break;
              checkpoint = position;
              if (!plan.accepts(event.streamId, event.type)) break;
              let recorded: RecordedEvent;
              try {
                recorded = toRecordedEvent(event, position, streamPrefix, registry);
              } catch (error) {
                fail(error);
                return;
              }
              subscriber.next(recorded);
              break;
            }
            default:
              break;
          }
        }
      };

      const connect = (): void => {
        if (stopped) return;
        const next = subscribeToAll(checkpoint, plan);
        current = next;
        pump(next).catch(fail);
      };

      if (!plan.matchesNothing) {
        // From the end: start after the last event now stored, so a resubscription misses nothing.
        const start = async (): Promise<void> => {
          if (after === 'end') checkpoint = await lastPosition();
        };
        start().then(connect, fail);
      }
      return stop;
    });
  };

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    for (const closer of [...closers]) closer();
    closers.clear();
    if (owned) await client.dispose();
  };

  /** Events come off the wire one at a time: grouped into pages for readers that take batches. */
  const readAllPages = (readOptions: ReadAllOptions = {}): AsyncIterable<readonly RecordedEvent[]> =>
    pagesOf(readAll(readOptions));

  return { append, readStream, readAll, readAllPages, subscribe, close };
};
