import type { Machine } from './machine.js';
import {
  eventsIn,
  type ScenarioId,
  type Settings,
  scenarioIds,
  scenarioLabels,
  type WorkerReply,
} from './scenarios.js';
import { type Probe, type SubjectId, subjectIds, subjects } from './subjects/index.js';

/** What one subject did: its probe, and every worker's reply by scenario, one per run. */
export interface SubjectResults {
  probe: Probe;
  replies: Partial<Record<ScenarioId, WorkerReply[]>>;
}

/** The subjects chosen for this run (`--subjects`), by id. */
export type Results = Partial<Record<SubjectId, SubjectResults>>;

export interface BenchRun {
  command: string;
  date: Date;
  settings: Settings;
  machine: Machine;
  results: Results;
}

/** A ratio the project aims for. Reported, never asserted. */
interface Target {
  label: string;
  numerator: readonly [SubjectId, ScenarioId];
  denominator: readonly [SubjectId, ScenarioId];
  atLeast: number;
  /** `percent` for "at least 70% of", `times` for "at least 4× faster than". */
  style: 'percent' | 'times';
}

/**
 * A target against a peer (Emmett) is bounded by the floor itself: Lantern does more work per
 * event than raw better-sqlite3, so it cannot beat the peer by more than raw does on the same run.
 * The table prints that ceiling beside each such target.
 */
const ceilingOf = (target: Target): readonly [SubjectId, ScenarioId] | undefined =>
  target.numerator[0] === 'lantern' && target.denominator[0] === 'emmett'
    ? ['raw', target.numerator[1]]
    : undefined;

const targets = (callers: number): Target[] => [
  {
    label: 'Lantern batched ÷ Emmett batched',
    numerator: ['lantern', 'batched'],
    denominator: ['emmett', 'batched'],
    atLeast: 4,
    style: 'times',
  },
  {
    label: 'Lantern batched ÷ raw batched',
    numerator: ['lantern', 'batched'],
    denominator: ['raw', 'batched'],
    atLeast: 0.7,
    style: 'percent',
  },
  {
    label: 'Lantern single ÷ raw single',
    numerator: ['lantern', 'single'],
    denominator: ['raw', 'single'],
    atLeast: 0.7,
    style: 'percent',
  },
  {
    label: 'Lantern single ÷ Emmett single',
    numerator: ['lantern', 'single'],
    denominator: ['emmett', 'single'],
    atLeast: 2.5,
    style: 'times',
  },
  {
    label: `Lantern ${callers} concurrent ÷ Lantern single`,
    numerator: ['lantern', 'concurrent'],
    denominator: ['lantern', 'single'],
    atLeast: 5,
    style: 'times',
  },
  {
    label: 'Lantern read every stream ÷ raw',
    numerator: ['lantern', 'readStreams'],
    denominator: ['raw', 'readStreams'],
    atLeast: 0.7,
    style: 'percent',
  },
  {
    label: 'Lantern read all ÷ raw',
    numerator: ['lantern', 'readAll'],
    denominator: ['raw', 'readAll'],
    atLeast: 0.7,
    style: 'percent',
  },
  {
    label: 'Lantern read every stream ÷ Emmett',
    numerator: ['lantern', 'readStreams'],
    denominator: ['emmett', 'readStreams'],
    atLeast: 4,
    style: 'times',
  },
  {
    label: 'Lantern read all ÷ Emmett',
    numerator: ['lantern', 'readAll'],
    denominator: ['emmett', 'readAll'],
    atLeast: 4,
    style: 'times',
  },
];

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

/** One cell of the tables: the median of its runs, or why there is none. */
type Cell =
  | {
      rate: number;
      peakRss: number;
      /** Runs that failed or stored the wrong events: the cell is marked ⚠. */
      warning?: string;
      /** What the subject reported about its runs, e.g. retried appends. */
      remarks: string[];
    }
  | { missing: string };

const cellOf = (run: BenchRun, subject: SubjectId, scenario: ScenarioId): Cell => {
  const chosen = run.results[subject];
  if (!chosen) return { missing: 'not chosen' };
  if (!chosen.probe.available) return { missing: 'not available' };
  const replies = chosen.replies[scenario];
  if (!replies) return { missing: 'not run' };
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
    peakRss: median(measured.map((m) => m.peakRssBytes)),
    ...(warnings.length > 0 ? { warning: warnings.join('; ') } : {}),
    remarks: replies.flatMap((reply, i) =>
      reply.ok && reply.measurement.remark ? [`run ${i + 1}: ${reply.measurement.remark}`] : [],
    ),
  };
};

const whole = (value: number): string => Math.round(value).toLocaleString('en-US');
const megabytes = (bytes: number): string => `${whole(bytes / 2 ** 20)} MB`;

