import { mkdirSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import {
  createSqliteEventStore,
  createSqliteKeyStore,
  createSqliteReadModelStore,
} from '@lantern/adapters/sqlite';
import { createProtectedEventStore } from '@lantern/core';
import { formatDonorView, formatIndicators, programmeProjections, updateReadModels } from './indicators.js';
import { programmeAnalyst, programmeDonor, recordPhnomPenh } from './record.js';
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

/**
 * The children's data keys live in a file of their own beside the store (`lantern.db` →
 * `lantern-keys.db`): the store's file, read models included, can go to an analyst, and without
 * the keys it opens no narrative (see docs/privacy.md, "Key stores").
 */
const keyFileFor = (path: string): string => {
  const extension = extname(path);
  return `${extension === '' ? path : path.slice(0, -extension.length)}-keys${extension || '.db'}`;
};

/** Records the programme into the SQLite store and prints its headline figures. */
const main = async (): Promise<void> => {
  const path = databasePath();
  const keysPath = keyFileFor(path);
  mkdirSync(dirname(path), { recursive: true });
  const events = createSqliteEventStore({ path });
  const keyStore = createSqliteKeyStore({ path: keysPath });
  // Recorded through the protecting store: narratives are sealed with each child's key on the way in.
  const store = createProtectedEventStore(events, { keyStore });
  try {
    console.log(`Lantern event store: ${path}`);
    console.log(`Children's data keys: ${keysPath}`);
    const started = performance.now();
    const recorded = await recordPhnomPenh(store);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      `Recorded ${recorded.written} new events from ${recorded.commands} commands in ${seconds} s, every one checked by the programme's rules.\n`,
    );
    // Figures need no narrative: they are read from the store itself, where narratives stay sealed.
    console.log(formatHeadlines(await summarise(events.readAll()), `SQLite store ${path}`));
    // Read models live in the same file: an analyst can query them with the sqlite3 shell.
    const readModels = createSqliteReadModelStore({ path });
    try {
      const projections = programmeProjections();
      await updateReadModels(events, readModels, projections);
      console.log(`\n${await formatIndicators(readModels, projections, programmeAnalyst)}`);
      console.log(`\n${await formatDonorView(readModels, projections, programmeDonor)}`);
    } finally {
      await readModels.close();
    }
  } finally {
    await store.close();
    await keyStore.close();
  }
};

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
