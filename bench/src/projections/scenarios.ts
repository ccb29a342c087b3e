import { compiledWorker } from '../compiledWorker.js';
import type { Tally } from '../workload.js';
import type { WorkloadSummary } from './programmeWorkload.js';

/** What one run of the projections bench is asked to do. */
export interface ProjectionsSettings {
  /** Events in the workload every rebuild reads. */
  events: number;
  seed: number;
  /** Runs of every rebuild scenario; the report shows the median. */
  runs: number;
  /** The engine's `batchSize`; absent: the engine's default. */
  batchSize?: number;
  /** The bigger `batchSize` of the extra SQLite rebuild row. */
  bigBatchSize: number;
  /** Events appended one at a time while the engine is live, each timed. */
  liveEvents: number;
  /** Events already in the store when the live-lag engine starts. */
  liveHistory: number;
  /** Events Emmett's SQLite consumer folds (the first of its log): it is slow, so not the whole workload. */
  emmettSqliteEvents: number;
  /** Events in the peak-RSS rebuild; 0 leaves it out. */
  rssEvents: number;
  /** Runs of each peak-RSS rebuild. */
  rssRuns: number;
}

export const rebuildScenarioIds = [
  'lanternMemory',
  'lanternSqlite',
  'lanternSqliteBigBatch',
  'applyBuiltIns',
  'documentOperationsBuiltIns',
  'floorBuiltIns',
  'idleLanternMemory',
  'foldLanternMemory',
  'foldEmmettMemory',
  'idleLanternSqlite',
  'foldLanternSqlite',
  'foldRawSqlite',
  'floorBuiltInsSqlite',
  'foldEmmettSqlite',
] as const;
export const rssScenarioIds = [
  'rssBuiltIns',
  'rssBuiltInsCapped',
  'rssFold',
  'rssBuiltInsPostgres',
  'rssBuiltInsPostgresCopy',
  'rssBuiltInsPostgresCopyCapped',
] as const;

/** The peak-RSS rebuilds whose read models are in PostgreSQL. */
export const postgresScenarioIds: readonly ScenarioId[] = [
  'rssBuiltInsPostgres',
  'rssBuiltInsPostgresCopy',
  'rssBuiltInsPostgresCopyCapped',
];

