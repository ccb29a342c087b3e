import { createEventStoreDBEventStore } from '@lantern/adapters/eventstoredb';
import { createPostgresReadModelStore } from '@lantern/adapters/postgres';
import { withLocalCopy } from '@lantern/adapters/sqlite';
import { isLeaseLostError, type ReadModelStore } from '@lantern/core';
import { createProjectionEngine } from '@lantern/projections';
import { clubTotals } from './clubTotals.js';

// Child process: one engine instance running club_totals with a lease, events from the EventStoreDB
// double, read models in PostgreSQL. Once loaded it prints `ready` and waits for a line on stdin
// before it starts the engine (so that loading one process does not starve the other of CPU while
// it holds a short lease). Then it prints one line per commit it made, as soon as the commit
// resolved — `commit {"owner","token","after","position"}` — and `state …` when its state changes,
// until SIGTERM (stops cleanly, releasing its lease) or SIGKILL.
export interface EngineSettings {
  owner: string;
  eventstoredb: string;
  streamPrefix: string;
  postgres: string;
  schema: string;
  leaseTtlMs: number;
  batchSize: number;
  /**
   * When given, documents are paged through a local copy (`withLocalCopy`) in this file, with room
   * for five in memory. A file the test removes: a killed process cannot remove its own.
   */
  localCopy?: string;
}

const settings = JSON.parse(process.argv[2] ?? '{}') as EngineSettings;
const print = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

const eventStore = createEventStoreDBEventStore(
  { connectionString: settings.eventstoredb },
  { streamPrefix: settings.streamPrefix },
);
const store = createPostgresReadModelStore(
  { connectionString: settings.postgres },
  { schema: settings.schema },
);

/** The store, telling the parent about every commit: which lease it was made under, from where to where. */
const printing: ReadModelStore = {
  ...store,
  commit: async (batches) => {
    try {
      await store.commit(batches);
    } catch (error) {
      if (isLeaseLostError(error)) print(`refused ${JSON.stringify(error.message)}`);
      throw error;
    }
    for (const batch of batches) {
      print(
        `commit ${JSON.stringify({
          owner: batch.lease?.owner ?? null,
          token: batch.lease?.token ?? null,
          after: batch.after.toString(),
          position: batch.position.toString(),
        })}`,
      );
    }
  },
};

const readModels =
  settings.localCopy === undefined ? printing : withLocalCopy(printing, { path: settings.localCopy });

const engine = createProjectionEngine({
  eventStore,
  readModels,
  projections: [clubTotals],
  batchSize: settings.batchSize,
  ...(settings.localCopy === undefined ? {} : { documentsInMemory: 5 }),
  instance: { owner: settings.owner, leaseTtlMs: settings.leaseTtlMs },
});

let state = '';
const printState = (): void => {
  const status = engine.status()[0];
  const now = `${status?.state} ${status?.position}${status?.error ? ` ${status.error}` : ''}`;
  if (now !== state) print(`state ${now}`);
  state = now;
};
const watch = setInterval(printState, 10);

process.on('SIGTERM', () => {
  clearInterval(watch);
  engine
    .stop()
    .then(() => Promise.all([readModels.close(), eventStore.close()]))
    .then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
});

print('ready');
await new Promise<void>((resolve) => {
  process.stdin.once('data', () => resolve());
});
await engine.start();
printState();
print('started');