/** Precise enough that a ratio just under its goal never prints as the goal itself. */
const ratioText = (value: number, style: Target['style']): string =>
  style === 'percent' ? `${(value * 100).toFixed(1)}%` : `${value.toFixed(2)}×`;

const goalText = (target: Target): string =>
  target.style === 'percent' ? `≥ ${Math.round(target.atLeast * 100)}%` : `≥ ${target.atLeast}×`;

const table = (header: readonly string[], rows: readonly (readonly string[])[]): string =>
  [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');

/** The subjects compared side by side; raw at synchronous=NORMAL gets rows of its own. */
const columns = ['lantern', 'raw', 'emmett'] as const satisfies readonly SubjectId[];

const scenarioLabel = (scenario: ScenarioId, settings: Settings): string => {
  if (scenario === 'batched') return `${scenarioLabels.batched} (${settings.batchSize} per call)`;
  if (scenario === 'concurrent')
    return scenarioLabels.concurrent.replace('concurrent', `${settings.callers}`);
  return scenarioLabels[scenario];
};

/** Formats a measured cell: its rate or its peak RSS. */
type Show = (cell: { rate: number; peakRss: number }) => string;

const cellText = (cell: Cell, show: Show): string => {
  if ('missing' in cell) return cell.missing;
  return cell.warning ? `${show(cell)} ⚠` : show(cell);
};

/** The concurrent row's raw column is raw's single-caller rate; Emmett's has no run. */
const tableCell = (run: BenchRun, subject: SubjectId, scenario: ScenarioId, show: Show): string => {
  if (scenario === 'concurrent' && subject === 'raw') {
    const single = cellOf(run, 'raw', 'single');
    return 'missing' in single ? single.missing : `${show(single)} (= single)`;
  }
  if (scenario === 'concurrent' && subject === 'emmett') return 'not run (see notes)';
  return cellText(cellOf(run, subject, scenario), show);
};

const scenarioTable = (run: BenchRun, show: Show): string => {
  const { settings } = run;
  const rows = scenarioIds.map((scenario) => [
    scenarioLabel(scenario, settings),
    whole(eventsIn(scenario, settings)),
    ...columns.map((subject) => tableCell(run, subject, scenario, show)),
  ]);
  const contextRows = (['single', 'batched'] as const).map((scenario) => [
    `${scenarioLabel(scenario, settings)}, raw at synchronous=NORMAL`,
    whole(eventsIn(scenario, settings)),
    '—',
    cellText(cellOf(run, 'rawNormal', scenario), show),
    '—',
  ]);
  return table(
    ['scenario', 'events', ...columns.map((subject) => subjects[subject].label)],
    [...rows, ...contextRows],
  );
};

/** What a target against Emmett asks of Lantern, in terms of raw's rate on the same run. */
const ceilingText = (run: BenchRun, target: Target): string => {
  const ceiling = ceilingOf(target);
  if (!ceiling) return '';
  const raw = cellOf(run, ...ceiling);
  const peer = cellOf(run, ...target.denominator);
  if ('missing' in raw || 'missing' in peer) return 'raw ÷ Emmett: n/a';
  const rawRatio = raw.rate / peer.rate;
  const ofRaw = target.atLeast / rawRatio;
  const text = `raw itself is ${ratioText(rawRatio, 'times')} Emmett here`;
  return ofRaw > 1
    ? `${text}: the goal is above raw, out of reach on this run`
    : `${text}: the goal means ${ratioText(ofRaw, 'percent')} of raw`;
};

const targetTable = (run: BenchRun): string => {
  const rows = targets(run.settings.callers).map((target) => {
    const goal = goalText(target);
    const ceiling = ceilingText(run, target);
    const numerator = cellOf(run, ...target.numerator);
    const denominator = cellOf(run, ...target.denominator);
    if ('missing' in numerator || 'missing' in denominator) {
      const why = 'missing' in numerator ? numerator.missing : (denominator as { missing: string }).missing;
      return [target.label, '—', goal, `n/a: ${why}`, ceiling];
    }
    const ratio = numerator.rate / denominator.rate;
    return [
      target.label,
      ratioText(ratio, target.style),
      goal,
      ratio >= target.atLeast ? 'pass' : 'FAIL',
      ceiling,
    ];
  });
  return table(['target', 'measured', 'goal', 'result', 'ceiling (same run)'], rows);
};

/** The chosen subjects, in column order. */
const chosenSubjects = (run: BenchRun): [SubjectId, SubjectResults][] =>
  subjectIds.flatMap((subject) => {
    const chosen = run.results[subject];
    return chosen ? [[subject, chosen] as [SubjectId, SubjectResults]] : [];
  });

const runsTable = (run: BenchRun): string => {
  const rows: string[][] = [];
  for (const [subject, { replies: byScenario }] of chosenSubjects(run)) {
    for (const scenario of scenarioIds) {
      const replies = byScenario[scenario];
      if (!replies) continue;
      rows.push([
        subjects[subject].label,
        scenarioLabel(scenario, run.settings),
        ...replies.map((reply) =>
          reply.ok ? `${whole(reply.measurement.events / reply.measurement.seconds)}` : 'failed',
        ),
      ]);
    }
  }
  const runs = Array.from({ length: run.settings.runs }, (_, i) => `run ${i + 1}`);
  return table(['subject', 'scenario', ...runs], rows);
};

const notes = (run: BenchRun): string[] => {
  const lines: string[] = [];
  for (const [subject, { probe }] of chosenSubjects(run)) {
    if (!probe.available) lines.push(`- ${subjects[subject].label} not available: ${probe.reason}`);
    for (const scenario of scenarioIds) {
      const cell = cellOf(run, subject, scenario);
      const where = `${subjects[subject].label}, ${scenarioLabels[scenario]}`;
      if ('missing' in cell) {
        if (cell.missing.startsWith('failed')) lines.push(`- ${where}: ${cell.missing}`);
        continue;
      }
      if (cell.warning) lines.push(`- ⚠ ${where}: ${cell.warning}`);
      if (cell.remarks.length > 0) lines.push(`- ${where}: ${cell.remarks.join('; ')}`);
    }
  }
  return lines;
};

/** The whole report as Markdown: printed, and written to bench/results. */
export const renderReport = (run: BenchRun): string => {
  const { settings, machine } = run;
  const singles = eventsIn('single', settings);
  return [
    `# Lantern stores bench, ${run.date.toISOString().slice(0, 10)}`,
    '',
    `Command: \`${run.command}\``,
    '',
    `- Workload: ${whole(settings.events)} catalog events (ClubSessionHeld, OutreachConducted) over ${whole(settings.streams)} streams, seed ${settings.seed}. Batched: ${settings.batchSize} events of one stream per append. Single-event and concurrent scenarios: the first ${whole(singles)} events, one per append (a subset, to keep synchronous=FULL runs short).`,
    `- Each figure: the median of ${settings.runs} run${settings.runs === 1 ? '' : 's'}, each on fresh temp files, each scenario in a fresh Node process running the worker compiled (no TypeScript loader).`,
    settings.warmUp > 0
      ? `- Warm-up, untimed, for every subject alike: before an append scenario's timed part, its process appends the scenario's first ${whole(settings.warmUp)} events the same way to a throwaway file, so the timing starts on compiled code and filled caches, as in a process that has been appending for a while (\`--warm-up 0\` times from a cold start). Reads run long enough to warm up by themselves.`
      : '- No warm-up (`--warm-up 0`): every timing starts in a cold process, so the short append scenarios include the time the JavaScript engine takes to compile the code they run.',
    `- Machine: ${machine.cpus}; ${machine.memory}; ${machine.os}; Node ${machine.node}.`,
    `- Drivers: ${machine.drivers}. Commit: ${machine.commit}.`,
    '- Checked, untimed: after each append scenario its file is read back and must hold exactly the events appended; each read must fold exactly the events and people the workload holds. A cell that failed either check is marked ⚠.',
    '',
    '## Throughput, events/s (median)',
    '',
    scenarioTable(run, (cell) => whole(cell.rate)),
    '',
    '## Targets (reported, never asserted)',
    '',
    targetTable(run),
    '',
    'A target against Emmett cannot be met by more than raw better-sqlite3 beats Emmett on the same run: raw is the floor the disk and the driver allow, with no validation, idempotency or checksums. The last column gives that ceiling, and what the goal asks of Lantern as a share of raw.',
    '',
    '## Peak RSS of the worker process (median)',
    '',
    scenarioTable(run, (cell) => megabytes(cell.peakRss)),
    '',
    '## Durability',
    '',
    ...chosenSubjects(run).map(([subject, { probe }]) => {
      return `- ${subjects[subject].label}: ${probe.available ? probe.durability : `not available (${probe.reason})`}`;
    }),
    '',
    '## Notes',
    '',
    `- Raw's concurrent figure is its single-caller rate: better-sqlite3 is synchronous, so ${settings.callers} callers would queue on one connection.`,
    '- Emmett has no concurrent run: with a file name, getSQLiteEventStore shares one connection between overlapping calls and closes it when the first call ends, so overlapping appends fail (SQLITE_MISUSE: database handle is closed; SQLITE_BUSY) rather than measure anything.',
    ...notes(run),
    '',
    '## Every run, events/s',
    '',
    runsTable(run),
    '',
  ].join('\n');
};
