import type { RecordedEvent } from '@lantern/core';

/**
 * The events of recently read streams, validated and frozen, so that reloading a stream before
 * each command (as command handlers do) reads only what was appended since. Stored rows are never
 * rewritten, so an event once read stays right; the store still checks on each read that the
 * stream's last cached event is the one stored at its revision, and drops the stream if not.
 * A stream is cached from its second read on: a stream read once (a projection's one pass, an
 * export) costs nothing extra. Least recently read streams go first when the cache holds more than
 * its limit of events.
 */
export interface StreamCache {
  /** The cached events of a stream, revision i at index i; marks the stream as just read. */
  get(streamId: string): RecordedEvent[] | undefined;
  /**
   * Starts caching a stream (with no events yet) when it fits and was read before; undefined when
   * it does not fit or this is its first read.
   */
  start(streamId: string, length: number): RecordedEvent[] | undefined;
  /** Counts events added to a cached stream's array, evicting other streams to stay under the limit. */
  grew(streamId: string, events: readonly RecordedEvent[], added: number): void;
  drop(streamId: string): void;
  clear(): void;
}

export const createStreamCache = (maxEvents: number): StreamCache => {
  /** In least-recently-read-first order: a Map keeps insertion order, and a read re-inserts. */
  const streams = new Map<string, RecordedEvent[]>();
  let total = 0;
  /** Streams read once and not cached, most recent last; bounded so it cannot grow without end. */
  const readOnce = new Set<string>();
  const readOnceLimit = 4096;

  const drop = (streamId: string): void => {
    const events = streams.get(streamId);
    if (!events) return;
    total -= events.length;
    streams.delete(streamId);
  };

  const evictFor = (keep: string): void => {
    for (const streamId of streams.keys()) {
      if (total <= maxEvents) return;
      if (streamId !== keep) drop(streamId);
    }
  };

  return {
    get: (streamId) => {
      const events = streams.get(streamId);
      if (events) {
        streams.delete(streamId);
        streams.set(streamId, events);
      }
      return events;
    },
    start: (streamId, length) => {
      if (length > maxEvents) return undefined;
      if (!readOnce.delete(streamId)) {
        readOnce.add(streamId);
        if (readOnce.size > readOnceLimit) {
          for (const oldest of readOnce) {
            readOnce.delete(oldest);
            break;
          }
        }
        return undefined;
      }
      const events: RecordedEvent[] = [];
      streams.set(streamId, events);
      return events;
    },
    grew: (streamId, events, added) => {
      // A reader may still fill an array dropped (and replaced) meanwhile: that one is not counted.
      if (streams.get(streamId) !== events) return;
      total += added;
      evictFor(streamId);
      if (total > maxEvents) drop(streamId);
    },
    drop,
    clear: () => {
      streams.clear();
      readOnce.clear();
      total = 0;
    },
  };
};
