import { randomUUID } from 'node:crypto';
import { createSqliteEventStore } from '@lantern/adapters/sqlite';

// Child process: appends `count` club sessions to `stream`, one append each, printing each id once
// it is committed, then "done".
const [path = '', stream = '', count = '0'] = process.argv.slice(2);
const store = createSqliteEventStore({ path });
for (let i = 0; i < Number(count); i += 1) {
  const id = randomUUID();
  await store.append(stream, [
    {
      id,
      type: 'ClubSessionHeld',
      data: {
        clubId: 'riverfront-1',
        heldOn: '2019-03-02',
        activity: 'play',
        attendance: [{ sex: 'female', ageBand: '5-11', count: i }],
      },
      metadata: {
        occurredAt: '2019-03-02T16:00:00+07:00',
        recordedBy: 'st_5a1c0b7e2d4a61f3',
        schemaVersion: 1,
      },
    },
  ]);
  console.log(id);
  await new Promise((resolve) => setTimeout(resolve, 2));
}
await store.close();
console.log('done');
