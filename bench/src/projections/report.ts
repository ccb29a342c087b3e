import type { Machine } from '../machine.js';
import { median } from '../report.js';
import type { WorkloadSummary } from './programmeWorkload.js';
import {
  cappedOldSpaceMb,
  type Measurement,
  type ProjectionsSettings,
  type Releases,
  type ReleaseTally,
  rebuildScenarioIds,
  rssScenarioIds,
  type ScenarioId,
  scenarioLabels,
  type WorkerReply,
} from './scenarios.js';

/** What was prepared before the runs, untimed, and how long it took. */
export interface Preparation {
  lantern: { events: number; seconds: number };
  emmett?: { events: number; seconds: number };
  rss?: { events: number; seconds: number; megabytes: number };
}

export interface ProjectionsRun {
  command: string;
  date: Date;
  settings: ProjectionsSettings;
  machine: Machine;
  summary: WorkloadSummary;
  preparation: Preparation;
  /** Every worker's reply, by scenario, one per run. */
  replies: Partial<Record<ScenarioId, WorkerReply[]>>;
  /** Scenarios left out, and why. */
  skipped: Partial<Record<ScenarioId, string>>;
}

const whole = (value: number): string => Math.round(value).toLocaleString('en-US');
const megabytes = (bytes: number): string => `${whole(bytes / 2 ** 20)} MB`;
const milliseconds = (ms: number): string => `${ms < 10 ? ms.toFixed(2) : ms.toFixed(1)} ms`;

