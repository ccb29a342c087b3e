import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteEventStore } from '@lantern/adapters/sqlite';
import type { RecordedEvent } from '@lantern/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runChild, waitFor } from './children.js';

// A writer killed with SIGKILL in the middle of appending leaves each batch whole or absent, and
// every batch it was told was committed is there after a restart.

interface Batch {
  streamId: string;
  size: number;
  events: RecordedEvent[];
}

const attendance = (event: RecordedEvent): number[] =>
  (event.data as { attendance: { count: number }[] }).attendance.map((cell) => cell.count);

describe('the sqlite event store, killed while appending', () => {
  let dir: string;
  let path: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lantern-crash-'));
    path = join(dir, 'lantern.db');
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every batch whole or not at all, and every acknowledged batch', async () => {
    const acknowledged = new Set<string>();
    for (let round = 0; round < 3; round += 1) {
      const child = runChild('./appendUntilKilled.ts', [path, String(round), '3']);
      const committed = () => child.lines.filter((line) => line.startsWith(`committed r${round}-`));
      await waitFor(() => committed().length >= 6, 'the writer committed some batches', child);
      child.process.kill('SIGKILL');
      const { signal } = await child.exited;
      expect(signal).toBe('SIGKILL');
      for (const line of committed()) acknowledged.add(line.slice('committed '.length));

      const store = createSqliteEventStore({ path });
      try {
        const batches = new Map<string, Batch>();
        for await (const event of store.readAll()) {
          const clubId = (event.data as { clubId: string }).clubId;
          const size = Number(/-n(\d+)$/.exec(clubId)?.[1]);
          const batch = batches.get(clubId) ?? { streamId: event.streamId, size, events: [] };
          batch.events.push(event);
          batches.set(clubId, batch);
        }
        for (const [clubId, batch] of batches) {
          const { events, size, streamId } = batch;
          expect(events.length, `batch ${clubId}`).toBe(size);
          expect(events.map((event) => attendance(event)[0])).toEqual(events.map((_, i) => i));
          expect(events.every((event) => attendance(event)[1] === size && event.streamId === streamId)).toBe(
            true,
          );
          const first = events[0]?.revision ?? 0n;
          expect(events.map((event) => event.revision)).toEqual(events.map((_, i) => first + BigInt(i)));
        }
        for (const clubId of acknowledged) expect(batches.has(clubId), `acknowledged ${clubId}`).toBe(true);
      } finally {
        await store.close();
      }
    }
  }, 180_000);
});
