import { performance } from 'node:perf_hooks';
import { appendToStream, createEventStoreSchema, sqliteConnection } from '@event-driven-io/emmett-sqlite';
import { createSqliteEventStore } from '@lantern/adapters/sqlite';
import { defaultEventRegistry, type NewEvent } from '@lantern/core';
import { emptyTally, foldEvent, type Tally } from '../workload.js';
import { toEmmettEvent } from './peers.js';
import {
  chunksOf,
  emptySummary,
  type ProgrammeWorkloadOptions,
  programmeEvents,
  summarise,
  type WorkloadSummary,
} from './programmeWorkload.js';
import { streamRuns } from './timing.js';

/**
 * The files the parent writes once, untimed, before any run: the workload in Lantern's SQLite
 * event store (which every SQLite run copies, and raw scans), and the same events in Emmett's.
 */

/** Events generated, validated and appended at a time. */
const chunkSize = 10_000;

export interface WrittenLog {
  path: string;
  summary: WorkloadSummary;
  /** The last event's position. */
  last: bigint;
  seconds: number;
}

/**
 * Writes the workload into a new Lantern SQLite event store, a chunk at a time so that even five
 * million events are never all in memory. Each chunk's appends (one per run of a stream's
 * consecutive events) are made together, so the store commits them as one group; the store
 * validates every event, and with `validate` each chunk also goes through
 * `defaultEventRegistry.validateBatch` first, so a bad generator fails before anything is timed.
 */
export const writeLanternLog = async (
  path: string,
  options: ProgrammeWorkloadOptions,
  validate: boolean,
  progress: (written: number) => void,
): Promise<WrittenLog> => {
  const started = performance.now();
  const store = createSqliteEventStore({ path });
  const summary = emptySummary(options.events);
  const streams = new Set<string>();
  let last = 0n;
  try {
    for (const chunk of chunksOf(programmeEvents(options), chunkSize)) {
      if (validate) defaultEventRegistry.validateBatch(chunk.map(({ event }) => event));
      for (const planned of chunk) summarise(summary, planned, streams);
      const results = await Promise.all(
        [...streamRuns(chunk)].map((run) => store.append(run.streamId, run.events)),
      );
      for (const { position } of results) if (position > last) last = position;
      progress(summary.events);
    }
  } finally {
    await store.close();
  }
  return { path, summary, last, seconds: (performance.now() - started) / 1000 };
};

/** Events of one stream per Emmett append, as in the stores bench's batched scenario. */
const emmettBatch = 100;

export interface EmmettLog {
  /** Global position of the last event of the log, and of the `prefix`-th. */
  last: bigint;
  prefixLast: bigint;
  /** The fold of the first `prefix` events in Emmett's global order. */
  prefixTally: Tally;
  seconds: number;
}

/**
 * Writes the same events into Emmett's SQLite event store with Emmett's own `appendToStream` and
 * schema, on one connection of its own kind (`sqliteConnection`): every stream's events in order,
 * in appends of up to 100, streams taken in turn (Emmett appends to one stream per call). Global
 * order therefore differs from Lantern's; the fold does not depend on it. Untimed, so the
 * connection skips fsync (`synchronous = OFF`): through `getSQLiteEventStore`, which opens a
 * connection and syncs for every append, the tens of thousands of short streams of this workload
 * take many minutes to write. The rows are the same either way.
 */
export const writeEmmettLog = async (
  fileName: string,
  options: ProgrammeWorkloadOptions,
  prefix: number,
): Promise<EmmettLog> => {
  const started = performance.now();
  const byStream = new Map<string, NewEvent[]>();
  for (const { streamId, event } of programmeEvents(options)) {
    const events = byStream.get(streamId);
    if (events) events.push(event);
    else byStream.set(streamId, [event]);
  }
  const connection = sqliteConnection({ fileName });
  let last = 0n;
  let prefixLast = 0n;
  let appended = 0;
  const prefixTally = emptyTally();
  try {
    await createEventStoreSchema(connection);
    await connection.command('PRAGMA synchronous = OFF');
    for (let from = 0, more = true; more; from += emmettBatch) {
      more = false;
      for (const [streamId, events] of byStream) {
        const batch = events.slice(from, from + emmettBatch);
        if (batch.length === 0) continue;
        more = true;
        // The stream type as getSQLiteEventStore derives it: the name's part before its first dash.
        const [category, ...rest] = streamId.split('-');
        const streamType = category && rest.length > 0 ? category : 'emt:unknown';
        const result = await appendToStream(connection, streamId, streamType, batch.map(toEmmettEvent));
        if (!result.success) throw new Error(`Emmett refused an append to ${streamId}.`);
        for (const event of batch) {
          appended += 1;
          if (appended <= prefix) foldEvent(prefixTally, event.type, event.data);
        }
        last = result.lastGlobalPosition;
        // The prefix ends in this batch: its last event is this many before the batch's last.
        if (appended - batch.length < prefix) prefixLast = last - BigInt(Math.max(0, appended - prefix));
      }
    }
  } finally {
    connection.close();
  }
  return { last, prefixLast, prefixTally, seconds: (performance.now() - started) / 1000 };
};
