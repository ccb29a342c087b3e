import { ConcurrencyError, isStoreError } from '@lantern/core';
import { describe, expect, it } from 'vitest';
import { translateError } from './translateError.js';

describe('translating EventStoreDB errors', () => {
  it('passes Lantern’s own errors through unchanged', () => {
    const conflict = new ConcurrencyError('club-a', 'noStream', 2n);
    expect(translateError(conflict, { action: 'append to club-a' })).toBe(conflict);
  });

  it('turns a Node error with a code of its own into a StoreError that says what was being done', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:2113'), { code: 'ECONNREFUSED' });
    const translated = translateError(refused, { action: 'append to club-a' });
    expect(isStoreError(translated)).toBe(true);
    expect(translated.message).toContain('append to club-a');
    expect(translated.message).toContain('ECONNREFUSED');
    expect((translated as Error & { cause?: unknown }).cause).toBe(refused);
  });
});
