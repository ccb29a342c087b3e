import type { RecordedEvent } from '@lantern/core';

/**
 * The events of recently read streams, validated and frozen, so that reloading a stream before
 * each command (as command handlers do) reads only what was appended since. Stored rows are never
 * rewritten, so an event once read stays right; the store still checks on each read that the
 * stream's last cached event is the one stored at its revision, and drops the stream if not.
 * A stream is cached from its second read on, and only when that read comes soon enough to have
 * found it still cached: a stream read once (a projection's one pass, an export) costs nothing
 * extra, and neither does a stream read again only after the cache has turned over (reading more
 * streams in a round than the cache holds, round after round, would otherwise freeze and cache
 * every stream only to evict it before it is read again). Least recently read streams go first
 * when the cache holds more than its limit of events.
 */
export interface StreamCache {
  /** The cached events of a stream, revision i at index i; marks the stream as just read. */
  get(streamId: string): RecordedEvent[] | undefined;
  /**
   * Whether a read of the stream now would find it cached, or start caching it if it fits. When
   * false, `start` gives undefined for it and only notes the read.
   */
  wouldCache(streamId: string): boolean;
  /**
   * Starts caching a stream (with no events yet) when it fits and was read lately; undefined when
   * it does not fit, this is its first read, or the cache has evicted as many events as it holds
   * since the stream's last read (cached then, it would have been evicted by now).
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
  /** Events evicted to make room, ever: the cache's clock of turnover. */
  let evicted = 0;
  /**
   * Streams read lately and not cached, most recent last, each with the `evicted` count at that
   * read; bounded so it cannot grow without end.
   */
  const readUncached = new Map<string, number>();
  const readUncachedLimit = 4096;

  const drop = (streamId: string): void => {
    const events = streams.get(streamId);
    if (!events) return;
    total -= events.length;
    streams.delete(streamId);
  };

  const evictFor = (keep: string): void => {
    for (const [streamId, events] of streams) {
      if (total <= maxEvents) return;
      if (streamId === keep) continue;
      evicted += events.length;
      drop(streamId);
    }
  };

  const rememberUncached = (streamId: string): void => {
    readUncached.set(streamId, evicted);
    if (readUncached.size > readUncachedLimit) {
      for (const oldest of readUncached.keys()) {
        readUncached.delete(oldest);
        break;
      }
    }
  };

  /** Whether a stream read uncached at turnover `readAt` is read again soon enough to be cached. */
  const readLately = (readAt: number | undefined): readAt is number =>
    readAt !== undefined && evicted - readAt < maxEvents;

  return {
    wouldCache: (streamId) => streams.has(streamId) || readLately(readUncached.get(streamId)),
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
      const readAt = readUncached.get(streamId);
      readUncached.delete(streamId);
      if (!readLately(readAt)) {
        rememberUncached(streamId);
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
      if (total > maxEvents) {
        evicted += events.length;
        drop(streamId);
      }
    },
    drop,
    clear: () => {
      streams.clear();
      readUncached.clear();
      total = 0;
    },
  };
};
