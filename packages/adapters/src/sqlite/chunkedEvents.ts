import type { RecordedEvent } from '@lantern/core';
import type { EventRow } from './storedEvents.js';

/** Rows still to be read into events, or events ready (from the stream cache). */
export type Chunk = { rows: readonly EventRow[] } | { events: readonly RecordedEvent[] };

/**
 * Events handed out one at a time from chunks read a query at a time. An async generator that
 * yields each event costs several promise turns per event, as much as parsing it; this iterator
 * hands out each event of a chunk already in hand with a single resolved promise, and runs the
 * chunk source (an async generator, so it can wait for the event loop between queries) once per
 * chunk. A row that does not read back rejects that `next()` and ends the iteration, after every
 * event before it was handed out. `check` runs before each event (closing the store ends a read).
 */
export const chunkedEvents = (
  chunks: () => AsyncIterator<Chunk, void>,
  readRow: (row: EventRow) => RecordedEvent,
  check: () => void,
): AsyncIterable<RecordedEvent> => ({
  [Symbol.asyncIterator]: (): AsyncIterator<RecordedEvent> => {
    let source: AsyncIterator<Chunk, void> | undefined;
    let rows: readonly EventRow[] = [];
    let events: readonly RecordedEvent[] = [];
    let index = 0;
    let finished = false;
    /** A chunk being read: a `next()` called meanwhile waits for it, as an async generator's would. */
    let pulling: Promise<unknown> | undefined;

    const end = (): IteratorResult<RecordedEvent> => {
      finished = true;
      rows = [];
      events = [];
      return { value: undefined, done: true };
    };

    /** The next event of the chunk in hand, or undefined when it is used up. */
    const nextInHand = (): IteratorResult<RecordedEvent> | undefined => {
      if (index < events.length) return { value: events[index++] as RecordedEvent, done: false };
      if (index < rows.length) return { value: readRow(rows[index++] as EventRow), done: false };
      return undefined;
    };

    const pull = async (): Promise<IteratorResult<RecordedEvent>> => {
      for (;;) {
        source ??= chunks();
        const chunk = await source.next();
        if (finished) return { value: undefined, done: true };
        if (chunk.done) return end();
        index = 0;
        if ('rows' in chunk.value) {
          rows = chunk.value.rows;
          events = [];
        } else {
          events = chunk.value.events;
          rows = [];
        }
        check();
        const result = nextInHand();
        if (result) return result;
      }
    };

    const next = (): Promise<IteratorResult<RecordedEvent>> => {
      if (pulling) return pulling.then(next, next);
      if (finished) return Promise.resolve({ value: undefined, done: true });
      try {
        if (source) check();
        const result = nextInHand();
        if (result) return Promise.resolve(result);
      } catch (error) {
        end();
        source?.return?.().catch(() => undefined);
        return Promise.reject(error);
      }
      const pulled = pull().then(
        (result) => {
          pulling = undefined;
          return result;
        },
        (error: unknown) => {
          pulling = undefined;
          end();
          throw error;
        },
      );
      pulling = pulled;
      return pulled;
    };

    return {
      next,
      return: async (): Promise<IteratorResult<RecordedEvent>> => {
        const wasRunning = !finished;
        end();
        if (wasRunning) await source?.return?.();
        return { value: undefined, done: true };
      },
    };
  },
});

/**
 * The same chunks as pages: each chunk's rows read into events as one array. A row that does not
 * read back ends the pages with its error, after a page of the events before it in its chunk.
 */
export const chunkedPages = (
  chunks: () => AsyncIterator<Chunk, void>,
  readRow: (row: EventRow) => RecordedEvent,
  check: () => void,
): AsyncIterable<readonly RecordedEvent[]> => ({
  async *[Symbol.asyncIterator]() {
    const source = chunks();
    try {
      for (;;) {
        const chunk = await source.next();
        if (chunk.done) return;
        check();
        if ('events' in chunk.value) {
          if (chunk.value.events.length > 0) yield chunk.value.events;
          continue;
        }
        const page: RecordedEvent[] = [];
        try {
          for (const row of chunk.value.rows) page.push(readRow(row));
        } catch (error) {
          if (page.length > 0) yield page;
          throw error;
        }
        if (page.length > 0) yield page;
      }
    } finally {
      // Stopped early (or failed): the chunk source stops reading too.
      await source.return?.();
    }
  },
});
