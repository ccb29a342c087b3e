import { createMemoryEventStore, createMemoryReadModelStore } from '@lantern/adapters/memory';
import type { NewEvent, ReadModelStore, RecordedEvent } from '@lantern/core';
import { catalogEvent } from '@lantern/core/testing';
import { describe, expect, it } from 'vitest';
import { defineProjection, type PoisonPolicy, type Projection, type ProjectionView } from './projection.js';
import { createProjectionEngine } from './projectionEngine.js';

const closed = (clubId: string): NewEvent =>
  catalogEvent(
    'ClubClosed',
    { clubId, reason: 'premises' },
    { occurredAt: '2019-04-01T09:00:00+07:00', recordedBy: 'st_5a1c0b7e2d4a61f3' },
  );

const clubOf = (event: RecordedEvent): string => (event.data as { clubId: string }).clubId;

/**
 * Counts closures per club and in all. `apply` reads and puts both at every event;
 * `applyEvents` puts the club's count as it goes, and adds the total up in memory to put it once
 * at the end, as a projection that gathers some of its changes would. Both refuse the club
 * "poison", so a run that holds it has half-changed the view when it throws.
 */
const tally = (onPoison: PoisonPolicy, runs: number[]): Projection => {
  const refuse = (event: RecordedEvent): void => {
    if (clubOf(event) === 'poison') throw new Error('cannot count club poison');
  };
  const countOf = (view: ProjectionView, key: string): number => Number(view.get('counts', key)?.n ?? 0);
  return defineProjection({
    name: 'tally',
    version: 1,
    eventTypes: ['ClubClosed'],
    collections: ['counts'],
    onPoison,
    apply: (event, view) => {
      refuse(event);
      view.put('counts', clubOf(event), { n: countOf(view, clubOf(event)) + 1 });
      view.put('counts', 'all', { n: countOf(view, 'all') + 1 });
    },
    applyEvents: (events, view) => {
      runs.push(events.length);
      let added = 0;
      for (const event of events) {
        view.put('counts', clubOf(event), { n: countOf(view, clubOf(event)) + 1 });
        refuse(event);
        // Only here: a fault of applyEvents that apply does not share.
        if (clubOf(event) === 'odd') throw new Error('applyEvents cannot count club odd');
        added += 1;
      }
      view.put('counts', 'all', { n: countOf(view, 'all') + added });
    },
  });
};

const countsIn = async (readModels: ReadModelStore): Promise<Record<string, unknown>> =>
  Object.fromEntries((await readModels.documents('tally', 'counts')).map((row) => [row.key, row.document.n]));

const run = async (clubs: readonly string[], onPoison: PoisonPolicy, eventsPerCommit: number) => {
  const eventStore = createMemoryEventStore();
  const readModels = createMemoryReadModelStore();
  let last = 0n;
  for (const [i, club] of clubs.entries()) {
    last = (await eventStore.append(`club-${i}`, [closed(club)])).position;
  }
  const runs: number[] = [];
  const engine = createProjectionEngine({
    eventStore,
    readModels,
    projections: [tally(onPoison, runs)],
    batchSize: 3,
    eventsPerCommit,
  });
  await engine.start();
  await engine.caughtUp();
  const [status] = engine.status();
  const counts = await countsIn(readModels);
  const deadLetters = await readModels.deadLetters('tally');
  await engine.stop();
  return { runs, status, counts, deadLetters, last };
};

describe('a projection that folds several events at once (applyEvents)', () => {
  it("is given each read's events at once, and leaves what apply one at a time would", async () => {
    const { runs, counts, status, last } = await run(['a', 'b', 'a', 'c', 'a', 'b', 'a'], 'stop', 3);
    expect(runs).toEqual([3, 3, 1]);
    expect(counts).toEqual({ a: 4, all: 7, b: 2, c: 1 });
    expect(status).toMatchObject({ position: last, deadLettered: 0 });
  });

  it('dead-letters the event that fails and keeps each one before it once, stopping there (policy stop)', async () => {
    // Commits every 6 events: the read before the poison's is applied but not committed when
    // applyEvents throws, and must be applied again once, not twice.
    const { counts, deadLetters, status } = await run(['a', 'b', 'a', 'c', 'poison', 'b', 'a'], 'stop', 6);
    expect(deadLetters.map((dead) => dead.error)).toEqual(['cannot count club poison']);
    expect(deadLetters[0]?.position).toBe(5n);
    expect(counts).toEqual({ a: 2, all: 4, b: 1, c: 1 });
    expect(status).toMatchObject({ state: 'failed', position: 4n, deadLettered: 1 });
  });

  it('dead-letters the event that fails and counts every other one once (policy skip)', async () => {
    const { counts, deadLetters, status, last } = await run(
      ['a', 'b', 'a', 'c', 'poison', 'b', 'a', 'poison', 'c'],
      'skip',
      6,
    );
    expect(deadLetters.map((dead) => dead.position)).toEqual([5n, 8n]);
    expect(counts).toEqual({ a: 3, all: 7, b: 2, c: 2 });
    expect(status).toMatchObject({ position: last, deadLettered: 2 });
  });

  it('applies the read one event at a time when applyEvents fails where apply does not, counting each once', async () => {
    const { counts, deadLetters, status, last } = await run(['a', 'b', 'a', 'c', 'odd', 'b', 'a'], 'stop', 6);
    expect(deadLetters).toEqual([]);
    expect(counts).toEqual({ a: 3, all: 7, b: 2, c: 1, odd: 1 });
    expect(status).toMatchObject({ position: last, deadLettered: 0 });
  });

  it('is refused when it would not run through when called, as apply is', () => {
    const shape = {
      name: 'late',
      version: 1,
      eventTypes: ['ClubClosed'],
      collections: ['clubs'],
      apply: () => {},
    };
    expect(() => defineProjection({ ...shape, applyEvents: async () => {} })).toThrow(
      /Projection "late": applyEvents is an async function\. It must be synchronous/,
    );
    expect(() => defineProjection({ ...shape, applyEvents: 'no' as never })).toThrow(
      /applyEvents must be a function \(events, view\) => void; got string/,
    );
  });
});
