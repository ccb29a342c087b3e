import { createMemoryEventStore } from '@lantern/adapters/memory';
import { recordPhnomPenh } from './record.js';
import { formatHeadlines, summarise } from './summary.js';

/** Records the programme into a store and prints its headline figures. */
const main = async (): Promise<void> => {
  const store = createMemoryEventStore();
  const started = performance.now();
  const recorded = await recordPhnomPenh(store);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `Recorded ${recorded.written} events from ${recorded.commands} commands in ${seconds} s, every one checked by the programme's rules.\n`,
  );
  console.log(formatHeadlines(await summarise(store.readAll()), 'in-memory store'));
  await store.close();
};

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
