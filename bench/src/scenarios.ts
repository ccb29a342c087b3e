import { compiledWorker } from './compiledWorker.js';
import type { SubjectId, SubjectStore } from './subjects/index.js';
import {
  addTallies,
  batchedAppends,
  emptyTally,
  expectedTally,
  type PlannedAppend,
  singleAppends,
  streamIds,
  type Tally,
  tallyOf,
  type WorkloadOptions,
} from './workload.js';

export interface Settings extends WorkloadOptions {
  /** Events in the single-event and concurrent scenarios: the first ones of the workload. */
  singleEvents: number;
  /** Callers appending at once in the concurrent scenario. */
  callers: number;
  /** Runs of every scenario; the report shows the median. */
  runs: number;
  /**
   * Events an append scenario first appends untimed, in the same way, to a throwaway file in the
   * same process, so the timed part runs on warm code (0: none).
   */
  warmUp: number;
}

export const scenarioIds = ['single', 'batched', 'concurrent', 'readStreams', 'readAll'] as const;
export type ScenarioId = (typeof scenarioIds)[number];

export const scenarioLabels: Record<ScenarioId, string> = {
  single: 'single-event appends, one caller',
  batched: 'batched appends',
  concurrent: 'single-event appends, concurrent callers',
  readStreams: 'read every stream + fold',
  readAll: 'read all in global order + fold',
};

/** Events a scenario handles, for its events/s. */
export const eventsIn = (scenario: ScenarioId, settings: Settings): number =>
  scenario === 'single' || scenario === 'concurrent'
    ? Math.min(settings.singleEvents, settings.events)
    : settings.events;

/**
 * What each subject runs, in this order: the read scenarios reopen the file its batched scenario
 * filled. Raw's concurrent rate is its single-caller rate (better-sqlite3 is synchronous: callers
 * queue on one connection). Emmett's file-backed store shares one connection between overlapping
 * calls and closes it when the first one ends, so it has no concurrent row.
 */
export const scenariosOf: Record<SubjectId, readonly ScenarioId[]> = {
  lantern: ['batched', 'readStreams', 'readAll', 'single', 'concurrent'],
  raw: ['batched', 'readStreams', 'readAll', 'single'],
  emmett: ['batched', 'readStreams', 'readAll', 'single'],
  rawNormal: ['batched', 'single'],
};

/** The file a scenario works on, within one subject's run directory. */
export const fileOf = (scenario: ScenarioId): string =>
  scenario === 'readStreams' || scenario === 'readAll' ? 'batched.db' : `${scenario}.db`;

/** One timed run of one scenario by one subject, in a process of its own. */
export interface Job {
  subject: SubjectId;
  scenario: ScenarioId;
  file: string;
  settings: Settings;
}

export interface Measurement {
  events: number;
  seconds: number;
  /** Peak resident set of the worker process (which runs this one scenario) at the end of the timing. */
  peakRssBytes: number;
  /** Set when the store did not hold or return exactly the events it should. */
  problem?: string;
  /** Anything else the subject reports about the run, e.g. appends it had to retry. */
  remark?: string;
}

export type WorkerReply = { ok: true; measurement: Measurement } | { ok: false; error: string };

const appendSequentially = async (store: SubjectStore, appends: readonly PlannedAppend[]): Promise<void> => {
  for (const { streamId, events } of appends) await store.append(streamId, events);
};

/** `callers` loops taking the next append from one shared queue until it is empty. */
const appendConcurrently = async (
  store: SubjectStore,
  appends: readonly PlannedAppend[],
  callers: number,
): Promise<void> => {
  let next = 0;
  const caller = async (): Promise<void> => {
    for (let planned = appends[next++]; planned; planned = appends[next++]) {
      await store.append(planned.streamId, planned.events);
    }
  };
  await Promise.all(Array.from({ length: callers }, caller));
};

const readEveryStream = async (store: SubjectStore, streams: readonly string[]): Promise<Tally> => {
  let tally = emptyTally();
  for (const streamId of streams) tally = addTallies(tally, await store.readStream(streamId));
  return tally;
};

/** A scenario ready to time, and what the store must hold or return once it has run. */
export interface PreparedScenario {
  /** The timed part; a read returns what it folded. */
  run(store: SubjectStore): Promise<Tally | undefined>;
  /** The fold of every event appended, or of the whole workload for a read. */
  expected: Tally;
  /**
   * An append scenario's untimed warm-up: its first appends, up to `events` events, made the same
   * way to another store (a throwaway file). Reads have none: they run long enough to warm up.
   */
  warmUp?(store: SubjectStore, events: number): Promise<void>;
}

/** The first appends, up to `events` events in all (at least one append). */
const firstAppends = (appends: readonly PlannedAppend[], events: number): PlannedAppend[] => {
  const first: PlannedAppend[] = [];
  let count = 0;
  for (const planned of appends) {
    if (count >= events) break;
    first.push(planned);
    count += planned.events.length;
  }
  return first;
};

const appending = (
  appends: readonly PlannedAppend[],
  append: (store: SubjectStore, appends: readonly PlannedAppend[]) => Promise<void>,
): PreparedScenario => ({
  run: async (store) => {
    await append(store, appends);
    return undefined;
  },
  expected: tallyOf(appends),
  warmUp: (store, events) => append(store, firstAppends(appends, events)),
});

/** Builds the scenario's input, untimed. */
export const prepareScenario = (scenario: ScenarioId, settings: Settings): PreparedScenario => {
  switch (scenario) {
    case 'single':
      return appending(singleAppends(settings, settings.singleEvents), appendSequentially);
    case 'concurrent':
      return appending(singleAppends(settings, settings.singleEvents), (store, appends) =>
        appendConcurrently(store, appends, settings.callers),
      );
    case 'batched':
      return appending(batchedAppends(settings), appendSequentially);
    case 'readStreams': {
      const streams = streamIds(settings);
      return { run: (store) => readEveryStream(store, streams), expected: expectedTally(settings) };
    }
    case 'readAll':
      return { run: (store) => store.readAll(), expected: expectedTally(settings) };
  }
};

const worker = compiledWorker(new URL('./worker.ts', import.meta.url), 'stores-worker');

/** Runs a job in a fresh Node process, compiled (see compiledWorker.ts). */
export const runInWorker = (job: Job): Promise<WorkerReply> =>
  worker<WorkerReply>(JSON.stringify(job), [], (error) => ({ ok: false, error }));