/** The PostgreSQL server of those rebuilds: the one the tests use. */
export const postgresConnectionString =
  process.env.POSTGRES_CONNECTION_STRING ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * The old-space limit docs/projections.md advises for long rebuilds: with it V8 collects before
 * garbage piles up to several times what the engine holds (see the README's "Peak RSS").
 */
export const cappedOldSpaceMb = 512;

export const scenarioIds = [
  ...rebuildScenarioIds,
  'liveLag',
  'donorReleases',
  'releasesAsLogGrows',
  ...rssScenarioIds,
] as const;
export type ScenarioId = (typeof scenarioIds)[number];

export const scenarioLabels: Record<ScenarioId, string> = {
  lanternMemory: 'Lantern: every built-in projection, memory event store → memory read models',
  lanternSqlite: 'Lantern: every built-in projection, SQLite event store → SQLite read models (one file)',
  lanternSqliteBigBatch: 'Lantern: every built-in projection, SQLite → SQLite, batchSize {big}',
  applyBuiltIns:
    "Every built-in projection's apply alone: events from an array, documents in plain maps, no engine or store",
  documentOperationsBuiltIns:
    'Only the document reads and writes of their apply: the same keys, made anew, on plain maps (no evaluation, no engine)',
  floorBuiltIns:
    'A floor: what every built-in projection keeps, folded by code written by hand for this workload (no definitions, no documents, no engine), events from an array',
  idleLanternMemory:
    'Lantern engine alone: a projection of every event that changes nothing, memory → memory',
  foldLanternMemory: 'Lantern engine, simple fold as a projection, memory → memory',
  foldEmmettMemory: 'Emmett in-memory store, aggregateStream of every stream with the fold',
  idleLanternSqlite:
    'Lantern engine alone: a projection of every event that changes nothing, SQLite → SQLite (one file)',
  foldLanternSqlite: 'Lantern engine, simple fold as a projection, SQLite → SQLite (one file)',
  foldRawSqlite: 'raw better-sqlite3: scan in position order + JSON.parse + the fold',
  floorBuiltInsSqlite:
    'A floor from SQLite: the raw scan, each event folded by the hand-written fold, what it keeps written once to SQLite',
  foldEmmettSqlite: 'Emmett SQLite consumer + processor with the fold, its first {emmett} events',
  liveLag: 'Lantern live: single appends to the memory store, every built-in projection + the fold',
  donorReleases:
    'Lantern: every built-in indicator released to a donor and to the public by each period and each breakdown, and the case funnel by each period, from read models rebuilt untimed',
  releasesAsLogGrows:
    'Lantern: every built-in indicator released to a donor by quarter, after each quarter of the log, the read models caught up each time',
  rssBuiltIns: 'Lantern: every built-in projection, SQLite → SQLite',
  rssBuiltInsCapped: `Lantern: every built-in projection, SQLite → SQLite, Node started with --max-old-space-size=${cappedOldSpaceMb}`,
  rssFold: 'Lantern engine, simple fold, SQLite → SQLite',
  rssBuiltInsPostgres:
    'Lantern: every built-in projection, SQLite → PostgreSQL, every document held in memory',
  rssBuiltInsPostgresCopy:
    'Lantern: every built-in projection, SQLite → PostgreSQL through a local copy (withLocalCopy)',
  rssBuiltInsPostgresCopyCapped: `Lantern: every built-in projection, SQLite → PostgreSQL through a local copy, Node started with --max-old-space-size=${cappedOldSpaceMb}`,
};

/** Files the parent prepared once, untimed. */
export interface PreparedFiles {
  /** Lantern's SQLite event store holding the workload; each run works on its own copy. */
  lantern: string;
  /** Lantern's position of its last event (a bigint, as text). */
  lanternLastPosition?: string;
  /** Emmett's SQLite event store holding the same events, when Emmett SQLite runs. */
  emmett?: string;
  /** Emmett's global position of the last event its consumer folds (a bigint, as text). */
  emmettStopAt?: string;
  /** The fold of the events up to there, in Emmett's order. */
  emmettTally?: Tally;
  /** Lantern's SQLite event store holding the peak-RSS workload, when it runs. */
  rss?: string;
  rssLastPosition?: string;
}

/** One timed run of one scenario, in a process of its own. */
export interface Job {
  scenario: ScenarioId;
  settings: ProjectionsSettings;
  files: PreparedFiles;
  /** An empty directory of this job's own, for its copies and read models. */
  work: string;
  /** What the workload holds (the peak-RSS workload's for the RSS scenarios), to check results. */
  summary: WorkloadSummary;
}

/** Percentiles of one set of latencies, in milliseconds. */
export interface Percentiles {
  p50: number;
  p99: number;
  max: number;
}

export interface LiveLag {
  /** Appends measured. */
  count: number;
  /** From the append's promise resolving to the changes being published (0 when they came first). */
  fromResolve: Percentiles;
  /** From calling append to the changes being published. */
  fromCall: Percentiles;
  /** Appends whose changes were not published within 5 s. */
  timeouts: number;
  /**
   * The machine's share of the blame: pauses longer than 1 ms that a busy loop in the same worker
   * saw in one second just before (the process descheduled, or a GC), and the longest of them.
   */
  stalls: { count: number; longestMs: number };
}

/** What the donor releases gave, and what the slowest of them cost. */
export interface Releases {
  /**
   * Releases asked for: every built-in indicator by month, quarter, year and life, with no
   * breakdown and by each of its dimensions; the case funnel by each of those periods; each to a
   * donor and to the public.
   */
  asked: number;
  /** Those refused, by the error's name: how many, and the first with its message. */
  refused: Record<string, { count: number; first: string }>;
  /** Figures released, and those hidden (small counts, and totals hidden to protect them). */
  figures: number;
  hidden: number;
  /** Loading every indicator's observations and the children's consent, before the first release. */
  loadMs: number;
  /** The slowest release (the first one to protect the largest table) and what it asked. */
  slowestMs: number;
  slowest: string;
  /** A fingerprint of every release and refusal, to compare runs. */
  digest: string;
}

export interface Measurement {
  /** Events the timed part handled (for rates). */
  events: number;
  seconds: number;
  /** User + system CPU time of the worker process during the timed part: less sensitive to noisy neighbours. */
  cpuSeconds: number;
  /** Peak resident set of the worker process at the end of the timed part. */
  peakRssBytes: number;
  /** Set when the subject did not fold exactly what the workload holds. */
  problem?: string;
  /** A fingerprint of every read-model document, to compare memory and SQLite rebuilds. */
  digest?: string;
  lag?: LiveLag;
  releases?: Releases;
  growing?: GrowingReleases;
  remark?: string;
}

/** What a round of releases gave: figures, and those hidden by why. */
export interface ReleaseTally {
  figures: number;
  primary: number;
  secondary: number;
  partlyHidden: number;
  /** Releases refused. */
  refused: number;
}

/**
 * Releases made as the log grows (the releasesAsLogGrows scenario): every built-in indicator by
 * quarter, with no breakdown and by each of its dimensions, to a donor, after each quarter.
 */
export interface GrowingReleases {
  /** Rounds of releases: one per quarter of the log. */
  rounds: number;
  /** What the last round gave, every quarter of the log in it. */
  last: ReleaseTally;
  /** What one round gave from the whole log at once, untimed: the same figures in one vintage. */
  once: ReleaseTally;
  /** A fingerprint of the last round's figures, to compare runs. */
  digest: string;
}

export type WorkerReply = { ok: true; measurement: Measurement } | { ok: false; error: string };

const worker = compiledWorker(new URL('./worker.ts', import.meta.url), 'projections-worker');

/** Node flags a scenario's worker starts with, besides this process's own. */
const nodeFlagsOf = (scenario: ScenarioId): string[] =>
  scenario === 'rssBuiltInsCapped' || scenario === 'rssBuiltInsPostgresCopyCapped'
    ? [`--max-old-space-size=${cappedOldSpaceMb}`]
    : [];

/** Runs a job in a fresh Node process, compiled (see compiledWorker.ts), with the scenario's own flags. */
export const runInWorker = (job: Job): Promise<WorkerReply> =>
  worker<WorkerReply>(JSON.stringify(job), nodeFlagsOf(job.scenario), (error) => ({ ok: false, error }));
