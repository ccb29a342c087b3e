import { randomUUID } from 'node:crypto';
import { createSqliteEventStore } from '@lantern/adapters/sqlite';
import type { NewEvent } from '@lantern/core';

// Child process: appends big batches from several writers at once, forever, until it is killed.
// Every event of batch b carries `r{round}-b{b}-n{size}` as its clubId and its index in the batch
// as its attendance count, so a reader can tell whether each stored batch is whole. A line
// "committed {clubId}" is printed once a batch's append resolved, i.e. once it is durable.
const [path = '', round = '0', writers = '3'] = process.argv.slice(2);
const store = createSqliteEventStore({ path });
let next = 0;

const batch = (b: number): { clubId: string; events: NewEvent[] } => {
  const size = 50 + ((b * 197) % 700);
  const clubId = `r${round}-b${b}-n${size}`;
  const events = Array.from({ length: size }, (_, i) => ({
    id: randomUUID(),
    type: 'ClubSessionHeld',
    data: {
      clubId,
      heldOn: '2019-03-02',
      activity: 'healing-arts',
      attendance: [
        { sex: 'female', ageBand: '5-11', count: i },
        { sex: 'male', ageBand: '12-17', count: size },
      ],
    },
    metadata: {
      occurredAt: '2019-03-02T16:00:00+07:00',
      recordedBy: 'st_5a1c0b7e2d4a61f3',
      schemaVersion: 1,
    },
  }));
  return { clubId, events };
};

const writer = async (w: number): Promise<never> => {
  for (;;) {
    const { clubId, events } = batch(next++);
    await store.append(`club-crash-${w}`, events);
    console.log(`committed ${clubId}`);
  }
};

await Promise.all(Array.from({ length: Number(writers) }, (_, w) => writer(w)));
