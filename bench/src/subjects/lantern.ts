import { join } from 'node:path';
import { emptyTally, foldEvent, type Tally } from '../workload.js';
import { openDatabase } from './betterSqlite3.js';
import { reasonOf, type Subject, type SubjectStore } from './subject.js';

type SqliteStoreFactory = typeof import('@lantern/adapters/sqlite').createSqliteEventStore;

/** Loaded on demand, so a store that does not load yet is reported, not a crash of the bench. */
const loadFactory = async (): Promise<SqliteStoreFactory> =>
  (await import('@lantern/adapters/sqlite')).createSqliteEventStore;

const foldInto = async (
  tally: Tally,
  events: AsyncIterable<{ type: string; data: unknown }>,
): Promise<Tally> => {
  for await (const event of events) foldEvent(tally, event.type, event.data);
  return tally;
};

/** Lantern's SQLite event store, `createSqliteEventStore({ path })`, through the EventStore port. */
export const lanternSubject = (): Subject => ({
  label: 'Lantern SQLite',

  probe: async (directory) => {
    let createStore: SqliteStoreFactory;
    try {
      createStore = await loadFactory();
    } catch (error) {
      return { available: false, reason: `@lantern/adapters/sqlite could not be loaded: ${reasonOf(error)}` };
    }
    const path = join(directory, 'lantern-probe.db');
    await createStore({ path }).close();
    // journal_mode is stored in the file, so it can be read from outside; synchronous is per
    // connection, so only the store's source can say (it sets FULL on every open).
    const db = openDatabase(path);
    try {
      const journal = String(db.pragma('journal_mode', { simple: true }));
      return {
        available: true,
        durability: `journal_mode=${journal} (read from the file), synchronous=FULL (set by the store on open, packages/adapters/src/sqlite/database.ts)`,
      };
    } finally {
      db.close();
    }
  },

  open: async (path): Promise<SubjectStore> => {
    const store = (await loadFactory())({ path });
    return {
      append: async (streamId, events) => {
        await store.append(streamId, events);
      },
      readStream: (streamId) => foldInto(emptyTally(), store.readStream(streamId)),
      readAll: () => foldInto(emptyTally(), store.readAll()),
      close: () => store.close(),
    };
  },
});
