import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { readCommandLine } from '../cli.js';
import { confirmCode, describeMachine } from '../machine.js';
import { reasonOf } from '../subjects/index.js';
import { writeEmmettLog, writeLanternLog } from './prepare.js';
import { labelOf, type Preparation, type ProjectionsRun, renderReport } from './report.js';
import {
  type Job,
  type PreparedFiles,
  type ProjectionsSettings,
  postgresConnectionString,
  postgresScenarioIds,
  rebuildScenarioIds,
  rssScenarioIds,
  runInWorker,
  type ScenarioId,
  scenarioIds,
  type WorkerReply,
} from './scenarios.js';

const usage = `Usage: npx -y pnpm@10 bench:projections [options]

Rebuilds Lantern's built-in projections from the memory and SQLite stores, runs the engine on a
simple fold beside Emmett (in-memory and SQLite) and raw better-sqlite3, measures live lag and
what releasing every built-in indicator to a donor and to the public costs, and prints a table
of medians and ratios against the targets; also writes it to bench/results/<date>-projections.md.

Options (or environment variables, e.g. BENCH_EVENTS=20000):
  --events N          events in the workload                              (default 200000)
  --runs N            runs of every scenario; the median is shown         (default 3)
  --seed N            seed of the workload generator                      (default 20190201)
  --batch-size N      the engine's batchSize                              (default: the engine's, 1000)
  --big-batch-size N  batchSize of the extra SQLite rebuild row           (default 10000)
  --live-events N     single appends timed while the engine is live       (default 2000)
  --live-history N    events stored before the live engine starts         (default 20000)
  --emmett-sqlite-events N  events Emmett's SQLite consumer folds     (default 20000)
  --rss-events N      events of the peak-RSS rebuild; 0 leaves it out     (default 0)
  --rss-runs N        runs of each peak-RSS rebuild                       (default 1)
                      (three of them put the read models in PostgreSQL: POSTGRES_CONNECTION_STRING,
                      default postgres://postgres@127.0.0.1:5432/test; left out if it cannot be reached)
  --scenarios LIST    comma-separated, of ${scenarioIds.join(', ')} (default all)
  --out FILE          where to write the report, relative to where the command was typed
                      (default bench/results/<date>-projections.md)
  --help              this text
`;

const numberOptions = [
  'events',
  'runs',
  'seed',
  'batch-size',
  'big-batch-size',
  'live-events',
  'live-history',
  'emmett-sqlite-events',
  'rss-events',
  'rss-runs',
] as const;
type NumberOption = (typeof numberOptions)[number];

const defaults: Record<Exclude<NumberOption, 'batch-size'>, number> = {
  events: 200_000,
  runs: 3,
  seed: 20190201,
  'big-batch-size': 10_000,
  'live-events': 2_000,
  'live-history': 20_000,
  'emmett-sqlite-events': 20_000,
  'rss-events': 0,
  'rss-runs': 1,
};

const parseCommandLine = () => {
  const line = readCommandLine('bench:projections', numberOptions, 'scenarios');
  const { count } = line;
  const batchSize = line.text('batch-size') === undefined ? undefined : count('batch-size', 1000);
  const settings: ProjectionsSettings = {
    events: count('events', defaults.events),
    runs: count('runs', defaults.runs),
    seed: count('seed', defaults.seed),
    ...(batchSize === undefined ? {} : { batchSize }),
    bigBatchSize: count('big-batch-size', defaults['big-batch-size']),
    liveEvents: count('live-events', defaults['live-events']),
    liveHistory: count('live-history', defaults['live-history'], 0),
    emmettSqliteEvents: count('emmett-sqlite-events', defaults['emmett-sqlite-events']),
    rssEvents: count('rss-events', defaults['rss-events'], 0),
    rssRuns: count('rss-runs', defaults['rss-runs']),
  };
  return {
    help: line.help,
    settings,
    scenarios: line.chosen('scenarios', scenarioIds, 'scenario'),
    out: line.out,
    command: line.command,
  };
};

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** `<date>-projections.md` for a full-size run; a reduced one says its size, as it compares only with its like. */
const resultFile = (date: Date, settings: ProjectionsSettings): string => {
  const directory = fileURLToPath(new URL('../../results/', import.meta.url));
  mkdirSync(directory, { recursive: true });
  const size = settings.events === defaults.events ? '' : `-${settings.events}-events`;
  const stem = join(directory, `${date.toISOString().slice(0, 10)}-projections${size}`);
  let file = `${stem}.md`;
  for (let n = 2; existsSync(file); n += 1) file = `${stem}-${n}.md`;
  return file;
};

const rateText = (reply: WorkerReply): string => {
  if (!reply.ok) return `failed: ${reply.error}`;
  const { measurement: m } = reply;
  const lag = m.lag
    ? `; lag p50 ${m.lag.fromResolve.p50.toFixed(2)} ms, p99 ${m.lag.fromResolve.p99.toFixed(2)} ms`
    : '';
  const problem = m.problem ? ` ⚠ ${m.problem}` : '';
  if (m.releases) {
    return `${m.releases.asked} releases in ${m.seconds.toFixed(2)} s, the slowest ${m.releases.slowestMs.toFixed(0)} ms (${m.releases.slowest})${problem}`;
  }
  return `${Math.round(m.events / m.seconds).toLocaleString('en-US')} events/s (${m.seconds.toFixed(2)} s, peak RSS ${Math.round(m.peakRssBytes / 2 ** 20)} MB)${lag}${problem}`;
};

