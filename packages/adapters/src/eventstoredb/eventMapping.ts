import {
  type RecordedEvent as EsdbRecordedEvent,
  type EventData,
  type JSONType,
  jsonEvent,
  type Position,
} from '@eventstore/db-client';
import type { EventMetadata, EventRegistry, NewEvent, RecordedEvent } from '@lantern/core';
import { deepFreeze, StoreError } from '@lantern/core';

/**
 * Lantern events as EventStoreDB stores them: the event id is the EventStoreDB event id (the
 * server's idempotency key too), `type` is the event type, `data` the JSON data and Lantern's
 * metadata the JSON metadata — plus `$correlationId` / `$causationId` when the event has them, so
 * the server's `$by_correlation_id` projection works. Those `$` keys are dropped on read.
 */

export const toEventData = (event: NewEvent): EventData => {
  const { correlationId, causationId } = event.metadata;
  return jsonEvent({
    id: event.id,
    type: event.type,
    data: event.data as JSONType,
    metadata: {
      ...event.metadata,
      ...(correlationId === undefined ? {} : { $correlationId: correlationId }),
      ...(causationId === undefined ? {} : { $causationId: causationId }),
    },
  });
};

/** 2^64 − 1: what some server versions send for "no position". */
const noPosition = 0xffff_ffff_ffff_ffffn;

/**
 * The global position of an event: the commit position of the `$all` entry when there is one,
 * else the commit position the server reports on the event itself (equal to it for events
 * appended over gRPC). Not the prepare position: on a stream read that is the position of the
 * event's whole batch, shared by its events.
 */
export const positionOf = (commitPosition: bigint | undefined, position: Position | undefined): bigint => {
  for (const candidate of [commitPosition, position?.commit]) {
    if (candidate !== undefined && candidate >= 0n && candidate !== noPosition) return candidate;
  }
  throw new StoreError(
    'EventStoreDB sent an event without its commit position. Lantern needs a server that reports positions when reading a stream: upgrade EventStoreDB (or move to KurrentDB).',
  );
};

const withoutServerKeys = (metadata: unknown): unknown => {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) return metadata;
  return Object.fromEntries(Object.entries(metadata).filter(([key]) => !key.startsWith('$')));
};

/**
 * A stored event as Lantern returns it: the stream name without the store's prefix, `recordedAt`
 * from the server's `created`, validated and upcast by the registry, and frozen.
 */
export const toRecordedEvent = (
  event: EsdbRecordedEvent,
  position: bigint,
  streamPrefix: string,
  registry: EventRegistry,
): RecordedEvent => {
  const recorded: RecordedEvent = {
    id: event.id,
    type: event.type,
    data: event.data,
    metadata: withoutServerKeys(event.metadata) as EventMetadata,
    streamId: event.streamId.slice(streamPrefix.length),
    revision: event.revision,
    position,
    recordedAt: event.created.toISOString(),
  };
  return deepFreeze(registry.readRecorded(recorded));
};
