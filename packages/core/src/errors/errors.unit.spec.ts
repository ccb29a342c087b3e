import { describe, expect, it } from 'vitest';
import {
  ConcurrencyError,
  isLanternError,
  isStoreError,
  LanternError,
  StoreError,
  StreamNotFoundError,
} from './errors.js';

describe('isLanternError', () => {
  it('is true for every Lantern error, and for an application subclass of LanternError', () => {
    class ClubFullError extends LanternError {
      constructor() {
        super('CLUB_FULL', 'The club is full.');
      }
    }
    for (const error of [
      new ConcurrencyError('club-a', 'noStream', 3n),
      new StreamNotFoundError('club-a'),
      new StoreError('the disk is full'),
      new ClubFullError(),
    ]) {
      expect(isLanternError(error)).toBe(true);
    }
  });

  it('is true for a Lantern error from another copy of the package, matched by its code', () => {
    const copy = Object.assign(new Error('Stream "club-a" was not found.'), { code: 'STREAM_NOT_FOUND' });
    expect(isLanternError(copy)).toBe(true);
  });

  it('is false for driver and Node errors, which carry a string code too', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const busy = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
    const postgres = Object.assign(new Error('relation does not exist'), { code: '42P01' });
    for (const error of [refused, busy, postgres, { code: 'STORE' }, 'STORE', null]) {
      expect(isLanternError(error)).toBe(false);
    }
    expect(isStoreError(new StoreError('x'))).toBe(true);
  });
});
