import { ValidationError } from '../errors/errors.js';
import type { EventDefinition } from './defineEvent.js';
import { validationErrorFrom } from './defineEvent.js';
import {
  type EventMetadata,
  eventId,
  eventMetadataSchema,
  type NewEvent,
  type RecordedEvent,
} from './envelope.js';
import { fastMetadataText, isEventIdFast, parseMetadataFast } from './fastEnvelope.js';
import { compileJsonWriter } from './jsonWriter.js';
import { jsonProblem } from './plainJson.js';
import { schemaOutputsJson } from './schemaKeepsInput.js';

/**
 * The event types a store accepts. Stores validate every event against it on append (the whole
 * batch is refused if one event fails) and on read, where older schema versions are upcast.
 */
export interface EventRegistry {
  readonly types: readonly string[];
  get(type: string): EventDefinition | undefined;
  /**
   * Validates a batch for appending; throws the first ValidationError found, including for data
   * that would be stored as sent and that JSON would not give back as it is. Returns the events
   * with their ids in lowercase: ids are uuids, which compare without regard to case, so every
   * store keeps, compares and returns one spelling of each (as EventStoreDB does). Two ids of one
   * batch that differ only in case are the same id, given twice.
   *
   * `builtAsJson`, when given, is filled with one flag per event: true when the returned event's
   * data and metadata are fresh objects the registry built from plain JSON only (strings, finite
   * numbers, booleans, null, plain arrays and objects), so `JSON.stringify` of them reads back as
   * the same values; false when it cannot tell. A store uses it to skip checking that itself.
   *
   * `texts`, when given, is filled with each returned event's metadata and data as JSON text,
   * exactly as `JSON.stringify` writes them: a store that keeps text stores these, which the
   * registry writes for less than `JSON.stringify` costs where its own checks allow.
   */
  validateBatch(events: readonly NewEvent[], builtAsJson?: boolean[], texts?: EventTexts): NewEvent[];
  /** Validates a stored event and upcasts its data to the current schema version. */
  readRecorded(event: RecordedEvent): RecordedEvent;
}

/** The JSON text of a batch's events, one entry per event, filled by `validateBatch`. */
export interface EventTexts {
  readonly metadata: string[];
  readonly data: string[];
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

  /**
   * Per type, decided once: whether its schema outputs plain JSON only (see `schemaOutputsJson`),
   * and then the writer of that output as JSON text (undefined when it cannot be compiled).
   */
  interface OutputFacts {
    json: boolean;
    write: ((value: unknown) => string) | undefined;
  }
  const outputs = new Map<string, OutputFacts>();
  const outputOf = (definition: AnyDefinition): OutputFacts => {
    let facts = outputs.get(definition.type);
    if (facts === undefined) {
      const json = schemaOutputsJson(definition.schema);
      facts = { json, write: json ? compileJsonWriter(definition.schema) : undefined };
      outputs.set(definition.type, facts);
    }
    return facts;
  };

  /** Metadata checked by zod, when the fast check said no (or could not tell): zod names the error. */
  const parseMetadata = (type: string, metadata: unknown): EventMetadata => {
    const result = eventMetadataSchema.safeParse(metadata);
    if (!result.success) throw validationErrorFrom(type, result.error, 'metadata');
    return result.data;
  };

  const checkVersion = (type: string, parsed: EventMetadata, definition: AnyDefinition): EventMetadata => {
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

  const checkMetadata = (type: string, metadata: unknown, definition: AnyDefinition): EventMetadata =>
    checkVersion(type, parseMetadataFast(metadata) ?? parseMetadata(type, metadata), definition);

  return {
    types: [...byType.keys()],
    get: (type) => byType.get(type),
    validateBatch: (events, builtAsJson, texts) => {
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
        const fastMetadata = parseMetadataFast(event.metadata);
        const metadata = checkVersion(
          event.type,
          fastMetadata ?? parseMetadata(event.type, event.metadata),
          definition,
        );
        // Data written at an older version is checked against that version's schema and stored as sent.
        const upcast = definition.upcast(event.data, metadata.schemaVersion);
        // At the current version, a schema that keeps valid input as it is and outputs plain JSON
        // only gives back a fresh copy equal to the input: that copy is returned.
        const output = outputOf(definition);
        const built = metadata.schemaVersion === definition.schemaVersion && output.json;
        // The fast metadata check builds a fresh object of strings and a number: plain JSON too.
        if (builtAsJson) builtAsJson.push(built && fastMetadata !== undefined);
        if (!built) {
          // Stored as sent: refused unless its JSON, which is what a store keeps, gives it back.
          const found = jsonProblem(event.data);
          if (found) {
            throw new ValidationError(
              event.type,
              found.path === '' ? 'data' : `data.${found.path}`,
              found.rule,
              `a store keeps an event as JSON; ${found.fix}`,
            );
          }
        }
        // Written once the data is known to be JSON that reads back, so JSON.stringify cannot throw.
        if (texts) {
          texts.metadata.push(fastMetadata ? fastMetadataText(fastMetadata) : JSON.stringify(metadata));
          const write = built ? output.write : undefined;
          texts.data.push(write ? write(upcast) : JSON.stringify(event.data));
        }
        return { id, type: event.type, data: built ? upcast : event.data, metadata };
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
