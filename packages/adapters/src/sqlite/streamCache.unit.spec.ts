import type { RecordedEvent } from '@lantern/core';
import { describe, expect, it } from 'vitest';
import { createStreamCache, type StreamCache } from './streamCache.js';

/** Reads a stream of `length` events as the store does: from the cache, or else starts caching it. */
const read = (cache: StreamCache, streamId: string, length: number): 'hit' | 'cached' | 'uncached' => {
  if (cache.get(streamId)) return 'hit';
  const events = cache.start(streamId, length);
  if (!events) return 'uncached';
  for (let i = 0; i < length; i += 1) events.push({ id: `${streamId}-${i}` } as RecordedEvent);
  cache.grew(streamId, events, length);
  return 'cached';
};

describe('the stream cache', () => {
  it('caches a stream from its second read, and serves the third from memory', () => {
    const cache = createStreamCache(1_000);
    expect(read(cache, 'club-a', 10)).toBe('uncached');
    expect(read(cache, 'club-a', 10)).toBe('cached');
    expect(read(cache, 'club-a', 10)).toBe('hit');
    expect(cache.get('club-a')).toHaveLength(10);
  });

  it('never caches a stream longer than it holds', () => {
    const cache = createStreamCache(100);
    expect(read(cache, 'club-a', 101)).toBe('uncached');
    expect(read(cache, 'club-a', 101)).toBe('uncached');
  });

  it('stops caching streams read round after round when a round holds more than the cache', () => {
    // 50 streams of 100 events a round: five times what the cache holds.
    const cache = createStreamCache(1_000);
    const streams = Array.from({ length: 50 }, (_, i) => `club-${i}`);
    const rounds = Array.from({ length: 6 }, () => streams.map((id) => read(cache, id, 100)));
    const count = (outcome: string) => rounds.map((outcomes) => outcomes.filter((o) => o === outcome).length);
    const cached = count('cached');
    const hits = count('hit');
    // Without the rule, every read from the second round on would cache its stream (50 a round)
    // only for it to be evicted before its next read: no round would ever find one in the cache.
    expect(cached[0]).toBe(0);
    for (const taken of cached) expect(taken).toBeLessThanOrEqual(20);
    const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
    expect(sum(hits.slice(2))).toBeGreaterThan(0);
    expect(sum(hits.slice(2))).toBeGreaterThanOrEqual(sum(cached.slice(2)));
  });

  it('keeps caching the streams read often while others pass through', () => {
    const cache = createStreamCache(1_000);
    const outcomes: string[] = [];
    for (let i = 0; i < 200; i += 1) {
      // One hot stream read between every two of 200 streams each read once.
      outcomes.push(read(cache, 'case-hot', 50));
      read(cache, `child-${i}`, 100);
      read(cache, `child-${i}`, 100);
    }
    expect(outcomes.slice(0, 3)).toEqual(['uncached', 'cached', 'hit']);
    expect(outcomes.filter((o) => o === 'hit').length).toBeGreaterThan(150);
  });

  it('tells beforehand whether a read would use it, and start agrees', () => {
    const cache = createStreamCache(1_000);
    // Says false: start then only notes the read.
    expect(cache.wouldCache('club-a')).toBe(false);
    expect(read(cache, 'club-a', 10)).toBe('uncached');
    expect(cache.wouldCache('club-a')).toBe(true);
    expect(read(cache, 'club-a', 10)).toBe('cached');
    expect(cache.wouldCache('club-a')).toBe(true);
    expect(read(cache, 'club-a', 10)).toBe('hit');
    // Read once, then the cache turns over (2,000 events evicted): too late to be cached.
    expect(read(cache, 'club-b', 10)).toBe('uncached');
    for (let i = 0; i < 30; i += 1) {
      read(cache, `child-${i}`, 100);
      read(cache, `child-${i}`, 100);
    }
    expect(cache.wouldCache('club-b')).toBe(false);
    expect(read(cache, 'club-b', 10)).toBe('uncached');
    expect(cache.wouldCache('club-b')).toBe(true);
  });
});
