import { ValidationError } from '../errors/errors.js';
import type { EventDefinition } from './defineEvent.js';
import { validationErrorFrom } from './defineEvent.js';
import { eventId, eventMetadataSchema, type NewEvent, type RecordedEvent } from './envelope.js';
import { isEventIdFast, parseMetadataFast } from './fastEnvelope.js';

/**
 * The event types a store accepts. Stores validate every event against it on append (the whole
 * batch is refused if one event fails) and on read, where older schema versions are upcast.
 */
export interface EventRegistry {
  readonly types: readonly string[];
  get(type: string): EventDefinition | undefined;
  /**
   * Validates a batch for appending; throws the first ValidationError found. Returns the events
   * with their ids in lowercase: ids are uuids, which compare without regard to case, so every
   * store keeps, compares and returns one spelling of each (as EventStoreDB does). Two ids of one
   * batch that differ only in case are the same id, given twice.
   */
  validateBatch(events: readonly NewEvent[]): NewEvent[];
  /** Validates a stored event and upcasts its data to the current schema version. */
  readRecorded(event: RecordedEvent): RecordedEvent;
}

type AnyDefinition = EventDefinition<string, unknown>;

export const createEventRegistry = (
  definitions: Iterable<EventDefinition<string, never> | AnyDefinition>,
): EventRegistry => {
  const byType = new Map<string, AnyDefinition>();
  for (const definition of definitions as Iterable<AnyDefinition>) {
    if (byType.has(definition.type)) {
      throw new TypeError(`Event type "${definition.type}" is defined twice; define each type once.`);
    }
    byType.set(definition.type, definition);
  }

  const definitionFor = (type: unknown): AnyDefinition => {
    const definition = typeof type === 'string' ? byType.get(type) : undefined;
    if (!definition) {
      throw new ValidationError(
        typeof type === 'string' && type !== '' ? type : '(no type)',
        'type',
        'unknown event type',
        'use a type from the event catalog, or register your own with createEventRegistry',
      );
    }
    return definition;
  };

  const checkMetadata = (type: string, metadata: unknown, definition: AnyDefinition) => {
    let parsed = parseMetadataFast(metadata);
    if (!parsed) {
      // The fast check said no (or could not tell): zod decides, and names the error.
      const result = eventMetadataSchema.safeParse(metadata);
      if (!result.success) throw validationErrorFrom(type, result.error, 'metadata');
      parsed = result.data;
    }
    if (parsed.schemaVersion > definition.schemaVersion) {
      throw new ValidationError(
        type,
        'metadata.schemaVersion',
        `version ${parsed.schemaVersion} is newer than this build reads (${definition.schemaVersion})`,
        'upgrade Lantern before writing or reading these events',
      );
    }
    return parsed;
  };

  return {
    types: [...byType.keys()],
    get: (type) => byType.get(type),
    validateBatch: (events) => {
      if (events.length === 0) {
        throw new ValidationError(
          '(batch)',
          'events',
          'an append needs at least one event',
          'send the events to store, or skip the append when there are none',
        );
      }
      // A batch of one (each single-event append) has no id to repeat: no set to build.
      const seen = events.length > 1 ? new Set<string>() : undefined;
      return events.map((event) => {
        const definition = definitionFor(event?.type);
        if (!isEventIdFast(event.id)) {
          const idResult = eventId.safeParse(event.id);
          if (!idResult.success) throw validationErrorFrom(event.type, idResult.error, 'id');
        }
        const id = event.id.toLowerCase();
        if (seen) {
          if (seen.has(id)) {
            throw new ValidationError(
              event.type,
              'id',
              `event id ${event.id} appears twice in one batch (ids compare without regard to case)`,
            );
          }
          seen.add(id);
        }
        const metadata = checkMetadata(event.type, event.metadata, definition);
        // Data written at an older version is checked against that version's schema and stored as sent.
        definition.upcast(event.data, metadata.schemaVersion);
        return { id, type: event.type, data: event.data, metadata };
      });
    },
    readRecorded: (event) => {
      const definition = definitionFor(event.type);
      const metadata = checkMetadata(event.type, event.metadata, definition);
      const data = definition.upcast(event.data, metadata.schemaVersion);
      return { ...event, data, metadata: { ...metadata, schemaVersion: definition.schemaVersion } };
    },
  };
};
