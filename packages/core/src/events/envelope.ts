import { z } from 'zod';
import { instant, staffRef } from './common.js';

/** What happened, as a decider returns it: a type and its data, no envelope yet. */
export interface DomainEvent<TType extends string = string, TData = unknown> {
  readonly type: TType;
  readonly data: TData;
}

/** Metadata every event carries. */
export interface EventMetadata {
  /** When it happened in the field, ISO-8601 with the field's offset. */
  readonly occurredAt: string;
  /** Pseudonym of the staff member who recorded it. */
  readonly recordedBy: string;
  /** Ties together every event caused by one request. */
  readonly correlationId?: string | undefined;
  /** The id of the event or command that caused this one. */
  readonly causationId?: string | undefined;
  /** Version of the event's schema the data was written with. */
  readonly schemaVersion: number;
}

/** An event ready to append: `id` is a uuid and the idempotency key. */
export interface NewEvent<TType extends string = string, TData = unknown> extends DomainEvent<TType, TData> {
  readonly id: string;
  readonly metadata: EventMetadata;
}

/** An event as the store returns it. */
export interface RecordedEvent<TType extends string = string, TData = unknown>
  extends NewEvent<TType, TData> {
  readonly streamId: string;
  /** Place in its stream, from 0. */
  readonly revision: bigint;
  /** Place in the store's one global order; strictly increasing, not necessarily contiguous. */
  readonly position: bigint;
  /** When the store accepted it, ISO-8601 UTC. */
  readonly recordedAt: string;
}

export const eventId = z.uuid({ error: 'must be a uuid (it is also the idempotency key)' });

export const eventMetadataSchema = z.strictObject({
  occurredAt: instant,
  recordedBy: staffRef,
  correlationId: z.uuid({ error: 'must be a uuid' }).optional(),
  causationId: z.uuid({ error: 'must be a uuid' }).optional(),
  schemaVersion: z.number().int().positive(),
});

/** The metadata a caller supplies; the schema version is filled in from the event definition. */
export type MetadataInput = Omit<EventMetadata, 'schemaVersion'>;

/** A recorded event as JSON carries it: revision and position as decimal strings. */
export interface SerializedEvent {
  id: string;
  type: string;
  data: unknown;
  metadata: EventMetadata;
  streamId: string;
  revision: string;
  position: string;
  recordedAt: string;
}

export const serializeEvent = (event: RecordedEvent): SerializedEvent => ({
  id: event.id,
  type: event.type,
  data: event.data,
  metadata: event.metadata,
  streamId: event.streamId,
  revision: event.revision.toString(),
  position: event.position.toString(),
  recordedAt: event.recordedAt,
});

export const deserializeEvent = (json: SerializedEvent): RecordedEvent => ({
  id: json.id,
  type: json.type,
  data: json.data,
  metadata: json.metadata,
  streamId: json.streamId,
  revision: BigInt(json.revision),
  position: BigInt(json.position),
  recordedAt: json.recordedAt,
});