const table = (header: readonly string[], rows: readonly (readonly string[])[]): string =>
  [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');

/** A scenario's label with this run's figures filled in. */
/** The size of the peak-RSS log, or the size the goal is about when the rebuild was not run. */
const rssEventsText = (events: number): string =>
  events > 0 ? `${whole(events)} events` : '5,000,000 events (the goal)';

export const labelOf = (scenario: ScenarioId, settings: ProjectionsSettings): string =>
  scenarioLabels[scenario]
    .replace('{big}', whole(settings.bigBatchSize))
    .replace('{emmett}', whole(Math.min(settings.emmettSqliteEvents, settings.events)));

/** A scenario's runs: the medians of those that succeeded, and what went wrong in the others. */
type Cell =
  | {
      rate: number;
      cpuRate: number;
      peakRss: number;
      seconds: number;
      runs: Measurement[];
      warning?: string;
    }
  | { missing: string };

const cellOf = (run: ProjectionsRun, scenario: ScenarioId): Cell => {
  const skipped = run.skipped[scenario];
  if (skipped) return { missing: skipped };
  const replies = run.replies[scenario];
  if (!replies || replies.length === 0) return { missing: 'not run' };
  const measured = replies.flatMap((reply) => (reply.ok ? [reply.measurement] : []));
  const failures = replies.flatMap((reply) => (reply.ok ? [] : [reply.error]));
  if (measured.length === 0) return { missing: `failed: ${failures[0] ?? 'no runs'}` };
  const problems = measured.flatMap((m) => (m.problem ? [m.problem] : []));
  const warnings = [
    failures.length > 0 ? `${failures.length} of ${replies.length} runs failed: ${failures[0]}` : '',
    problems.length > 0 ? `${problems.length} of ${replies.length} runs: ${problems[0]}` : '',
  ].filter((warning) => warning !== '');
  return {
    rate: median(measured.map((m) => m.events / m.seconds)),
    cpuRate: median(measured.map((m) => m.events / m.cpuSeconds)),
    peakRss: median(measured.map((m) => m.peakRssBytes)),
    seconds: median(measured.map((m) => m.seconds)),
    runs: measured,
    ...(warnings.length > 0 ? { warning: warnings.join('; ') } : {}),
  };
};

const marked = (cell: Cell, text: (cell: Exclude<Cell, { missing: string }>) => string): string =>
  'missing' in cell ? cell.missing : `${text(cell)}${cell.warning ? ' ⚠' : ''}`;

const throughputTable = (run: ProjectionsRun): string =>
  table(
    ['scenario', 'events', 'events/s', 'events per CPU-second', 'peak RSS'],
    rebuildScenarioIds.map((scenario) => {
      const cell = cellOf(run, scenario);
      return [
        labelOf(scenario, run.settings),
        // A row not run read no events: its label says how many it would have read.
        'missing' in cell ? '—' : whole(cell.runs[0]?.events ?? 0),
        marked(cell, (c) => whole(c.rate)),
        marked(cell, (c) => whole(c.cpuRate)),
        marked(cell, (c) => megabytes(c.peakRss)),
      ];
    }),
  );

interface Target {
  label: string;
  goal: string;
  /** The measured value as text, and whether it meets the goal; undefined when it cannot be computed. */
  measure: () => { text: string; pass: boolean } | string;
}

const rateOf = (run: ProjectionsRun, scenario: ScenarioId): number | string => {
  const cell = cellOf(run, scenario);
  return 'missing' in cell ? cell.missing : cell.rate;
};

const ratioTarget = (
  run: ProjectionsRun,
  label: string,
  numerator: ScenarioId,
  denominator: ScenarioId,
  atLeast: number,
  style: 'times' | 'percent',
): Target => ({
  label,
  goal: style === 'times' ? `≥ ${atLeast}×` : `≥ ${Math.round(atLeast * 100)}%`,
  measure: () => {
    const top = rateOf(run, numerator);
    const bottom = rateOf(run, denominator);
    if (typeof top === 'string') return top;
    if (typeof bottom === 'string') return bottom;
    const ratio = top / bottom;
    return {
      text: style === 'times' ? `${ratio.toFixed(2)}×` : `${(ratio * 100).toFixed(1)}%`,
      pass: ratio >= atLeast,
    };
  },
});

/** A peak-RSS scenario's median against the 300 MB goal. */
const peakRssTarget = (run: ProjectionsRun, scenario: ScenarioId, label: string): Target => ({
  label,
  goal: '< 300 MB',
  measure: () => {
    const cell = cellOf(run, scenario);
    return 'missing' in cell
      ? cell.missing
      : { text: megabytes(cell.peakRss), pass: cell.peakRss < 300 * 2 ** 20 && !cell.warning };
  },
});

const lagOf = (run: ProjectionsRun): { p50: number; p99: number; max: number; call99: number } | string => {
  const cell = cellOf(run, 'liveLag');
  if ('missing' in cell) return cell.missing;
  const lags = cell.runs.flatMap((m) => (m.lag ? [m.lag] : []));
  if (lags.length === 0) return 'no lag measured';
  return {
    p50: median(lags.map((l) => l.fromResolve.p50)),
    p99: median(lags.map((l) => l.fromResolve.p99)),
    max: median(lags.map((l) => l.fromResolve.max)),
    call99: median(lags.map((l) => l.fromCall.p99)),
  };
};

const targets = (run: ProjectionsRun): Target[] => [
  {
    label: 'Full rebuild of every built-in projection from SQLite (engine defaults)',
    goal: '≥ 250,000 events/s',
    measure: () => {
      const rate = rateOf(run, 'lanternSqlite');
      return typeof rate === 'string' ? rate : { text: `${whole(rate)} events/s`, pass: rate >= 250_000 };
    },
  },
  {
    label: 'Full rebuild of every built-in projection from memory',
    goal: '≥ 1,000,000 events/s',
    measure: () => {
      const rate = rateOf(run, 'lanternMemory');
      return typeof rate === 'string' ? rate : { text: `${whole(rate)} events/s`, pass: rate >= 1_000_000 };
    },
  },
  {
    label: 'Live lag p99, append resolved → changes published (memory stores)',
    goal: '≤ 10 ms',
    measure: () => {
      const lag = lagOf(run);
      return typeof lag === 'string' ? lag : { text: milliseconds(lag.p99), pass: lag.p99 <= 10 };
    },
  },
  peakRssTarget(
    run,
    'rssBuiltIns',
    `Peak RSS, rebuild of every built-in projection from SQLite, ${rssEventsText(run.settings.rssEvents)}`,
  ),
  peakRssTarget(
    run,
    'rssBuiltInsCapped',
    `The same rebuild, Node started with --max-old-space-size=${cappedOldSpaceMb} (what docs/projections.md advises for long rebuilds)`,
  ),
  peakRssTarget(
    run,
    'rssFold',
    `Peak RSS, the simple fold from SQLite with the log streamed, ${rssEventsText(run.settings.rssEvents)}`,
  ),
  peakRssTarget(
    run,
    'rssBuiltInsPostgres',
    `Peak RSS, every built-in projection from SQLite into PostgreSQL read models, every document held, ${rssEventsText(run.settings.rssEvents)}`,
  ),
  peakRssTarget(
    run,
    'rssBuiltInsPostgresCopy',
    `The same into PostgreSQL through a local copy (withLocalCopy), ${rssEventsText(run.settings.rssEvents)}`,
  ),
  peakRssTarget(
    run,
    'rssBuiltInsPostgresCopyCapped',
    `The same through a local copy, Node started with --max-old-space-size=${cappedOldSpaceMb}`,
  ),
  ratioTarget(
    run,
    'Lantern memory rebuild, every built-in projection ÷ Emmett in-memory fold',
    'lanternMemory',
    'foldEmmettMemory',
    4,
    'times',
  ),
  ratioTarget(
    run,
    'Lantern SQLite rebuild, every built-in projection ÷ raw SQLite ceiling',
    'lanternSqlite',
    'foldRawSqlite',
    0.6,
    'percent',
  ),
  ratioTarget(
    run,
    'Like for like: Lantern engine fold (memory) ÷ Emmett in-memory fold',
    'foldLanternMemory',
    'foldEmmettMemory',
    4,
    'times',
  ),
  ratioTarget(
    run,
    'Like for like: Lantern engine fold (SQLite) ÷ raw SQLite ceiling',
    'foldLanternSqlite',
    'foldRawSqlite',
    0.6,
    'percent',
  ),
];

const targetTable = (run: ProjectionsRun): string =>
  table(
    ['target', 'measured', 'goal', 'result'],
    targets(run).map((target) => {
      const measured = target.measure();
      return typeof measured === 'string'
        ? [target.label, '—', target.goal, `n/a: ${measured}`]
        : [target.label, measured.text, target.goal, measured.pass ? 'pass' : 'FAIL'];
    }),
  );

const contextTable = (run: ProjectionsRun): string =>
  table(
    ['ratio', 'measured'],
    (
      [
        [
          'Lantern engine fold (SQLite) ÷ Emmett SQLite consumer + processor',
          'foldLanternSqlite',
          'foldEmmettSqlite',
        ],
        ['Lantern engine fold (memory) ÷ raw SQLite ceiling', 'foldLanternMemory', 'foldRawSqlite'],
        ['Lantern engine alone (memory) ÷ Emmett in-memory fold', 'idleLanternMemory', 'foldEmmettMemory'],
        ['Lantern engine alone (SQLite) ÷ raw SQLite ceiling', 'idleLanternSqlite', 'foldRawSqlite'],
        ['Every built-in projection ÷ the fold, memory', 'lanternMemory', 'foldLanternMemory'],
        [
          'Every built-in projection through the engine, memory ÷ their apply alone (what the engine and stores leave)',
          'lanternMemory',
          'applyBuiltIns',
        ],
        [
          'Their apply alone ÷ only its document reads and writes (what evaluating the indicators leaves)',
          'applyBuiltIns',
          'documentOperationsBuiltIns',
        ],
        [
          'Their apply alone ÷ a hand-written fold of what they keep (what their generality costs)',
          'applyBuiltIns',
          'floorBuiltIns',
        ],
        ['Every built-in projection ÷ the fold, SQLite', 'lanternSqlite', 'foldLanternSqlite'],
        [
          `SQLite rebuild, batchSize ${whole(run.settings.bigBatchSize)} ÷ default`,
          'lanternSqliteBigBatch',
          'lanternSqlite',
        ],
      ] as const
    ).map(([label, top, bottom]) => {
      const a = rateOf(run, top);
      const b = rateOf(run, bottom);
      return [label, typeof a === 'string' || typeof b === 'string' ? '—' : `${(a / b).toFixed(2)}×`];
    }),
  );

/** A rate as the time one event takes, in microseconds. */
const microsecondsOf = (rate: number): number => 1e6 / rate;
const micro = (us: number): string => `${us.toFixed(2)} µs`;

/**
 * For each throughput target of the built-ins: the time per event the goal allows; the engine
 * running a projection that changes nothing (a ceiling: the built-ins read the same log through the
 * same engine, and then evaluate every indicator and keep what they find); what that leaves for
 * the built-ins' own work; what that work costs in this run by itself (their apply alone,
 * documents in plain maps, no engine); and a floor under any design: what they keep folded by
 * code written by hand for this workload, and, for a target from SQLite, the log read by the raw
 * scan and what the fold keeps written once. A goal above the floor is out of reach whatever is
 * made faster; one above the ceiling is out of reach of this engine however fast the evaluation;
 * one below both asks the built-ins' work to fit in what is left.
 */
const budgetTable = (run: ProjectionsRun): string => {
  const rows: {
    label: string;
    goal: () => number | string;
    ceiling: ScenarioId;
    floor: ScenarioId;
  }[] = [
    {
      label: 'from SQLite ≥ 250,000 events/s',
      goal: () => 250_000,
      ceiling: 'idleLanternSqlite',
      floor: 'floorBuiltInsSqlite',
    },
    {
      label: 'from memory ≥ 1,000,000 events/s',
      goal: () => 1_000_000,
      ceiling: 'idleLanternMemory',
      floor: 'floorBuiltIns',
    },
    {
      label: '≥ 4× Emmett in-memory',
      goal: () => {
        const emmett = rateOf(run, 'foldEmmettMemory');
        return typeof emmett === 'string' ? emmett : 4 * emmett;
      },
      ceiling: 'idleLanternMemory',
      floor: 'floorBuiltIns',
    },
    {
      label: '≥ 60% of raw SQLite',
      goal: () => {
        const raw = rateOf(run, 'foldRawSqlite');
        return typeof raw === 'string' ? raw : 0.6 * raw;
      },
      ceiling: 'idleLanternSqlite',
      floor: 'floorBuiltInsSqlite',
    },
  ];
  const evaluation = rateOf(run, 'applyBuiltIns');
  return table(
    [
      'target',
      'goal, an event',
      'the engine alone, an event',
      'left for the built-ins',
      'their apply alone costs',
      'a floor: hand-written fold (from SQLite: raw scan, fold, one write)',
      'within reach?',
    ],
    rows.map(({ label, goal, ceiling, floor: floorScenario }) => {
      const goalRate = goal();
      const ceilingRate = rateOf(run, ceiling);
      if (typeof goalRate === 'string' || typeof ceilingRate === 'string') {
        return [
          label,
          '—',
          '—',
          '—',
          '—',
          '—',
          `n/a: ${typeof goalRate === 'string' ? goalRate : ceilingRate}`,
        ];
      }
      const allowed = microsecondsOf(goalRate);
      const engine = microsecondsOf(ceilingRate);
      const left = allowed - engine;
      const cost = typeof evaluation === 'string' ? undefined : microsecondsOf(evaluation);
      const floorRate = rateOf(run, floorScenario);
      const floor = typeof floorRate === 'string' ? undefined : microsecondsOf(floorRate);
      const verdict =
        floor !== undefined && floor > allowed
          ? `no: the goal is above the floor (${(floor / allowed).toFixed(2)}× what it allows)`
          : left <= 0
            ? 'no: the goal is above the engine alone'
            : cost === undefined
              ? 'n/a: apply alone not run'
              : cost <= left
                ? `yes, if the engine's work on their documents fits in the ${micro(left - cost)} left`
                : `only with their apply ${(cost / left).toFixed(1)}× faster`;
      return [
        label,
        micro(allowed),
        micro(engine),
        left <= 0 ? 'nothing' : micro(left),
        cost === undefined ? '—' : micro(cost),
        floor === undefined ? '—' : micro(floor),
        verdict,
      ];
    }),
  );
};

const lagTable = (run: ProjectionsRun): string => {
  const cell = cellOf(run, 'liveLag');
  if ('missing' in cell) return `Not measured: ${cell.missing}.`;
  const lags = cell.runs.flatMap((m) => (m.lag ? [m.lag] : []));
  const row = (label: string, pick: (lag: NonNullable<Measurement['lag']>) => number) =>
    [label, ...lags.map((lag) => milliseconds(pick(lag))), milliseconds(median(lags.map(pick)))] as const;
  const latencies = table(
    ['latency', ...lags.map((_, i) => `run ${i + 1}`), 'median'],
    [
      row('append resolved → published, p50', (l) => l.fromResolve.p50),
      row('append resolved → published, p99', (l) => l.fromResolve.p99),
      row('append resolved → published, max', (l) => l.fromResolve.max),
      row('append called → published, p50', (l) => l.fromCall.p50),
      row('append called → published, p99', (l) => l.fromCall.p99),
      row('append called → published, max', (l) => l.fromCall.max),
    ],
  );
  const stalls = lags
    .map((lag, i) => `run ${i + 1}: ${lag.stalls.count}, the longest ${milliseconds(lag.stalls.longestMs)}`)
    .join('; ');
  return `${latencies}\n\nJust before each run, a busy loop in the same worker measured how often the process was not running (descheduled by the OS or collecting garbage): pauses longer than 1 ms in one second — ${stalls}. Any such pause that falls inside an append's measurement counts in its latency; on an idle machine there are next to none.`;
};

const growingTable = (run: ProjectionsRun): string => {
  const cell = cellOf(run, 'releasesAsLogGrows');
  if ('missing' in cell) return `Not measured: ${cell.missing}.`;
  const runs = cell.runs.flatMap((m) => (m.growing ? [{ m, g: m.growing }] : []));
  const first = runs[0]?.g;
  if (first === undefined) return 'Not measured: no run reported its releases.';
  const tallyRow = (label: string, tally: ReleaseTally) => [
    label,
    whole(tally.figures),
    whole(tally.primary),
    whole(tally.secondary),
    whole(tally.partlyHidden),
    whole(tally.refused),
  ];
  const digests = new Set(runs.map(({ g }) => g.digest));
  return [
    table(
      ['releases', 'figures', 'small ("<5")', 'hidden to protect them', 'partly hidden', 'refused'],
      [
        tallyRow(
          `the last of ${whole(first.rounds)} rounds, one a quarter (vintages of a quarter)`,
          first.last,
        ),
        tallyRow('one round from the whole log (one vintage), untimed', first.once),
      ],
    ),
    '',
    `Every round, the catch-ups included: ${runs.map(({ m }) => `${m.seconds.toFixed(2)} s`).join(', ')} (median ${median(runs.map(({ m }) => m.seconds)).toFixed(2)} s).`,
    digests.size === 1
      ? `Every run's last round released the same figures (digest ${[...digests][0]}).`
      : `⚠ The runs' last rounds released different figures: digests ${[...digests].join(', ')}.`,
  ].join('\n');
};

const releasesTable = (run: ProjectionsRun): string => {
  const cell = cellOf(run, 'donorReleases');
  if ('missing' in cell) return `Not measured: ${cell.missing}.`;
  const runs = cell.runs.flatMap((m) => (m.releases ? [{ m, r: m.releases }] : []));
  const first = runs[0]?.r;
  if (first === undefined) return 'Not measured: no run reported its releases.';
  const row = (
    label: string,
    pick: (m: Measurement, r: Releases) => number,
    text: (value: number) => string,
  ) =>
    [
      label,
      ...runs.map(({ m, r }) => text(pick(m, r))),
      text(median(runs.map(({ m, r }) => pick(m, r)))),
    ] as const;
  const seconds = (value: number): string => `${value.toFixed(2)} s`;
  const figures = table(
    ['cost', ...runs.map((_, i) => `run ${i + 1}`), 'median'],
    [
      row('every release, the load included', (m) => m.seconds, seconds),
      row('the load: every observation and the consent, once', (_, r) => r.loadMs, milliseconds),
      row(`the slowest release (${first.slowest})`, (_, r) => r.slowestMs, milliseconds),
    ],
  );
  const refused = Object.entries(first.refused).map(
    ([name, { count, first: example }]) => `${whole(count)} refused with a ${name}, the first: ${example}`,
  );
  const digests = new Set(runs.map(({ r }) => r.digest));
  return [
    figures,
    '',
    `${whole(first.asked)} releases asked for; ${whole(first.figures)} figures released, ${whole(first.hidden)} of them hidden.`,
    ...refused.map((line) => `- ${line}`),
    digests.size === 1
      ? `Every run released the same figures (digest ${[...digests][0]}).`
      : `⚠ The runs released different figures: digests ${[...digests].join(', ')}.`,
  ].join('\n');
};

const rssTable = (run: ProjectionsRun): string =>
  table(
    ['scenario', 'events', 'seconds', 'events/s', 'peak RSS'],
    rssScenarioIds.map((scenario) => {
      const cell = cellOf(run, scenario);
      return [
        labelOf(scenario, run.settings),
        whole(run.settings.rssEvents),
        marked(cell, (c) => c.seconds.toFixed(1)),
        marked(cell, (c) => whole(c.rate)),
        marked(cell, (c) => megabytes(c.peakRss)),
      ];
    }),
  );

const runsTable = (run: ProjectionsRun): string => {
  const most = Math.max(run.settings.runs, run.settings.rssRuns);
  const rows = Object.entries(run.replies).map(([scenario, replies]) => [
    labelOf(scenario as ScenarioId, run.settings),
    ...(replies ?? []).map((reply) =>
      reply.ok
        ? `${whole(reply.measurement.events / reply.measurement.seconds)} (${reply.measurement.seconds.toFixed(2)} s)`
        : 'failed',
    ),
  ]);
  return table(
    ['scenario', ...Array.from({ length: most }, (_, i) => `run ${i + 1}`)],
    rows.map((row) => [...row, ...Array.from({ length: most + 1 - row.length }, () => '')]),
  );
};

const notes = (run: ProjectionsRun): string[] => {
  const lines: string[] = [];
  for (const scenario of Object.keys(run.replies) as ScenarioId[]) {
    const cell = cellOf(run, scenario);
    if ('missing' in cell) lines.push(`- ${labelOf(scenario, run.settings)}: ${cell.missing}`);
    else if (cell.warning) lines.push(`- ⚠ ${labelOf(scenario, run.settings)}: ${cell.warning}`);
    const remarks = new Set(
      (run.replies[scenario] ?? []).flatMap((reply) =>
        reply.ok && reply.measurement.remark ? [reply.measurement.remark] : [],
      ),
    );
    if (remarks.size > 0) lines.push(`- ${labelOf(scenario, run.settings)}: ${[...remarks].join('; ')}`);
  }
  for (const [scenario, why] of Object.entries(run.skipped)) {
    lines.push(`- ${labelOf(scenario as ScenarioId, run.settings)}: ${why}`);
  }
  const digests = new Set(
    (
      [
        'lanternMemory',
        'lanternSqlite',
        'lanternSqliteBigBatch',
        'applyBuiltIns',
        'documentOperationsBuiltIns',
      ] as const
    ).flatMap((scenario) =>
      (run.replies[scenario] ?? []).flatMap((reply) =>
        reply.ok && reply.measurement.digest ? [reply.measurement.digest] : [],
      ),
    ),
  );
  if (digests.size === 1) {
    lines.push(
      `- Every rebuild of every built-in projection, from memory and from SQLite, at either batch size, their apply alone and its document operations alone gave the same documents (digest ${[...digests][0]}).`,
    );
  } else if (digests.size > 1) {
    lines.push(`- ⚠ The built-in rebuilds gave different documents: digests ${[...digests].join(', ')}.`);
  }
  return lines;
};

const mixOf = (summary: WorkloadSummary): string =>
  Object.entries(summary.byType)
    .sort(([, a], [, b]) => b - a)
    .map(([type, count]) => `${type} ${whole(count)}`)
    .join(', ');

/** The whole report as Markdown: printed, and written to bench/results. */
export const renderReport = (run: ProjectionsRun): string => {
  const { settings, machine, summary, preparation } = run;
  const rate = (events: number, seconds: number) => `${whole(events / seconds)} events/s`;
  return [
    `# Lantern projections bench, ${run.date.toISOString().slice(0, 10)}`,
    '',
    `Command: \`${run.command}\``,
    '',
    `- Workload: ${whole(summary.events)} catalog events of ${summary.programmes} programme${summary.programmes === 1 ? '' : 's'} over ${whole(summary.streams)} streams, seed ${settings.seed}: ${mixOf(summary)}.`,
    `- Engine: batchSize ${settings.batchSize === undefined ? '1,000 (its default)' : whole(settings.batchSize)}; eventsPerCommit its default (10,000); every built-in projection is the indicators projection (builtInIndicators, Asia/Phnom_Penh), funding and the case funnel.`,
    `- Each rebuild figure: the median of ${settings.runs} run${settings.runs === 1 ? '' : 's'}, each scenario in a fresh Node process running the worker compiled (no TypeScript loader). Memory stores are filled in that process before the timing; SQLite runs work on a fresh copy of a file written once. Timed: from engine.start() on empty read models until waitFor(last position) resolves; for peers, their read and fold only.`,
    `- Machine: ${machine.cpus}; ${machine.memory}; ${machine.os}; Node ${machine.node}.`,
    `- Drivers: ${machine.drivers}. Commit: ${machine.commit}.`,
    `- Prepared, untimed: the workload generated, validated with defaultEventRegistry.validateBatch and written to Lantern's SQLite store in ${preparation.lantern.seconds.toFixed(1)} s (${rate(preparation.lantern.events, preparation.lantern.seconds)})${preparation.emmett ? `; written to Emmett's SQLite store with its appendToStream in ${preparation.emmett.seconds.toFixed(1)} s (${rate(preparation.emmett.events, preparation.emmett.seconds)}, one connection at synchronous=OFF)` : ''}${preparation.rss ? `; the ${whole(preparation.rss.events)}-event log for peak RSS written in ${preparation.rss.seconds.toFixed(0)} s (${rate(preparation.rss.events, preparation.rss.seconds)}, ${whole(preparation.rss.megabytes)} MB on disk)` : ''}.`,
    '- Checked, untimed: every built-in rebuild must give figures the generator counted itself (cases disclosed, funds received, night-outreach child contacts, leaflets on outreach) and the same documents in every run; every fold must count exactly the events and people of the workload. A cell that failed a check is marked ⚠.',
    '',
    '## Rebuild throughput (median)',
    '',
    throughputTable(run),
    '',
    '"events per CPU-second" divides by the worker\'s user + system CPU time rather than the wall clock: on a shared machine it moves less with the neighbours.',
    '',
    '## Targets (reported, never asserted)',
    '',
    targetTable(run),
    '',
    'For context:',
    '',
    contextTable(run),
    '',
    "What each throughput target leaves for the built-ins: they read the same log through the same engine and stores as a projection that changes nothing, and then evaluate every indicator and keep what they find, so the engine alone is their ceiling. Under any design lies a floor: what they keep, folded by code written by hand for this workload alone (no definitions, documents or engine; its figures checked against theirs), and, from SQLite, the log read by the raw scan and what the fold keeps written once. Times an event, from this run's medians:",
    '',
    budgetTable(run),
    '',
    `## Live lag (${whole(settings.liveEvents)} single-event appends after ${whole(Math.min(settings.liveHistory, settings.events))} events of history)`,
    '',
    lagTable(run),
    '',
    `## Releases to a donor and to the public (${settings.runs} run${settings.runs === 1 ? '' : 's'})`,
    '',
    'Every built-in indicator released to a donor by month, quarter, year and life, with no breakdown and by each of its dimensions, and the case funnel by each of those periods, then all of it to the public, from read models rebuilt from the memory store (untimed; the funnel into read models of its own, since from those of the indicators it would be refused). The first release of an indicator protects its table for every period, breakdown and audience outside the programme at once; later ones read it. The funnel is protected once, for the donor and the public alike, and its later releases read that.',
    '',
    releasesTable(run),
    '',
    `## Releases as the log grows (${settings.runs} run${settings.runs === 1 ? '' : 's'})`,
    '',
    'The workload appended a quarter at a time (an event of an earlier month that comes later in the log goes in with the next quarter, as a late record); after each quarter, the indicators projection caught up and every built-in indicator released to a donor by quarter, with no breakdown and by each of its dimensions, up to that quarter: each round adds a vintage, and what went out before goes out again as it went out. Beside it, the same releases from the whole log at once.',
    '',
    growingTable(run),
    '',
    `## Peak RSS of a big rebuild (${settings.rssRuns} run${settings.rssRuns === 1 ? '' : 's'} each)`,
    '',
    settings.rssEvents > 0
      ? rssTable(run)
      : 'Not run: give `--rss-events 5000000` (writing the log takes a while; see the README).',
    '',
    settings.rssEvents > 0
      ? "The log is opened read-only where it was written and the read models go to a separate fresh file (copying gigabytes per run would measure the disk). Peak RSS is the worker process's (`process.resourceUsage().maxRSS`), Node and the loaded modules included."
      : '',
    '',
    '## Notes',
    '',
    ...notes(run),
    '',
    '## Every run, events/s (seconds)',
    '',
    runsTable(run),
    '',
  ].join('\n');
};
