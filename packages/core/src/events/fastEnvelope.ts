import type { z } from 'zod';
import { type EventMetadata, eventId, eventMetadataSchema } from './envelope.js';

/**
 * A hand-written check of the envelope every event carries (its id, its metadata), run before zod
 * on every append and every full read. It accepts exactly what the zod schemas accept and gives
 * back what they would (a property test holds the two together); when it says no, or meets
 * anything unusual, zod runs and reports the error as before. The patterns are the schemas' own.
 */

/** The regular expression of a string schema's single pattern check, or undefined. */
const patternOf = (schema: z.ZodType): RegExp | undefined => {
  const def = (schema as unknown as { _zod: { def: { pattern?: unknown; checks?: unknown[] } } })._zod.def;
  if (def.pattern instanceof RegExp && (def.checks === undefined || def.checks.length === 0)) {
    return def.pattern.global || def.pattern.sticky ? undefined : def.pattern;
  }
  const checks = def.checks ?? [];
  const only = checks[0] as { _zod?: { def?: { pattern?: unknown } } } | undefined;
  const pattern = checks.length === 1 ? only?._zod?.def?.pattern : undefined;
  return pattern instanceof RegExp && !pattern.global && !pattern.sticky ? pattern : undefined;
};

const innerOf = (schema: z.ZodType): z.ZodType =>
  (schema as unknown as { _zod: { def: { innerType: z.ZodType } } })._zod.def.innerType;

const shape = eventMetadataSchema.shape;
const uuidPattern = patternOf(eventId);
const occurredAtPattern = patternOf(shape.occurredAt);
const recordedByPattern = patternOf(shape.recordedBy);
const correlationIdPattern = patternOf(innerOf(shape.correlationId));
const causationIdPattern = patternOf(innerOf(shape.causationId));
const knownKeys = new Set(Object.keys(shape));
/** The patterns the fast check applies, for tests. */
export const fastEnvelopePatterns = {
  uuid: uuidPattern,
  occurredAt: occurredAtPattern,
  recordedBy: recordedByPattern,
  correlationId: correlationIdPattern,
  causationId: causationIdPattern,
};
/** Off when the schemas are not the shapes this check was written for: zod alone then decides. */
const enabled =
  uuidPattern !== undefined &&
  occurredAtPattern !== undefined &&
  recordedByPattern !== undefined &&
  correlationIdPattern !== undefined &&
  causationIdPattern !== undefined &&
  knownKeys.size === 5 &&
  ['occurredAt', 'recordedBy', 'correlationId', 'causationId', 'schemaVersion'].every((key) =>
    knownKeys.has(key),
  );

const matches = (pattern: RegExp | undefined, value: unknown): boolean =>
  typeof value === 'string' && (pattern as RegExp).test(value);

/** True when `eventId` accepts the id; false means "ask zod". */
export const isEventIdFast = (id: unknown): boolean => enabled && matches(uuidPattern, id);

/**
 * The metadata as `eventMetadataSchema` parses it (the same keys, in the schema's order), or
 * undefined when zod must decide: the metadata is invalid, or not a plain object.
 */
export const parseMetadataFast = (metadata: unknown): EventMetadata | undefined => {
  if (!enabled || typeof metadata !== 'object' || metadata === null) return undefined;
  const proto = Object.getPrototypeOf(metadata);
  if (proto !== Object.prototype && proto !== null) return undefined;
  for (const key of Object.keys(metadata)) if (!knownKeys.has(key)) return undefined;
  const m = metadata as Record<string, unknown>;
  const { occurredAt, recordedBy, correlationId, causationId, schemaVersion } = m;
  if (!matches(occurredAtPattern, occurredAt) || !matches(recordedByPattern, recordedBy)) return undefined;
  if (correlationId !== undefined && !matches(correlationIdPattern, correlationId)) return undefined;
  if (causationId !== undefined && !matches(causationIdPattern, causationId)) return undefined;
  if (typeof schemaVersion !== 'number' || !Number.isSafeInteger(schemaVersion) || schemaVersion <= 0) {
    return undefined;
  }
  const parsed: Record<string, unknown> = { occurredAt, recordedBy };
  if ('correlationId' in m) parsed.correlationId = correlationId;
  if ('causationId' in m) parsed.causationId = causationId;
  parsed.schemaVersion = schemaVersion;
  return parsed as unknown as EventMetadata;
};

/**
 * The JSON text of metadata `parseMetadataFast` gave back, exactly as `JSON.stringify` writes it,
 * at about a third of its cost (a store writes it for every event). Its strings matched the
 * envelope's patterns — digits, ASCII letters, `-`, `:`, `.`, `+`, `T`, `Z` and `_` — none of
 * which JSON escapes, so they are written as they are; a property test holds every pattern to
 * that. Never pass metadata that did not come from `parseMetadataFast`.
 */
export const fastMetadataText = (parsed: EventMetadata): string => {
  const { occurredAt, recordedBy, correlationId, causationId, schemaVersion } = parsed;
  let text = `{"occurredAt":"${occurredAt}","recordedBy":"${recordedBy}"`;
  if (correlationId !== undefined) text += `,"correlationId":"${correlationId}"`;
  if (causationId !== undefined) text += `,"causationId":"${causationId}"`;
  return `${text},"schemaVersion":${schemaVersion}}`;
};
