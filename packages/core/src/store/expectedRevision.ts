import type { ExpectedRevision } from '../errors/errors.js';

/** Checks an `expectedRevision` given from untyped code; throws a TypeError that says what fits. */
export const parseExpectedRevision = (value: unknown): ExpectedRevision => {
  if (value === 'any' || value === 'noStream' || value === 'streamExists') return value;
  if (typeof value === 'bigint' && value >= 0n) return value;
  throw new TypeError(
    `expectedRevision must be "any", "noStream", "streamExists" or a bigint revision of 0n or more, such as 3n; got ${String(value)}.`,
  );
};

/** True when a stream whose last revision is `actual` may take an append that expected `expected`. */
export const expectedRevisionFits = (expected: ExpectedRevision, actual: bigint | 'noStream'): boolean => {
  switch (expected) {
    case 'any':
      return true;
    case 'noStream':
      return actual === 'noStream';
    case 'streamExists':
      return actual !== 'noStream';
    default:
      return actual === expected;
  }
};

/**
 * True when a batch resent with `expected` is a retry of one first written at `firstRevision`:
 * the expected revision fits the stream as it was just before that first write.
 */
export const retryFits = (expected: ExpectedRevision, firstRevision: bigint): boolean =>
  expected === 'any' ||
  expected === 'streamExists' ||
  expectedRevisionFits(expected, firstRevision === 0n ? 'noStream' : firstRevision - 1n);
