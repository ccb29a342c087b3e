import { createSqliteEventStore, createSqliteReadModelStore } from '@lantern/adapters/sqlite';
import { createProjectionEngine } from '@lantern/projections';
import { clubTotals } from './clubTotals.js';

// Child process: runs the projection engine over one SQLite file holding both the events and the
// read models, in small reads and commits, until it is killed. A line "committed {position}" is
// printed after each commit returned, i.e. once that checkpoint is durable.
const [path = '', batchSize = '100', eventsPerCommit = '300'] = process.argv.slice(2);
const eventStore = createSqliteEventStore({ path });
const readModels = createSqliteReadModelStore({ path });
const engine = createProjectionEngine({
  eventStore,
  readModels,
  projections: [clubTotals],
  batchSize: Number(batchSize),
  eventsPerCommit: Number(eventsPerCommit),
});
engine.changes.subscribe(({ position }) => console.log(`committed ${position}`));
await engine.start();
console.log('started');
