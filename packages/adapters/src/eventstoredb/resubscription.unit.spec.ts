import { describe, expect, it } from 'vitest';
import { resubscription } from './resubscription.js';

describe('resubscription', () => {
  it('doubles the wait from the initial delay up to the longest, then gives up after maxAttempts', () => {
    const retry = resubscription({ initialDelayMs: 100, maxDelayMs: 1_000, maxAttempts: 6 });
    expect([1, 2, 3, 4, 5, 6, 7].map((attempt) => retry.delayFor(attempt))).toEqual([
      100,
      200,
      400,
      800,
      1_000,
      1_000,
      undefined,
    ]);
  });

  it('defaults to 100 ms doubling to 5 s, ten attempts', () => {
    const retry = resubscription();
    expect(retry.delayFor(1)).toBe(100);
    expect(retry.delayFor(10)).toBe(5_000);
    expect(retry.delayFor(11)).toBeUndefined();
  });

  it('refuses settings that are not numbers of milliseconds or attempts', () => {
    expect(() => resubscription({ initialDelayMs: -1 })).toThrow(TypeError);
    expect(() => resubscription({ maxAttempts: 1.5 })).toThrow(TypeError);
  });
});
