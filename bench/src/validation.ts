import { parseArgs } from 'node:util';
import { defaultEventRegistry, type EventDefinition, type NewEvent } from '@lantern/core';
import { plannedEvents } from './workload.js';

/**
 * What validating event data costs per event: zod's safeParse of the schema as written, against
 * `parse` (zod's own compiled parser, `compile()`, which every event definition uses), and the whole of `validateBatch` (type,
 * id, metadata and data of batches of 100, as every store runs on append). The stores bench's
 * workload, as built in memory and as read back from JSON; every alternative runs back to back in
 * one process, in turn, and the median round is shown.
 */

const usage = `Usage: npx -y pnpm@10 --filter @lantern/bench bench:validation [options]

Options:
  --events N   events of the stores bench's workload      (default 200000)
  --rounds N   rounds of every alternative; the median is shown (default 7)
  --seed N     seed of the workload generator              (default 20190201)
  --help       this text
`;

const { values } = parseArgs({
  args: process.argv.slice(2).filter((arg, i) => !(i === 0 && arg === '--')),
  options: {
    events: { type: 'string' },
    rounds: { type: 'string' },
    seed: { type: 'string' },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  process.stdout.write(usage);
  process.exit(0);
}
const numberOption = (value: string | undefined, fallback: number): number => {
  const n = value === undefined ? fallback : Number(value);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new Error(`expected a whole number of 1 or more, got ${value}`);
  return n;
};
const eventCount = numberOption(values.events, 200_000);
const rounds = numberOption(values.rounds, 7);
const seed = numberOption(values.seed, 20190201);

const built: NewEvent[] = plannedEvents({
  events: eventCount,
  streams: Math.max(1, Math.floor(eventCount / 100)),
  batchSize: 100,
  seed,
}).flatMap((append) => append.events);
const fromJson: NewEvent[] = built.map((event) => JSON.parse(JSON.stringify(event)) as NewEvent);

const definitionOf = (event: NewEvent): EventDefinition => {
  const definition = defaultEventRegistry.get(event.type);
  if (!definition) throw new Error(`unknown event type ${event.type}`);
  return definition;
};
const definitions = built.map(definitionOf);

const batchesOf = (events: readonly NewEvent[]): NewEvent[][] => {
  const batches: NewEvent[][] = [];
  for (let i = 0; i < events.length; i += 100) batches.push(events.slice(i, i + 100));
  return batches;
};

type Alternative = (events: readonly NewEvent[]) => number;

const alternatives: Record<string, Alternative> = {
  'zod safeParse': (events) => {
    let valid = 0;
    for (let i = 0; i < events.length; i++) {
      if ((definitions[i] as EventDefinition).schema.safeParse((events[i] as NewEvent).data).success) valid++;
    }
    return valid;
  },
  'parse (zod compile())': (events) => {
    let valid = 0;
    for (let i = 0; i < events.length; i++) {
      const data = (events[i] as NewEvent).data;
      if ((definitions[i] as EventDefinition).parse(data) !== undefined) valid++;
    }
    return valid;
  },
};
const batchAlternative = (batches: readonly NewEvent[][]): Alternative => {
  return () => {
    let valid = 0;
    for (const batch of batches) valid += defaultEventRegistry.validateBatch(batch).length;
    return valid;
  };
};

const median = (xs: readonly number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

const measure = (label: string, events: readonly NewEvent[]) => {
  const runs: [string, Alternative][] = [
    ...Object.entries(alternatives),
    ['validateBatch (whole append check)', batchAlternative(batchesOf(events))],
  ];
  const timings = new Map<string, number[]>(runs.map(([name]) => [name, []]));
  const counts = new Map<string, number>();
  // One warm-up pass each, then the rounds, taking the alternatives in turn.
  for (const [name, run] of runs) counts.set(name, run(events));
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < runs.length; k++) {
      const [name, run] = runs[(k + round) % runs.length] as [string, Alternative];
      const start = process.hrtime.bigint();
      run(events);
      const microseconds = Number(process.hrtime.bigint() - start) / 1000;
      timings.get(name)?.push(microseconds / events.length);
    }
  }
  const zod = median(timings.get('zod safeParse') ?? []);
  console.log(`\n${label}: ${events.length} events; µs per event, median (fastest) of ${rounds} rounds`);
  for (const [name] of runs) {
    const perEvent = median(timings.get(name) ?? []);
    const fastest = Math.min(...(timings.get(name) ?? []));
    // validateBatch also checks types, ids and metadata: it is context, not a rival of zod's parse.
    const ratio = name.startsWith('parse') ? `  ${(zod / perEvent).toFixed(1)}x zod's speed` : '';
    console.log(
      `  ${name.padEnd(36)} ${perEvent.toFixed(2).padStart(6)} (${fastest.toFixed(2)})${ratio.padEnd(20)}  [${counts.get(name)} of ${events.length} valid]`,
    );
  }
};

console.log(`Node ${process.version}`);
measure('Events as built', built);
measure('Events read back from JSON', fromJson);
