import type { RecordedEvent } from '@lantern/core';
import { describe, expect, it } from 'vitest';
import { type Chunk, chunkedEvents } from './chunkedEvents.js';
import type { EventRow } from './storedEvents.js';

const rowAt = (position: number): EventRow =>
  [position, 's-1', position - 1, `id-${position}`, 'T', 1, '{}\u0000{}', '', null] as const;

const eventOf = (row: EventRow): RecordedEvent =>
  ({ id: row[3], position: BigInt(row[0]) }) as unknown as RecordedEvent;

const ids = async (events: AsyncIterable<RecordedEvent>): Promise<string[]> => {
  const seen: string[] = [];
  for await (const event of events) seen.push(event.id);
  return seen;
};

describe('chunkedEvents', () => {
  it('hands out the events of every chunk in order, rows and ready events alike', async () => {
    async function* chunks(): AsyncGenerator<Chunk, void> {
      yield { rows: [rowAt(1), rowAt(2)] };
      yield { rows: [] };
      yield { events: [eventOf(rowAt(3))] };
      yield { rows: [rowAt(4)] };
    }
    expect(await ids(chunkedEvents(chunks, eventOf, () => undefined))).toEqual([
      'id-1',
      'id-2',
      'id-3',
      'id-4',
    ]);
  });

  it('hands out every event before a row that does not read, then rejects and ends', async () => {
    let closed = false;
    async function* chunks(): AsyncGenerator<Chunk, void> {
      try {
        yield { rows: [rowAt(1), rowAt(2), rowAt(3)] };
        yield { rows: [rowAt(4)] };
      } finally {
        closed = true;
      }
    }
    const readRow = (row: EventRow): RecordedEvent => {
      if (row[0] === 2) throw new Error('row 2 is damaged');
      return eventOf(row);
    };
    const iterator = chunkedEvents(chunks, readRow, () => undefined)[Symbol.asyncIterator]();
    expect((await iterator.next()).value?.id).toBe('id-1');
    await expect(iterator.next()).rejects.toThrow('row 2 is damaged');
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(true);
  });

  it('answers next() calls made before the previous one settled in order, as an async generator does', async () => {
    async function* chunks(): AsyncGenerator<Chunk, void> {
      await new Promise((resolve) => setImmediate(resolve));
      yield { rows: [rowAt(1)] };
      await new Promise((resolve) => setImmediate(resolve));
      yield { rows: [rowAt(2)] };
    }
    const iterator = chunkedEvents(chunks, eventOf, () => undefined)[Symbol.asyncIterator]();
    const results = await Promise.all([iterator.next(), iterator.next(), iterator.next()]);
    expect(results.map((result) => (result.done ? 'done' : result.value.id))).toEqual([
      'id-1',
      'id-2',
      'done',
    ]);
  });

  it('closes its source when the reader stops early, and checks before every further event', async () => {
    let closed = false;
    let checks = 0;
    async function* chunks(): AsyncGenerator<Chunk, void> {
      try {
        yield { rows: [rowAt(1), rowAt(2), rowAt(3)] };
      } finally {
        closed = true;
      }
    }
    for await (const event of chunkedEvents(chunks, eventOf, () => {
      checks += 1;
    })) {
      if (event.id === 'id-2') break;
    }
    expect(closed).toBe(true);
    expect(checks).toBeGreaterThanOrEqual(2);
  });

  it('ends with the check’s error when the store closes between two events', async () => {
    let open = true;
    async function* chunks(): AsyncGenerator<Chunk, void> {
      yield { rows: [rowAt(1), rowAt(2)] };
    }
    const iterator = chunkedEvents(chunks, eventOf, () => {
      if (!open) throw new Error('the store is closed');
    })[Symbol.asyncIterator]();
    expect((await iterator.next()).value?.id).toBe('id-1');
    open = false;
    await expect(iterator.next()).rejects.toThrow('the store is closed');
    expect((await iterator.next()).done).toBe(true);
  });
});
