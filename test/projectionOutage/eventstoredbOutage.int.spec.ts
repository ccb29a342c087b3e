import { createEventStoreDBEventStore } from '@lantern/adapters/eventstoredb';
import { createMemoryReadModelStore } from '@lantern/adapters/memory';
import { createProjectionEngine } from '@lantern/projections';
import { v4 as uuidv4 } from 'uuid';
import { afterAll, expect, inject, it, vi } from 'vitest';
import { connectToDoubleControl } from '../eventstoredbDouble/doubleControl.js';
import { clubTotals } from '../multiInstance/clubTotals.js';
import { clubSessionHeld } from '../storeContract/fixtures.js';

// The projection engine with its events in EventStoreDB (the wire double), when the node goes
// away for a while: the live subscription drops and the calls after it fail as UNAVAILABLE.

const double = inject('eventstoredbDouble');
const control = connectToDoubleControl(double.address);
afterAll(() => control.close());

it('goes on from its checkpoint once EventStoreDB is back, reporting the failures meanwhile, counting each event once', async () => {
  // A connection name of its own, so the double's failures reach only this test's calls, and a
  // stream prefix of its own, so it reads only its own events from the shared double.
  const connectionName = `outage-${uuidv4()}`;
  const streamPrefix = `t${uuidv4().slice(0, 8)}.`;
  const eventStore = createEventStoreDBEventStore(
    { connectionString: `${double.connectionString}&connectionName=${connectionName}` },
    { streamPrefix, resubscribe: { initialDelayMs: 1, maxAttempts: 1 } },
  );
  // The field's app appends through a connection of its own, which the outage does not reach.
  const field = createEventStoreDBEventStore(
    { connectionString: `${double.connectionString}&connectionName=field-${uuidv4()}` },
    { streamPrefix },
  );
  const readModels = createMemoryReadModelStore();
  const engine = createProjectionEngine({
    eventStore,
    readModels,
    projections: [clubTotals],
    retryDelayMs: 5,
    maxRetryDelayMs: 20,
  });
  try {
    let last = 0n;
    for (const day of ['01', '02', '03']) {
      last = (
        await field.append('club-riverfront-1', [
          clubSessionHeld('riverfront-1', { heldOn: `2019-03-${day}` }),
        ])
      ).position;
    }
    await engine.start();
    await engine.waitFor(last);

    // The node goes away: the live call drops, and the next subscribes and reads fail.
    await control.failNext({ connectionName, call: 'subscribe', error: 'unavailable', times: 3 });
    await control.failNext({ connectionName, call: 'read', error: 'unavailable', times: 3 });
    expect((await control.dropSubscriptions({ connectionName })).dropped).toBe(1);
    await vi.waitFor(() => expect(engine.status()[0]?.retries ?? 0).toBeGreaterThanOrEqual(2), {
      timeout: 10_000,
    });
    expect(engine.status()[0]).toMatchObject({ position: last, error: expect.any(String) });

    for (const day of ['04', '05', '06']) {
      last = (
        await field.append('club-riverfront-1', [
          clubSessionHeld('riverfront-1', { heldOn: `2019-03-${day}` }),
        ])
      ).position;
    }
    await engine.waitFor(last);
    expect(await readModels.getDocument('club_totals', 'clubs', 'riverfront-1')).toEqual({
      sessions: 6,
      children: 66,
    });
    expect(engine.status()[0]).toMatchObject({ position: last });
    expect(engine.status()[0]).not.toHaveProperty('error');
    expect(engine.status()[0]).not.toHaveProperty('retries');
    const calls = (await control.calls({ connectionName })).calls;
    // Every failure injected was met: the engine kept trying until the node answered.
    expect(calls.subscribe ?? 0).toBeGreaterThanOrEqual(4);
    expect(calls.read ?? 0).toBeGreaterThanOrEqual(4);
  } finally {
    await engine.stop();
    await readModels.close();
    await eventStore.close();
    await field.close();
  }
});
