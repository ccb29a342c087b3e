/**
 * Checks every adapter makes on what its callers pass, so each store refuses bad arguments with
 * the same words, and hands out events callers cannot change.
 */

/** A `maxCount` option: a whole number of events, 0 or more; no limit when absent. */
export const parseMaxCount = (maxCount: number | undefined): number => {
  if (maxCount === undefined) return Number.POSITIVE_INFINITY;
  if (!Number.isInteger(maxCount) || maxCount < 0) {
    throw new TypeError(`maxCount must be a whole number of events, 0 or more; got ${maxCount}.`);
  }
  return maxCount;
};

/** A stream name: a non-empty string. */
export const parseStreamId = (streamId: unknown): string => {
  if (typeof streamId !== 'string' || streamId === '') {
    throw new TypeError('A stream name must be a non-empty string such as "case-PP-2020-014".');
  }
  return streamId;
};

/** Freezes a value and everything in it, so an event handed out cannot be changed by its reader. */
export const deepFreeze = <T>(value: T): T => {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
};
