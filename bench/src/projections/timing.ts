import { copyFileSync, existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { EventStore } from '@lantern/core';
import type { PlannedEvent } from './programmeWorkload.js';

/** What the timed part of a run cost. */
export interface Timing {
  seconds: number;
  cpuSeconds: number;
  peakRssBytes: number;
}

/** Times `run` after a full GC: wall clock, the process's CPU time, and its peak RSS at the end. */
export const time = async (run: () => Promise<void>): Promise<Timing> => {
  globalThis.gc?.();
  const cpu = process.cpuUsage();
  const started = performance.now();
  await run();
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return {
    seconds,
    cpuSeconds: (used.user + used.system) / 1e6,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
};

/** Consecutive events of one stream, appended in one call. */
export interface StreamRun {
  streamId: string;
  events: PlannedEvent['event'][];
}

/** Groups consecutive events of the same stream, keeping global order. */
export function* streamRuns(events: Iterable<PlannedEvent>): Generator<StreamRun> {
  let run: StreamRun | undefined;
  for (const { streamId, event } of events) {
    if (run && run.streamId === streamId) {
      run.events.push(event);
      continue;
    }
    if (run) yield run;
    run = { streamId, events: [event] };
  }
  if (run) yield run;
}

/** Appends the events in order, one append per stream run, each awaited; returns the last position. */
export const appendInOrder = async (store: EventStore, events: Iterable<PlannedEvent>): Promise<bigint> => {
  let last = 0n;
  for (const run of streamRuns(events)) last = (await store.append(run.streamId, run.events)).position;
  return last;
};

/** Copies a SQLite file with its write-ahead log, if it has one. */
export const copyDatabase = (from: string, to: string): void => {
  copyFileSync(from, to);
  if (existsSync(`${from}-wal`)) copyFileSync(`${from}-wal`, `${to}-wal`);
};
