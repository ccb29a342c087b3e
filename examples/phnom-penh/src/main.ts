import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createSqliteEventStore, createSqliteReadModelStore } from '@lantern/adapters/sqlite';
import { formatIndicators, programmeProjections, updateReadModels } from './indicators.js';
import { recordPhnomPenh } from './record.js';
import { formatHeadlines, summarise } from './summary.js';

/**
 * The store's file: the first argument, else LANTERN_DB, else ./data/lantern.db. Relative paths
 * are taken from where the command was typed (INIT_CWD, which npm and pnpm set for scripts), so
 * `pnpm start` at the repository's root writes ./data/lantern.db there.
 */
const databasePath = (): string =>
  resolve(
    process.env.INIT_CWD ?? process.cwd(),
    process.argv[2] ?? process.env.LANTERN_DB ?? join('data', 'lantern.db'),
  );

/** Records the programme into the SQLite store and prints its headline figures. */
const main = async (): Promise<void> => {
  const path = databasePath();
  mkdirSync(dirname(path), { recursive: true });
  const store = createSqliteEventStore({ path });
  try {
    console.log(`Lantern event store: ${path}`);
    const started = performance.now();
    const recorded = await recordPhnomPenh(store);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      `Recorded ${recorded.written} new events from ${recorded.commands} commands in ${seconds} s, every one checked by the programme's rules.\n`,
    );
    console.log(formatHeadlines(await summarise(store.readAll()), `SQLite store ${path}`));
    // Read models live in the same file: an analyst can query them with the sqlite3 shell.
    const readModels = createSqliteReadModelStore({ path });
    try {
      const projections = programmeProjections();
      await updateReadModels(store, readModels, projections);
      console.log(`\n${await formatIndicators(readModels, projections)}`);
    } finally {
      await readModels.close();
    }
  } finally {
    await store.close();
  }
};

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
