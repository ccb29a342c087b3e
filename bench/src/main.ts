import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultEventRegistry } from '@lantern/core';
import { readCommandLine } from './cli.js';
import { confirmCode, describeMachine } from './machine.js';
import { type BenchRun, type Results, renderReport, type SubjectResults } from './report.js';
import { fileOf, runInWorker, type Settings, scenarioLabels, scenariosOf } from './scenarios.js';
import { type Probe, reasonOf, type SubjectId, subjectIds, subjects } from './subjects/index.js';
import { plannedEvents } from './workload.js';

const usage = `Usage: npx -y pnpm@10 bench [options]

Runs Lantern's SQLite store, raw better-sqlite3 and Emmett's SQLite store on one workload and
prints a table of medians and ratios; also writes it to bench/results/<date>-stores.md.

Options (or environment variables, e.g. BENCH_EVENTS=20000):
  --events N         events in the workload                      (default 200000)
  --streams N        streams they are spread over                (default events / 100)
  --batch-size N     events per append in the batched scenario   (default 100)
  --single-events N  events in the single-event and concurrent scenarios (default 5000)
  --callers N        callers in the concurrent scenario          (default 16)
  --runs N           runs of every scenario; the median is shown (default 3)
  --warm-up N        events each append scenario first appends untimed, the same way, to a
                     throwaway file in its process, so the timing starts on warm code; 0 for
                     none                                        (default 2000)
  --seed N           seed of the workload generator              (default 20190201)
  --subjects LIST    comma-separated, of ${subjectIds.join(', ')} (default all)
  --out FILE         where to write the report, relative to where the command was typed
                     (default bench/results/<date>-stores.md)
  --help             this text
`;

const numberOptions = [
  'events',
  'streams',
  'batch-size',
  'single-events',
  'callers',
  'runs',
  'warm-up',
  'seed',
] as const;
type NumberOption = (typeof numberOptions)[number];

const defaults: Record<Exclude<NumberOption, 'streams'>, number> = {
  events: 200_000,
  'batch-size': 100,
  'single-events': 5_000,
  callers: 16,
  runs: 3,
  'warm-up': 2_000,
  seed: 20190201,
};

const parseCommandLine = () => {
  const line = readCommandLine('bench', numberOptions, 'subjects');
  const events = line.count('events', defaults.events);
  const settings: Settings = {
    events,
    streams: line.count('streams', Math.max(1, Math.floor(events / 100))),
    batchSize: line.count('batch-size', defaults['batch-size']),
    singleEvents: line.count('single-events', defaults['single-events']),
    callers: line.count('callers', defaults.callers),
    runs: line.count('runs', defaults.runs),
    warmUp: line.count('warm-up', defaults['warm-up'], 0),
    seed: line.count('seed', defaults.seed),
  };
  if (settings.streams > settings.events) {
    throw new Error(`--streams (${settings.streams}) cannot exceed --events (${settings.events}).`);
  }
  return {
    help: line.help,
    settings,
    subjects: line.chosen('subjects', subjectIds, 'subject'),
    out: line.out,
    command: line.command,
  };
};

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** Fails early, before any timing, if a generated event is not one Lantern accepts. */
const checkWorkload = (settings: Settings): void => {
  for (const { events } of plannedEvents(settings)) defaultEventRegistry.validateBatch(events);
};

/** `<date>-stores.md` for a full-size run; a reduced one says its size, as it compares only with its like. */
const resultFile = (date: Date, settings: Settings): string => {
  const directory = fileURLToPath(new URL('../results/', import.meta.url));
  mkdirSync(directory, { recursive: true });
  const size = settings.events === defaults.events ? '' : `-${settings.events}-events`;
  const stem = join(directory, `${date.toISOString().slice(0, 10)}-stores${size}`);
  let file = `${stem}.md`;
  for (let n = 2; existsSync(file); n += 1) file = `${stem}-${n}.md`;
  return file;
};

const main = async (): Promise<void> => {
  const cli = parseCommandLine();
  if (cli.help) {
    process.stdout.write(usage);
    return;
  }
  const { settings } = cli;
  const date = new Date();
  const machine = describeMachine();
  log(`Machine: ${machine.cpus}; Node ${machine.node}; ${machine.os}`);
  log(
    `Workload: ${settings.events} events over ${settings.streams} streams; ${settings.runs} runs; single-event subset ${Math.min(settings.singleEvents, settings.events)}; ${settings.callers} callers`,
  );
  checkWorkload(settings);

  const scratch = mkdtempSync(join(tmpdir(), 'lantern-bench-'));
  const removeScratch = (): void => rmSync(scratch, { recursive: true, force: true });
  process.once('SIGINT', () => {
    removeScratch();
    process.exit(130);
  });
  try {
    const results: Results = {};
    for (const subject of cli.subjects) {
      const probe = await subjects[subject]
        .probe(scratch)
        .catch((error: unknown): Probe => ({ available: false, reason: reasonOf(error) }));
      log(
        `${subjects[subject].label}: ${probe.available ? probe.durability : `not available: ${probe.reason}`}`,
      );
      results[subject] = { probe, replies: {} };
    }

    // Runs interleave the subjects, and each run starts with the next one, so a noisy minute on a
    // shared machine, or a warm page cache, does not always favour the same subject.
    const chosen = Object.entries(results) as [SubjectId, SubjectResults][];
    for (let run = 1; run <= settings.runs; run += 1) {
      const first = (run - 1) % chosen.length;
      for (const [subject, { probe, replies }] of [...chosen.slice(first), ...chosen.slice(0, first)]) {
        if (!probe.available) continue;
        const directory = mkdtempSync(join(scratch, `${subject}-`));
        for (const scenario of scenariosOf[subject]) {
          const reply = await runInWorker({
            subject,
            scenario,
            file: join(directory, fileOf(scenario)),
            settings,
          });
          replies[scenario] = [...(replies[scenario] ?? []), reply];
          const outcome = reply.ok
            ? `${Math.round(reply.measurement.events / reply.measurement.seconds).toLocaleString('en-US')} events/s (${reply.measurement.seconds.toFixed(1)} s)`
            : `failed: ${reply.error}`;
          log(
            `run ${run}/${settings.runs}  ${subjects[subject].label}  ${scenarioLabels[scenario]}: ${outcome}`,
          );
        }
        rmSync(directory, { recursive: true, force: true });
      }
    }

    const report: BenchRun = {
      command: cli.command,
      date,
      settings,
      machine: confirmCode(machine),
      results,
    };
    const markdown = renderReport(report);
    // Printed first: a report that cannot be written (a wrong --out) is not lost with the run.
    process.stdout.write(`${markdown}\n`);
    const file = cli.out ?? resultFile(date, settings);
    writeFileSync(file, markdown);
    log(`Written to ${file}`);
  } finally {
    removeScratch();
  }
};

main().catch((error: unknown) => {
  log(reasonOf(error));
  process.exitCode = 1;
});
