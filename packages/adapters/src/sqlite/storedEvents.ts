import type { EventFilter, EventRegistry, RecordedEvent } from '@lantern/core';
import { isValidationError, StoreError, ValidationError } from '@lantern/core';
import { joinTexts, type ReadValidation } from './readValidation.js';

/**
 * An events row as the store reads it. Metadata and data are joined in one string, as their
 * checksum covers them (see `joinTexts`), so the checksum needs no string built for it.
 */
export type EventRow = readonly [
  position: number,
  streamId: string,
  revision: number,
  id: string,
  type: string,
  schemaVersion: number,
  /** Metadata text, NUL, data text. */
  texts: string,
  recordedAt: string,
  checksum: number | null,
];

/**
 * SQLite hands each row over as one string, its columns joined by NUL (`concat_ws`), which
 * `unpackRow` splits. better-sqlite3 (on Node 20) builds an array or object row through V8's API
 * one value at a time, and that cost more than reading the row itself: one string per row, split
 * in JavaScript, takes about 7% fewer instructions per event read. Metadata and data come last,
 * so the two together are the string's tail. Every column is NOT NULL but the checksum, given as
 * '' when there is none, so a row splits into exactly as many parts as columns unless a text
 * holds a NUL of its own (no JSON text does; another program may have written one): such a row
 * is read again column by column.
 */
const packed = (columns: string): string => `concat_ws(char(0), ${columns})`;

/** A row of the log: `unpackRow(text)`. */
export const logColumns = packed(
  "position, stream_id, revision, schema_version, coalesce(checksum, ''), id, type, recorded_at, metadata, data",
);

/** A row of one stream, whose id the reader knows: `unpackRow(text, streamId)`. */
export const streamColumns = packed(
  "position, revision, schema_version, coalesce(checksum, ''), id, type, recorded_at, metadata, data",
);

/** The columns of one row, read apart (a row whose text does not split): `rowFromColumns`. */
export const plainColumns =
  'position, stream_id, revision, id, type, schema_version, metadata, data, recorded_at, checksum';

/** The row at a position, read with `plainColumns` (raw), or undefined when it is gone. */
export type RowAt = (position: number) => unknown[] | undefined;

/** The metadata and data text of a row, read apart when a row's joined text cannot be split. */
export type TextsAt = (position: number) => { metadata: unknown; data: unknown } | undefined;

const rowFromColumns = (columns: unknown[]): EventRow => {
  const [position, streamId, revision, id, type, schemaVersion, metadata, data, recordedAt, checksum] =
    columns;
  return [
    position,
    streamId,
    revision,
    id,
    type,
    schemaVersion,
    joinTexts(String(metadata), String(data)),
    recordedAt,
    checksum,
  ] as EventRow;
};

/**
 * A row from its text as `logColumns` (no `streamId`) or `streamColumns` give it. A text that
 * does not split into its columns is read again with `rowAt`.
 */
export const unpackRow = (text: string, streamId: string | undefined, rowAt: RowAt): EventRow => {
  const parts = text.split('\u0000');
  // Without the stream's id, every column after the position sits one further on.
  const at = streamId === undefined ? 1 : 0;
  if (parts.length !== 9 + at) {
    const position = Number.parseInt(text, 10);
    const columns = rowAt(position);
    if (!columns) {
      throw new StoreError(
        `The stored event at position ${position} could not be read again: it is no longer in the file. Read again from that position.`,
      );
    }
    return rowFromColumns(columns);
  }
  const metadata = parts[7 + at] as string;
  const data = parts[8 + at] as string;
  const checksum = parts[3 + at] as string;
  return [
    Number(parts[0]),
    streamId ?? (parts[1] as string),
    Number(parts[1 + at]),
    parts[4 + at] as string,
    parts[5 + at] as string,
    Number(parts[2 + at]),
    text.slice(text.length - data.length - metadata.length - 1),
    parts[6 + at] as string,
    checksum === '' ? null : Number(checksum),
  ];
};

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

const parseJson = (file: string, row: EventRow, field: 'data' | 'metadata', text: unknown): unknown => {
  try {
    return JSON.parse(text as string);
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
 * A row's joined text splits at its only NUL; one with another NUL (which no JSON text holds,
 * so the row is not valid) has its two columns read apart with `textsAt`, so an error names the
 * right one.
 */
export const createRowReader = (
  file: string,
  registry: EventRegistry,
  validation: ReadValidation,
  textsAt: TextsAt,
) => {
  return (row: EventRow): RecordedEvent => {
    const [position, streamId, revision, id, type, schemaVersion, texts, recordedAt, checksum] = row;
    if (!Number.isSafeInteger(revision)) {
      throw storedEventError(
        file,
        row,
        new Error(`its revision (${String(revision)}) is not a whole number`),
      );
    }
    const cut = texts.indexOf('\u0000');
    let metadataText: unknown;
    let dataText: unknown;
    let split = false;
    if (texts.indexOf('\u0000', cut + 1) === -1) {
      metadataText = texts.slice(0, cut);
      dataText = texts.slice(cut + 1);
      split = true;
    } else {
      const apart = textsAt(position);
      if (!apart) throw storedEventError(file, row, new Error('the row is no longer stored'));
      ({ metadata: metadataText, data: dataText } = apart);
    }
    const event: RecordedEvent = {
      id,
      type,
      data: parseJson(file, row, 'data', dataText),
      metadata: parseJson(file, row, 'metadata', metadataText) as RecordedEvent['metadata'],
      streamId,
      revision: BigInt(revision),
      position: BigInt(position),
      recordedAt,
    };
    if (
      split &&
      validation.verified(type, schemaVersion, texts, checksum) &&
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
