import { join } from 'node:path';
import type { Event } from '@event-driven-io/emmett';
import {
  getSQLiteEventStore,
  readMessagesBatch,
  type SQLiteConnection,
  sqliteConnection,
} from '@event-driven-io/emmett-sqlite';
import type { NewEvent } from '@lantern/core';
import { emptyTally, foldEvent, type Tally } from '../workload.js';
import type { Subject, SubjectStore } from './subject.js';

/** Events per page when reading in global order (Emmett's own consumers pull 100). */
const pageSize = 1000;

/** The same JSON Lantern and raw store; Emmett keeps our event id as its message id. */
const toEmmettEvent = (event: NewEvent): Event<string, Record<string, unknown>, Record<string, unknown>> => ({
  type: event.type,
  data: event.data as Record<string, unknown>,
  metadata: { ...event.metadata, messageId: event.id },
});

/**
 * Emmett reads `INSERT … RETURNING` with node-sqlite3's `get`, which finalizes the statement only
 * after calling back; now and then its COMMIT gets there first and SQLite refuses it with this.
 * Emmett then rolls the transaction back, so the append can be sent again.
 */
const isCommitRace = (error: unknown): boolean =>
  error instanceof Error && error.message.includes('cannot commit transaction - SQL statements in progress');

/** Attempts per append before a commit race fails the run. */
const maxAttempts = 5;

const pragma = async (connection: SQLiteConnection, name: string): Promise<string> => {
  const row = await connection.querySingle<Record<string, unknown>>(`PRAGMA ${name}`);
  return String(row ? Object.values(row)[0] : undefined);
};

/**
 * Emmett's SQLite event store (`getSQLiteEventStore`) through its public API. With a file name it
 * opens a connection (node-sqlite3) for each operation and closes it after; every connection
 * sets `journal_mode = WAL`, and `synchronous` stays at the driver's default, FULL, which `probe`
 * reads back from a connection opened the same way.
 */
export const emmettSubject = (): Subject => ({
  label: 'Emmett SQLite',

  probe: async (directory) => {
    const fileName = join(directory, 'emmett-probe.db');
    const store = getSQLiteEventStore({ fileName });
    await store.appendToStream('probe-1', [{ type: 'Probed', data: {} }]);
    const connection = sqliteConnection({ fileName });
    try {
      const journal = await pragma(connection, 'journal_mode');
      const synchronous = await pragma(connection, 'synchronous');
      const level = synchronous === '2' ? 'FULL' : synchronous === '1' ? 'NORMAL' : synchronous;
      return {
        available: true,
        durability: `journal_mode=${journal} (set by Emmett on every connection), synchronous=${level} (node-sqlite3's default; Emmett never changes it; read back)`,
      };
    } finally {
      connection.close();
    }
  },

  open: async (fileName): Promise<SubjectStore> => {
    const store = getSQLiteEventStore({ fileName });
    let retried = 0;
    return {
      append: async (streamId, events) => {
        for (let attempt = 1; ; attempt += 1) {
          try {
            await store.appendToStream(streamId, events.map(toEmmettEvent));
            return;
          } catch (error) {
            if (attempt === maxAttempts || !isCommitRace(error)) throw error;
            retried += 1;
          }
        }
      },
      readStream: async (streamId) => {
        const { state } = await store.aggregateStream(streamId, {
          initialState: emptyTally,
          evolve: (tally: Tally, event: Event) => foldEvent(tally, event.type, event.data),
        });
        return state;
      },
      readAll: async () => {
        const connection = sqliteConnection({ fileName });
        const tally = emptyTally();
        try {
          let after = 0n;
          for (;;) {
            const page = await readMessagesBatch(connection, { after, batchSize: pageSize });
            for (const message of page.messages) foldEvent(tally, message.type, message.data);
            after = page.currentGlobalPosition;
            if (!page.areEventsLeft) return tally;
          }
        } finally {
          connection.close();
        }
      },
      // Emmett closes its connection after every operation: nothing is left open.
      close: async () => {},
      remark: () =>
        retried > 0
          ? `${retried} append${retried === 1 ? '' : 's'} retried after "SQLITE_BUSY: cannot commit transaction - SQL statements in progress"`
          : undefined,
    };
  },
});
