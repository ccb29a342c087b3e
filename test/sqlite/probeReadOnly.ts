import { randomUUID } from 'node:crypto';
import { createSqliteEventStore } from '@lantern/adapters/sqlite';

// Child process, run as a user who may not write the store's file or directory: opens the store,
// reads it, tries to append, and prints what happened as one line of JSON.
const [path = ''] = process.argv.slice(2);
const result: { read?: number; append?: string; open?: string } = {};
try {
  const store = createSqliteEventStore({ path });
  try {
    let events = 0;
    for await (const _ of store.readAll()) events += 1;
    result.read = events;
    await store.append('club-a', [
      {
        id: randomUUID(),
        type: 'ClubSuspended',
        data: { clubId: 'riverfront-1', reason: 'covid-19-restrictions' },
        metadata: {
          occurredAt: '2020-03-16T09:00:00+07:00',
          recordedBy: 'st_5a1c0b7e2d4a61f3',
          schemaVersion: 1,
        },
      },
    ]);
    result.append = 'written';
  } catch (error) {
    result.append = (error as Error).message;
  } finally {
    await store.close();
  }
} catch (error) {
  result.open = (error as Error).message;
}
console.log(JSON.stringify(result));
