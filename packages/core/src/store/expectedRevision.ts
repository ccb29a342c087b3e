import { ConcurrencyError, type ExpectedRevision, IdempotencyError } from '../errors/errors.js';

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

/** Where a stored event sits, as an adapter looks it up by id. */
export interface StoredPlace {
  readonly streamId: string;
  readonly revision: bigint;
  readonly position?: bigint | undefined;
}

/**
 * Lantern's rule for a batch some of whose ids are stored already, the same in every adapter:
 * `places[i]` is where the batch's `ids[i]` is stored, or undefined. Returns undefined when no
 * id is stored (a new batch), and the place of the last event when the batch is a resend: every
 * id stored, consecutively and in order, in this stream, with an expected revision that fits
 * where they were written. Throws IdempotencyError when only some ids are stored or they sit
 * elsewhere, and ConcurrencyError (with the stream's `actual()` revision) when the expected
 * revision does not fit.
 */
export const resendOf = (
  streamId: string,
  ids: readonly string[],
  places: readonly (StoredPlace | undefined)[],
  expected: ExpectedRevision,
  actual: () => bigint | 'noStream',
): StoredPlace | undefined => {
  const storedIds = ids.filter((_, i) => places[i] !== undefined);
  if (storedIds.length === 0) return undefined;
  if (storedIds.length < ids.length) {
    throw new IdempotencyError(
      streamId,
      storedIds,
      'some of these ids are stored already and others are not',
    );
  }
  const stored = places as readonly StoredPlace[];
  const first = stored[0] as StoredPlace;
  const consecutive = stored.every(
    (place, i) => place.streamId === streamId && place.revision === first.revision + BigInt(i),
  );
  if (!consecutive) {
    const elsewhere = stored.find((place) => place.streamId !== streamId);
    throw new IdempotencyError(
      streamId,
      storedIds,
      elsewhere
        ? `they are stored in stream "${elsewhere.streamId}"`
        : 'they are stored in this stream, but not in this order',
    );
  }
  if (!retryFits(expected, first.revision)) throw new ConcurrencyError(streamId, expected, actual());
  return stored[stored.length - 1];
};
