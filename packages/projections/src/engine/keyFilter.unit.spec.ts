import { describe, expect, it } from 'vitest';
import { createKeyFilter } from './keyFilter.js';

describe('the key filter', () => {
  it('never forgets a key and rules out most others while within its capacity', () => {
    const filter = createKeyFilter(10_000);
    for (let i = 0; i < 10_000; i += 1) filter.add(`observations/child-${i}/2019-0${i % 9}`);
    for (let i = 0; i < 10_000; i += 1) {
      expect(filter.mayHave(`observations/child-${i}/2019-0${i % 9}`)).toBe(true);
    }
    let wrong = 0;
    for (let i = 0; i < 10_000; i += 1) if (filter.mayHave(`cases/case-${i}`)) wrong += 1;
    expect(wrong).toBeLessThan(300);
    expect(filter.added).toBeGreaterThan(9_900);
    expect(filter.added).toBeLessThanOrEqual(filter.capacity);
  });

  it('counts a key added again once', () => {
    const filter = createKeyFilter(0);
    filter.add('a');
    filter.add('a');
    expect(filter.added).toBe(1);
    expect(filter.capacity).toBe(1024);
  });
});
