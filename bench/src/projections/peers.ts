import { join } from 'node:path';
import { type Event, getInMemoryEventStore } from '@event-driven-io/emmett';
import { getSQLiteEventStore } from '@event-driven-io/emmett-sqlite';
import type { NewEvent } from '@lantern/core';
import { openDatabase } from '../subjects/betterSqlite3.js';
import { emptyTally, foldEvent } from '../workload.js';
import { checkTally } from './checks.js';
import { programmeEvents } from './programmeWorkload.js';
import type { Job, Measurement } from './scenarios.js';
import { evolve } from './simpleFold.js';
import { copyDatabase, streamRuns, time } from './timing.js';

/** The same JSON Lantern stores; Emmett keeps our event id as its message id (as the stores bench does). */
export const toEmmettEvent = (
  event: NewEvent,
): Event<string, Record<string, unknown>, Record<string, unknown>> => ({
  type: event.type,
  data: event.data as Record<string, unknown>,
  metadata: { ...event.metadata, messageId: event.id },
});

/**
 * (c): Emmett's in-memory event store (`getInMemoryEventStore`), filled untimed with the workload
 * in global order; timed: `aggregateStream` of every stream with the fold as `evolve`. Its store
 * has no read of the whole log in global order, so every stream is read in turn, all folding into
 * one tally.
 */
export const emmettMemoryFold = async (job: Job): Promise<Measurement> => {
  const store = getInMemoryEventStore();
  const streams = new Set<string>();
  for (const run of streamRuns(programmeEvents(job.settings))) {
    await store.appendToStream(run.streamId, run.events.map(toEmmettEvent));
    streams.add(run.streamId);
  }
  const tally = emptyTally();
  const timing = await time(async () => {
    for (const streamId of streams)
      await store.aggregateStream(streamId, { initialState: () => tally, evolve });
  });
  const problem = checkTally(tally, job.summary);
  return { events: job.summary.events, ...timing, ...(problem ? { problem } : {}) };
};

/**
 * (d): Emmett's SQLite event store (0.38.5, node-sqlite3) with its own consumer and one processor
 * from the beginning, folding each message in `eachMessage` and stopping after the
 * `emmettSqliteEvents`-th (at a few thousand events a second, the whole workload takes minutes). Its
 * defaults throughout: the consumer pulls 100 messages at a time and the processor stores its
 * checkpoint after every message, in one transaction per batch.
 */
export const emmettSqliteFold = async (job: Job): Promise<Measurement> => {
  const { emmett, emmettStopAt, emmettTally } = job.files;
  if (!emmett || emmettStopAt === undefined || !emmettTally) {
    throw new Error("Emmett's SQLite file was not prepared.");
  }
  const fileName = join(job.work, 'emmett.db');
  copyDatabase(emmett, fileName);
  const last = BigInt(emmettStopAt);
  const store = getSQLiteEventStore({ fileName });
  const tally = emptyTally();
  const timing = await time(async () => {
    const consumer = store.consumer();
    consumer.processor({
      processorId: 'simple-fold',
      startFrom: 'BEGINNING',
      eachMessage: (message) => {
        evolve(tally, message);
      },
      stopAfter: (message) => message.metadata.globalPosition === last,
    });
    await consumer.start();
    await consumer.close();
  });
  const problem = checkTally(tally, { ...job.summary, tally: emmettTally });
  return { events: emmettTally.events, ...timing, ...(problem ? { problem } : {}) };
};

interface Row {
  type: string;
  data: string;
  metadata: string;
}

/**
 * (e): the ceiling of the SQLite path: better-sqlite3 scanning Lantern's own events table in
 * position order, JSON.parse of data and metadata (what every subject hands its fold) and the fold.
 * No validation, no checkpoint, no read model.
 */
export const rawSqliteFold = async (job: Job): Promise<Measurement> => {
  const db = openDatabase(job.files.lantern);
  const tally = emptyTally();
  try {
    const select = db.prepare('SELECT type, data, metadata FROM events ORDER BY position');
    const timing = await time(async () => {
      for (const row of select.iterate() as IterableIterator<Row>) {
        JSON.parse(row.metadata);
        foldEvent(tally, row.type, JSON.parse(row.data));
      }
    });
    const problem = checkTally(tally, job.summary);
    return { events: job.summary.events, ...timing, ...(problem ? { problem } : {}) };
  } finally {
    db.close();
  }
};
