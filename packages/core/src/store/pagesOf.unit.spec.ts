import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../events/envelope.js';
import { pagesOf } from './eventStore.js';

/** Stand-ins for recorded events: pagesOf only groups them, it never looks inside. */
const events = (count: number): RecordedEvent[] =>
  Array.from({ length: count }, (_, i) => ({ id: `e${i}`, position: BigInt(i + 1) }) as RecordedEvent);

async function* source(list: readonly RecordedEvent[], failAfter?: number): AsyncGenerator<RecordedEvent> {
  for (const [i, event] of list.entries()) {
    if (i === failAfter) throw new Error('the connection dropped');
    yield event;
  }
}

const collect = async <T>(iterable: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
};

describe('pagesOf', () => {
  it('groups events into full pages and a last, shorter one, keeping their order', async () => {
    const pages = await collect(pagesOf(source(events(7)), 3));
    expect(pages.map((page) => page.map((event) => event.id))).toEqual([
      ['e0', 'e1', 'e2'],
      ['e3', 'e4', 'e5'],
      ['e6'],
    ]);
  });

  it('gives no page at all for no events', async () => {
    expect(await collect(pagesOf(source([]), 3))).toEqual([]);
  });

  it('hands out the events read before a failure as a page, then the failure', async () => {
    const pages: RecordedEvent[][] = [];
    let failure: unknown;
    try {
      for await (const page of pagesOf(source(events(7), 5), 3)) pages.push(page);
    } catch (error) {
      failure = error;
    }
    expect(pages.map((page) => page.length)).toEqual([3, 2]);
    expect((failure as Error).message).toBe('the connection dropped');
  });

  it('refuses a page size that is not a whole number of 1 or more', async () => {
    await expect(collect(pagesOf(source(events(1)), 0))).rejects.toThrow(/1 or more events/);
    await expect(collect(pagesOf(source(events(1)), 2.5))).rejects.toThrow(/whole number; got 2.5/);
  });
});
