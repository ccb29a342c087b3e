import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteEventStore, createSqliteReadModelStore } from '@lantern/adapters/sqlite';
import type { EventStore, ReadModelStore, RecordedEvent } from '@lantern/core';
import { createProjectionEngine } from '@lantern/projections';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Child, runChild, waitFor } from '../sqlite/children.js';
import { type ClubTotals, clubTotals, foldClubTotals, sessionHeld } from './clubTotals.js';

// A projection engine killed with SIGKILL in the middle of catching up leaves its read model
// exactly at its checkpoint; run again, it ends with the fold of the log: nothing counted twice,
// nothing lost. Events and read models share one SQLite file, as they do by default.

const eventCount = 20_000;
/** Events per read. */
const batchSize = 100;
/** Events per commit while catching up (three reads): small, so that a kill lands between many commits. */
const eventsPerCommit = 300;
/** Where the child is killed, as fractions of the log: each run resumes where the last one died. */
const killPoints = [0.1, 0.3, 0.5];

const readModelOf = async (readModels: ReadModelStore): Promise<Record<string, ClubTotals>> =>
  Object.fromEntries(
    (await readModels.documents(clubTotals.name, 'clubs')).map(({ key, document }) => [
      key,
      document as ClubTotals,
    ]),
  );

describe('the projection engine on sqlite, killed while catching up', () => {
  let dir: string;
  let path: string;
  let events: RecordedEvent[];
  let last: bigint;
  const children: Child[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lantern-projection-crash-'));
    path = join(dir, 'lantern.db');
    const store = createSqliteEventStore({ path });
    try {
      for (let n = 0; n < eventCount; n += 500) {
        await store.append(
          `club-sessions-${n / 500}`,
          Array.from({ length: 500 }, (_, i) => sessionHeld(n + i)),
        );
      }
      events = [];
      for await (const event of store.readAll()) events.push(event);
      last = events.at(-1)?.position ?? 0n;
    } finally {
      await store.close();
    }
  }, 60_000);

  afterAll(() => {
    // A child left running by a failed wait would run live for ever: it is ended here.
    for (const { process: child } of children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the read model at its checkpoint at every kill, and ends with the fold of the log', async () => {
    expect(events).toHaveLength(eventCount);
    let reached = 0n;
    for (const fraction of killPoints) {
      const killAt = BigInt(Math.floor(Number(last) * fraction));
      const child = runChild('../projectionCrash/projectUntilKilled.ts', [
        path,
        String(batchSize),
        String(eventsPerCommit),
      ]);
      children.push(child);
      const committed = () =>
        child.lines.filter((line) => line.startsWith('committed ')).map((line) => BigInt(line.slice(10)));
      await waitFor(
        () => committed().some((position) => position >= killAt),
        `the engine passed ${killAt}`,
        child,
      );
      child.process.kill('SIGKILL');
      expect((await child.exited).signal).toBe('SIGKILL');

      const readModels = createSqliteReadModelStore({ path });
      try {
        const checkpoint = await readModels.checkpoint(clubTotals.name);
        const position = checkpoint?.position ?? 0n;
        // Killed mid-catch-up: the checkpoint moved on from where the last run died, not to the end.
        expect(position).toBeGreaterThanOrEqual(killAt);
        expect(position).toBeGreaterThan(reached);
        expect(position).toBeLessThan(last);
        expect(checkpoint?.status).toBe('active');
        expect(await readModelOf(readModels)).toEqual(
          foldClubTotals(events.filter((e) => e.position <= position)),
        );
        reached = position;
      } finally {
        await readModels.close();
      }
    }

    // The last run, in this process, to the end of the log.
    const eventStore: EventStore = createSqliteEventStore({ path });
    const readModels = createSqliteReadModelStore({ path });
    const engine = createProjectionEngine({
      eventStore,
      readModels,
      projections: [clubTotals],
      batchSize,
      eventsPerCommit,
    });
    try {
      await engine.start();
      await engine.waitFor(last);
      await engine.stop();
      expect(await readModels.checkpoint(clubTotals.name)).toMatchObject({
        position: last,
        status: 'active',
      });
      expect(await readModelOf(readModels)).toEqual(foldClubTotals(events));
    } finally {
      await engine.stop();
      await readModels.close();
      await eventStore.close();
    }
  }, 60_000);
});