/** Why the PostgreSQL server cannot be used, or undefined when it answers. */
const postgresProblem = async (): Promise<string | undefined> => {
  const client = new pg.Client({
    connectionString: postgresConnectionString,
    connectionTimeoutMillis: 5_000,
  });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return `PostgreSQL at ${postgresConnectionString} cannot be reached (${reasonOf(error)}); start it or set POSTGRES_CONNECTION_STRING`;
  } finally {
    await client.end().catch(() => undefined);
  }
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
  log(`Workload: ${settings.events} events; ${settings.runs} runs; scenarios ${cli.scenarios.join(', ')}`);

  const scratch = mkdtempSync(join(tmpdir(), 'lantern-projections-bench-'));
  const removeScratch = (): void => rmSync(scratch, { recursive: true, force: true });
  process.once('SIGINT', () => {
    removeScratch();
    process.exit(130);
  });
  try {
    const workload = { events: settings.events, seed: settings.seed };
    const written = await writeLanternLog(join(scratch, 'lantern.db'), workload, true, (n) => {
      if (n % 100_000 === 0) log(`  written ${n.toLocaleString('en-US')} events to Lantern's SQLite store`);
    });
    log(`Lantern's SQLite store written in ${written.seconds.toFixed(1)} s`);
    const files: PreparedFiles = { lantern: written.path, lanternLastPosition: written.last.toString() };
    const preparation: Preparation = {
      lantern: { events: written.summary.events, seconds: written.seconds },
    };
    const skipped: ProjectionsRun['skipped'] = {};

    if (cli.scenarios.includes('foldEmmettSqlite')) {
      try {
        const emmett = await writeEmmettLog(
          join(scratch, 'emmett.db'),
          workload,
          Math.min(settings.emmettSqliteEvents, settings.events),
        );
        files.emmett = join(scratch, 'emmett.db');
        files.emmettStopAt = emmett.prefixLast.toString();
        files.emmettTally = emmett.prefixTally;
        preparation.emmett = { events: settings.events, seconds: emmett.seconds };
        log(`Emmett's SQLite store written in ${emmett.seconds.toFixed(1)} s`);
      } catch (error) {
        skipped.foldEmmettSqlite = `not run: writing Emmett's SQLite store failed: ${reasonOf(error)}`;
      }
    }

    let rssSummary = written.summary;
    const rssChosen = rssScenarioIds.filter((id) => cli.scenarios.includes(id));
    if (settings.rssEvents > 0 && rssChosen.length > 0) {
      const path = join(scratch, 'rss.db');
      log(`Writing ${settings.rssEvents.toLocaleString('en-US')} events for the peak-RSS rebuild…`);
      const rss = await writeLanternLog(
        path,
        { events: settings.rssEvents, seed: settings.seed },
        false,
        (n) => {
          if (n % 500_000 === 0) log(`  written ${n.toLocaleString('en-US')} events`);
        },
      );
      files.rss = path;
      files.rssLastPosition = rss.last.toString();
      rssSummary = rss.summary;
      preparation.rss = {
        events: settings.rssEvents,
        seconds: rss.seconds,
        megabytes: statSync(path).size / 2 ** 20,
      };
      log(`Peak-RSS log written in ${rss.seconds.toFixed(0)} s`);
    } else {
      for (const id of rssChosen) skipped[id] = 'not run (give --rss-events N)';
    }
    const postgresChosen = rssChosen.filter((id) => postgresScenarioIds.includes(id) && !skipped[id]);
    if (postgresChosen.length > 0) {
      const unreachable = await postgresProblem();
      if (unreachable) for (const id of postgresChosen) skipped[id] = `not run: ${unreachable}`;
    }

    const replies: ProjectionsRun['replies'] = {};
    const runJob = async (scenario: ScenarioId, run: number, runs: number): Promise<void> => {
      const work = mkdtempSync(join(scratch, `${scenario}-`));
      const summary = (rssScenarioIds as readonly ScenarioId[]).includes(scenario)
        ? rssSummary
        : written.summary;
      const job: Job = { scenario, settings, files, work, summary };
      const reply = await runInWorker(job);
      rmSync(work, { recursive: true, force: true });
      replies[scenario] = [...(replies[scenario] ?? []), reply];
      log(`run ${run}/${runs}  ${labelOf(scenario, settings)}: ${rateText(reply)}`);
    };

    // Runs interleave the scenarios, each run starting with the next one, so a noisy minute on a
    // shared machine does not always fall on the same scenario.
    const chosen = cli.scenarios.filter(
      (id) =>
        !skipped[id] &&
        (
          [...rebuildScenarioIds, 'liveLag', 'donorReleases', 'releasesAsLogGrows'] as readonly ScenarioId[]
        ).includes(id),
    );
    for (let run = 1; run <= settings.runs; run += 1) {
      const first = chosen.length === 0 ? 0 : (run - 1) % chosen.length;
      for (const scenario of [...chosen.slice(first), ...chosen.slice(0, first)]) {
        await runJob(scenario, run, settings.runs);
      }
    }
    for (const scenario of rssChosen) {
      if (skipped[scenario]) continue;
      for (let run = 1; run <= settings.rssRuns; run += 1) await runJob(scenario, run, settings.rssRuns);
    }

    const report: ProjectionsRun = {
      command: cli.command,
      date,
      settings,
      machine: confirmCode(machine),
      summary: written.summary,
      preparation,
      replies,
      skipped,
    };
    const markdown = renderReport(report);
    // Shown first: a report that cannot be written is not lost.
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
