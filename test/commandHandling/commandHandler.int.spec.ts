import { createMemoryEventStore } from '@lantern/adapters/memory';
import {
  type ClubCommand,
  ConcurrencyError,
  clubDecider,
  type EventStore,
  handleCommand,
  type ProgrammeWindow,
  RuleViolationError,
} from '@lantern/core';
import { v4 as uuidv4, v7 as uuidv7 } from 'uuid';
import { describe, expect, it } from 'vitest';

const programme: ProgrammeWindow = {
  programmeId: 'psk-phnom-penh',
  plannedStart: '2018-12-01',
  plannedEnd: '2020-11-30',
  timeZone: 'Asia/Phnom_Penh',
  currency: 'USD',
};
const decider = clubDecider(programme);
const metadata = { occurredAt: '2019-03-01T16:00:00+07:00', recordedBy: 'st_00000000000000a1' };
const establish: ClubCommand = {
  type: 'EstablishClub',
  metadata,
  data: {
    programmeId: 'psk-phnom-penh',
    clubId: 'club-01',
    name: 'Riverfront Kids Club 1',
    area: 'KH-12-02',
    kind: 'kids-club',
    establishedOn: '2019-02-01',
  },
};
const session = (heldOn: string, commandId?: string): ClubCommand => ({
  type: 'HoldClubSession',
  metadata: commandId ? { ...metadata, commandId } : metadata,
  data: {
    clubId: 'club-01',
    heldOn,
    activity: 'play',
    attendance: [{ sex: 'female', ageBand: '5-11', count: 5 }],
  },
});
const streamId = 'club-club-01';

const readTypes = async (store: EventStore): Promise<string[]> => {
  const types: string[] = [];
  for await (const event of store.readStream(streamId)) types.push(event.type);
  return types;
};

/**
 * A store where another writer slips a session in just before each of our first `races`
 * appends: the append then meets a real ConcurrencyError from the store.
 */
const racingStore = (store: EventStore, races: number): EventStore & { raced: () => number } => {
  let raced = 0;
  return {
    ...store,
    raced: () => raced,
    append: async (stream, events, options) => {
      if (raced < races) {
        raced += 1;
        await handleCommand({ store, decider, streamId, command: session(`2019-03-${10 + raced}`) });
      }
      return store.append(stream, events, options);
    },
  };
};

describe('handleCommand', () => {
  it('loads the stream, decides and appends with the revision it read', async () => {
    const store = createMemoryEventStore();
    const first = await handleCommand({ store, decider, streamId, command: establish });
    expect(first.written).toBe(true);
    expect(first.nextExpectedRevision).toBe(0n);
    expect(first.state).toMatchObject({ status: 'active', clubId: 'club-01' });
    const second = await handleCommand({ store, decider, streamId, command: session('2019-03-01') });
    expect(second.nextExpectedRevision).toBe(1n);
    expect(second.events[0]?.metadata).toMatchObject({
      occurredAt: metadata.occurredAt,
      recordedBy: metadata.recordedBy,
      schemaVersion: 1,
    });
    expect(await readTypes(store)).toEqual(['ClubEstablished', 'ClubSessionHeld']);
  });

  it('writes nothing when the decider refuses', async () => {
    const store = createMemoryEventStore();
    await expect(handleCommand({ store, decider, streamId, command: session('2019-03-01') })).rejects.toThrow(
      RuleViolationError,
    );
    await handleCommand({ store, decider, streamId, command: establish });
    await expect(handleCommand({ store, decider, streamId, command: establish })).rejects.toThrow(
      /already established/,
    );
    expect(await readTypes(store)).toEqual(['ClubEstablished']);
  });

  it('decides again after another writer got there first', async () => {
    const memory = createMemoryEventStore();
    await handleCommand({ store: memory, decider, streamId, command: establish });
    const store = racingStore(memory, 2);
    const result = await handleCommand({ store, decider, streamId, command: session('2019-03-01') });
    expect(store.raced()).toBe(2);
    expect(result.nextExpectedRevision).toBe(3n);
    expect(result.state).toMatchObject({ sessionsHeld: 3 });
    expect(await readTypes(memory)).toEqual([
      'ClubEstablished',
      'ClubSessionHeld',
      'ClubSessionHeld',
      'ClubSessionHeld',
    ]);
  });

  it('gives up with the ConcurrencyError after maxRetries', async () => {
    const memory = createMemoryEventStore();
    await handleCommand({ store: memory, decider, streamId, command: establish });
    const store = racingStore(memory, 10);
    await expect(
      handleCommand({ store, decider, streamId, command: session('2019-03-01'), maxRetries: 2 }),
    ).rejects.toThrow(ConcurrencyError);
    expect(store.raced()).toBe(3);
    // Only the other writer's three sessions were stored, none of ours.
    expect(await readTypes(memory)).toHaveLength(4);
  });

  it('answers a resent command from the stream and stores nothing twice', async () => {
    const store = createMemoryEventStore();
    await handleCommand({ store, decider, streamId, command: establish });
    const commandId = uuidv4();
    const first = await handleCommand({
      store,
      decider,
      streamId,
      command: session('2019-03-01', commandId),
    });
    const resent = await handleCommand({
      store,
      decider,
      streamId,
      command: session('2019-03-01', commandId),
    });
    expect(first.written).toBe(true);
    expect(resent.written).toBe(false);
    expect(resent.nextExpectedRevision).toBe(first.nextExpectedRevision);
    expect(first.events[0]?.metadata.causationId).toBe(commandId);
    expect(await readTypes(store)).toEqual(['ClubEstablished', 'ClubSessionHeld']);
  });
});

describe('event ids derived from a command id', () => {
  it('stay time-ordered uuid v7 when the command id is a v7, and repeat when the command is resent', async () => {
    const store = createMemoryEventStore();
    await handleCommand({ store, decider, streamId, command: establish });
    const commandIds = [uuidv7(), uuidv7(), uuidv7()];
    const ids: string[] = [];
    for (const [i, commandId] of commandIds.entries()) {
      const result = await handleCommand({
        store,
        decider,
        streamId,
        command: session(`2019-03-0${i + 1}`, commandId),
      });
      const id = result.events[0]?.id ?? '';
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      // The command's 48-bit timestamp leads the event id.
      expect(id.replaceAll('-', '').slice(0, 12)).toBe(commandId.replaceAll('-', '').slice(0, 12));
      expect(id).not.toBe(commandId);
      ids.push(id);
    }
    // Ordered by their millisecond timestamps, as the command ids are.
    const stamps = ids.map((id) => id.slice(0, 13));
    expect([...stamps].sort()).toEqual(stamps);
    const replay = createMemoryEventStore();
    await handleCommand({ store: replay, decider, streamId, command: establish });
    const again = await handleCommand({
      store: replay,
      decider,
      streamId,
      command: session('2019-03-01', commandIds[0]),
    });
    expect(again.events[0]?.id).toBe(ids[0]);
  });

  it('are name-based uuids when the command id is not a v7', async () => {
    const store = createMemoryEventStore();
    await handleCommand({ store, decider, streamId, command: establish });
    const result = await handleCommand({
      store,
      decider,
      streamId,
      command: session('2019-03-01', uuidv4()),
    });
    expect(result.events[0]?.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-/);
  });
});
