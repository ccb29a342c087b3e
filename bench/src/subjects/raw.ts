import { join } from 'node:path';
import type { NewEvent } from '@lantern/core';
import { emptyTally, foldEvent, type Tally } from '../workload.js';
import { type Database, openDatabase } from './betterSqlite3.js';
import type { Subject, SubjectStore } from './subject.js';

export interface RawSubjectOptions {
  /** `FULL` syncs the WAL on every commit; `NORMAL` only at checkpoints (can lose the last commits). */
  synchronous: 'FULL' | 'NORMAL';
}

/**
 * The floor: better-sqlite3 with no event-store logic. One table (global position, per-stream
 * revision, the JSON the other subjects store); each stream's next revision kept in memory, no
 * validation, no idempotency check, no subscriptions. It measures the driver and the disk.
 */
const schema = `
  CREATE TABLE IF NOT EXISTS events (
    position    INTEGER PRIMARY KEY,
    stream_id   TEXT    NOT NULL,
    revision    INTEGER NOT NULL,
    id          TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    data        TEXT    NOT NULL,
    metadata    TEXT    NOT NULL,
    recorded_at TEXT    NOT NULL,
    UNIQUE (stream_id, revision)
  )`;

interface Row {
  type: string;
  data: string;
  metadata: string;
}

const openRaw = (file: string, options: RawSubjectOptions): Database => {
  const db = openDatabase(file);
  db.pragma('journal_mode = WAL', { simple: true });
  // Set explicitly: better-sqlite3 is built with SQLITE_DEFAULT_WAL_SYNCHRONOUS=1 (NORMAL).
  db.pragma(`synchronous = ${options.synchronous}`, { simple: true });
  db.exec(schema);
  return db;
};

/** Parses what every subject returns (data and metadata) and folds the data. */
const foldRow = (tally: Tally, row: Row): Tally => {
  JSON.parse(row.metadata);
  return foldEvent(tally, row.type, JSON.parse(row.data));
};

export const rawSubject = (options: RawSubjectOptions): Subject => ({
  label: options.synchronous === 'FULL' ? 'raw better-sqlite3' : 'raw better-sqlite3, synchronous=NORMAL',

  probe: async (directory) => {
    const db = openRaw(join(directory, 'raw-probe.db'), options);
    try {
      const journal = db.pragma('journal_mode', { simple: true });
      const synchronous = ['OFF', 'NORMAL', 'FULL', 'EXTRA'][
        Number(db.pragma('synchronous', { simple: true }))
      ];
      return {
        available: true,
        durability: `journal_mode=${String(journal)}, synchronous=${synchronous ?? 'unknown'} (both set by the bench on open, then read back)`,
      };
    } finally {
      db.close();
    }
  },

  open: async (file): Promise<SubjectStore> => {
    const db = openRaw(file, options);
    const insert = db.prepare(
      'INSERT INTO events (stream_id, revision, id, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    const selectStream = db.prepare(
      'SELECT type, data, metadata FROM events WHERE stream_id = ? ORDER BY revision',
    );
    const selectAll = db.prepare('SELECT type, data, metadata FROM events ORDER BY position');
    const nextRevision = new Map<string, number>();

    const appendBatch = db.transaction((streamId: string, events: readonly NewEvent[]) => {
      const recordedAt = new Date().toISOString();
      let revision = nextRevision.get(streamId) ?? 0;
      for (const event of events) {
        insert.run(
          streamId,
          revision,
          event.id,
          event.type,
          JSON.stringify(event.data),
          JSON.stringify(event.metadata),
          recordedAt,
        );
        revision += 1;
      }
      nextRevision.set(streamId, revision);
    });

    return {
      append: async (streamId, events) => appendBatch(streamId, events),
      readStream: async (streamId) => (selectStream.all(streamId) as Row[]).reduce(foldRow, emptyTally()),
      readAll: async () => {
        const tally = emptyTally();
        for (const row of selectAll.iterate() as IterableIterator<Row>) foldRow(tally, row);
        return tally;
      },
      close: async () => db.close(),
    };
  },
});
