import type { EventFilter, EventRegistry, RecordedEvent } from '@lantern/core';
import { isValidationError, StoreError, ValidationError } from '@lantern/core';
import type { ReadValidation } from './readValidation.js';

/**
 * An events row as SQLite returns it, in `eventColumns` order. Rows are read as arrays: better-sqlite3
 * builds an array of ten values about twice as fast as an object of ten properties.
 */
export type EventRow = readonly [
  position: number,
  streamId: string,
  revision: number,
  id: string,
  type: string,
  schemaVersion: number,
  data: string,
  metadata: string,
  recordedAt: string,
  checksum: number | null,
];

export const eventColumns =
  'position, stream_id, revision, id, type, schema_version, data, metadata, recorded_at, checksum';

export const rowPosition = (row: EventRow): number => row[0];
export const rowStreamId = (row: EventRow): string => row[1];
export const rowRevision = (row: EventRow): number => row[2];
export const rowType = (row: EventRow): string => row[4];

/** True when a row passes the filter: the same rule as `matchesFilter`, on the row's columns. */
export const rowMatches = (filter: EventFilter | undefined, type: string, streamId: string): boolean => {
  if (!filter) return true;
  if (filter.eventTypes && !filter.eventTypes.includes(type)) return false;
  if (filter.streamPrefixes && !filter.streamPrefixes.some((p) => streamId.startsWith(p))) return false;
  return true;
};

const where = (file: string, [position, streamId, , id]: EventRow): string =>
  `event ${id} at position ${position} in stream "${streamId}" of ${file}`;

const advice =
  'Lantern left the stored row as it is. If a newer Lantern wrote it, upgrade; if the file was edited or ' +
  'damaged, restore it from a backup; a projection can dead-letter the event and go on.';

/**
 * The error for a stored row that does not read back as a valid event. A schema failure stays a
 * ValidationError (type, path, rule), as the memory store reports it, with a message that names the
 * row — position, stream, file — instead of asking the caller to resend it.
 */
export const storedEventError = (file: string, row: EventRow, error: unknown): Error => {
  if (isValidationError(error)) {
    const named = new ValidationError(error.eventType, error.path, error.rule);
    const field = error.path === '' ? 'the event' : `field "${error.path}"`;
    named.message = `The stored ${where(file, row)} does not read back as a valid ${error.eventType}: ${field} is invalid (${error.rule}). ${advice}`;
    named.cause = error;
    return named;
  }
  return new StoreError(
    `The stored ${where(file, row)} cannot be read: ${error instanceof Error ? error.message : String(error)}. ${advice}`,
    { cause: error },
  );
};

const parseJson = (file: string, row: EventRow, field: 'data' | 'metadata'): unknown => {
  try {
    return JSON.parse(field === 'data' ? row[6] : row[7]);
  } catch (error) {
    throw storedEventError(
      file,
      row,
      new ValidationError(row[4] || '(no type)', field, `not valid JSON: ${(error as Error).message}`),
    );
  }
};

/**
 * Turns rows into events as callers see them: parsed, and validated and upcast through the
 * registry unless the row's checksum proves the reader's own schema already accepted its text.
 */
export const createRowReader = (file: string, registry: EventRegistry, validation: ReadValidation) => {
  return (row: EventRow): RecordedEvent => {
    const [position, streamId, revision, id, type, schemaVersion, data, metadata, recordedAt, checksum] = row;
    const event: RecordedEvent = {
      id,
      type,
      data: parseJson(file, row, 'data'),
      metadata: parseJson(file, row, 'metadata') as RecordedEvent['metadata'],
      streamId,
      revision: BigInt(revision),
      position: BigInt(position),
      recordedAt,
    };
    if (
      validation.verified(type, schemaVersion, metadata, data, checksum) &&
      event.metadata?.schemaVersion === schemaVersion
    ) {
      return event;
    }
    try {
      return registry.readRecorded(event);
    } catch (error) {
      throw storedEventError(file, row, error);
    }
  };
};
