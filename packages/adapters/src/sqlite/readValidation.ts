import { createHash } from 'node:crypto';
import * as zlib from 'node:zlib';
import type { EventRegistry } from '@lantern/core';
import { eventMetadataSchema, isPlainJson, schemaKeepsValidInput } from '@lantern/core';

/**
 * Reading without running zod on every event, soundly.
 *
 * Every event is validated on append. Running its schema again on every read costs about twice
 * the JSON.parse it follows, so a row carries a checksum, written on append, over its metadata
 * and data text, seeded with a fingerprint of the schema that accepted it. On read, a row whose
 * checksum matches the fingerprint of the reader's own schema holds exactly text a schema of
 * that shape and version accepted, so running it again could only give the same answer (a
 * refinement that now tests something else needs a new schema version: see `describeSchema`).
 * Any other row — changed by hand, damaged on disk, written by another program (no checksum),
 * written under a different schema, or at an older version that needs upcasting — goes through
 * `registry.readRecorded` in full. A checksum (CRC-32) is an integrity check, not a signature: a
 * writer who forges one on purpose is trusted, as anyone who can write the file already is.
 *
 * A checksum is written only when skipping the schema returns what `readRecorded` would: the text
 * parses back to the values validated, and the schema gives those values back unchanged. Schemas
 * that never change valid input (no trim, defaults, transforms or key stripping) are recognised
 * once per type; for the others each event is checked on append. The fingerprint and that test
 * walk zod's definition tree (`schema._zod.def`, zod's documented internals for library
 * authors); anything the walk does not recognise makes a type ineligible, never trusted.
 */

/** Node 20.15 and later; on older versions every read validates in full. */
const crc32 = (zlib as { crc32?: (data: string, value?: number) => number }).crc32;

interface ZodLike {
  readonly _zod: { readonly def: Record<string, unknown> };
}

const isZod = (value: unknown): value is ZodLike =>
  typeof value === 'object' &&
  value !== null &&
  '_zod' in value &&
  typeof (value as { _zod?: { def?: unknown } })._zod?.def === 'object';

/**
 * A stable text of a schema's whole definition: types, keys, checks, patterns, enum values. A
 * function (a refinement's predicate, an error message, which zod keeps as a function) counts as
 * one, wherever it sits, but not its source text, which differs between builds of the same code
 * (a bundler renames what it refers to): `v1` fingerprints included it, so a bundled deployment
 * trusted no checksum written by another build. Changing what a refinement tests, like any change
 * to what a type accepts, takes a new schema version (and an upcaster); rows written before were
 * valid when they were written.
 */
export const describeSchema = (root: unknown, functionsAsText: boolean): string => {
  const seen = new Map<object, number>();
  const walk = (value: unknown): unknown => {
    if (typeof value === 'function') return functionsAsText ? `fn:${value.toString()}` : 'fn';
    if (value instanceof RegExp) return `re:${value.toString()}`;
    if (typeof value === 'bigint') return `bigint:${value}`;
    if (typeof value !== 'object' || value === null) return value;
    const known = seen.get(value);
    if (known !== undefined) return `ref:${known}`;
    seen.set(value, seen.size);
    if (isZod(value)) return { zod: walk(value._zod.def) };
    if (Array.isArray(value)) return value.map(walk);
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = walk((value as Record<string, unknown>)[key]);
    return out;
  };
  return JSON.stringify(walk(root));
};

/** Own keys that JSON keeps: those whose value is not undefined. */
const jsonKeys = (value: object): string[] =>
  Object.keys(value).filter((key) => (value as Record<string, unknown>)[key] !== undefined);

/** Deep equality as JSON sees it: key order and undefined-valued keys do not count. */
const sameJson = (a: unknown, b: unknown): boolean => {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((item, i) => sameJson(item, b[i]));
  }
  if (Array.isArray(b)) return false;
  const keysA = jsonKeys(a);
  if (keysA.length !== jsonKeys(b).length) return false;
  return keysA.every(
    (key) =>
      Object.hasOwn(b, key) &&
      sameJson((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]),
  );
};

/** JSON text that parses back to the value it was made from: nothing lost or changed on the way. */
const roundTrips = (text: string, value: unknown): unknown => {
  const parsed: unknown = JSON.parse(text);
  return sameJson(parsed, value) ? parsed : undefined;
};

/** No `toJSON` on the primitives' prototypes, which JSON.stringify would call on every string or number. */
export const primitivesPlain = (): boolean =>
  (String.prototype as { toJSON?: unknown }).toJSON === undefined &&
  (Number.prototype as { toJSON?: unknown }).toJSON === undefined &&
  (Boolean.prototype as { toJSON?: unknown }).toJSON === undefined;

/**
 * True when `text`, which must be `JSON.stringify(value)`, parses back to what `value` holds:
 * decided from the value when it can be, else by parsing the text.
 */
const storedExactly = (text: string, value: unknown): boolean =>
  (primitivesPlain() && isPlainJson(value)) || roundTrips(text, value) !== undefined;

const metadataDescription = describeSchema(eventMetadataSchema, false);
/** Only files written before v2 fingerprints need it: described when first asked for. */
let metadataDescriptionV1: string | undefined;
const metadataDescriptionOf = (version: 'v1' | 'v2'): string => {
  if (version === 'v2') return metadataDescription;
  metadataDescriptionV1 ??= describeSchema(eventMetadataSchema, true);
  return metadataDescriptionV1;
};
const metadataReturnedUnchanged = schemaKeepsValidInput(eventMetadataSchema);

/** What a store needs to write and check checksums with one registry. */
export interface ReadValidation {
  /**
   * The checksum to store with an event appended now, already validated as `metadata` and `data`
   * and written as `metadataText` and `dataText` by `JSON.stringify` of exactly those values,
   * or null when a read could not skip its schema: the type is not at its current version, the
   * text does not parse back to the validated values, or the schema would return something else.
   * `builtAsJson`: the registry said it built both values from plain JSON (`validateBatch`'s
   * flags), so the texts are known to parse back to them without walking the values.
   */
  checksumFor(
    type: string,
    version: number,
    metadataText: string,
    dataText: string,
    metadata: unknown,
    data: unknown,
    builtAsJson?: boolean,
  ): number | null;
  /**
   * True when a stored row's checksum proves it holds text the reader's current schema accepted.
   * `texts`: the row's metadata and data text as the checksum covers them (`joinTexts`).
   */
  verified(type: string, version: number, texts: string, checksum: number | null): boolean;
}

/**
 * A row's metadata and data text as its checksum covers them: joined by NUL, which cannot occur
 * unescaped in JSON text, so it separates the two unambiguously. The store reads them so joined,
 * as the tail of each row's text (see storedEvents.ts), and checks that text as it is.
 */
export const joinTexts = (metadataText: string, dataText: string): string =>
  `${metadataText}\u0000${dataText}`;

/** CRC-32's table for the reflected polynomial 0xEDB88320, as zlib uses. */
const crcTable = Int32Array.from({ length: 256 }, (_, byte) => {
  let c = byte;
  for (let bit = 0; bit < 8; bit++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});

/**
 * The CRC-32 of the text a checksum `crc` covered followed by one NUL byte, as
 * `zlib.crc32('\u0000', crc)` gives it: the separator `joinTexts` puts between metadata and data,
 * so a row's checksum is computed over the two texts in turn, without joining them into one string
 * (which costs a copy of both).
 */
export const crc32AfterNul = (crc: number): number => {
  const c = ~crc;
  return ~((c >>> 8) ^ (crcTable[c & 0xff] as number)) >>> 0;
};

/** How one event type's rows are checksummed by this registry. */
interface TypeSeal {
  version: number;
  /** The CRC seed that binds a checksum to the schema. */
  seed: number;
  /**
   * The seed files written before fingerprints left function text out used (see
   * `describeSchema`): their rows still verify when this build prints every function as they did.
   */
  seedV1: () => number;
  /**
   * Null when the schema returns any valid input unchanged; else the check that this (valid) data
   * is a fixed point of it.
   */
  fixedPoint: ((data: unknown) => boolean) | null;
}

/**
 * Checksums keyed to a registry's schemas. `enabled: false` writes none and trusts none, so every
 * read validates in full.
 */
export const createReadValidation = (registry: EventRegistry, enabled: boolean): ReadValidation => {
  const seals = new Map<string, TypeSeal | null>();

  const sealFor = (type: string): TypeSeal | null => {
    const known = seals.get(type);
    if (known !== undefined) return known;
    let seal: TypeSeal | null = null;
    const definition = registry.get(type);
    if (crc32 && enabled && definition && metadataReturnedUnchanged) {
      try {
        const fingerprint = (version: 'v1' | 'v2'): number =>
          (crc32 as (data: string, value?: number) => number)(
            createHash('sha256')
              .update(`lantern-read-checksum-${version}\u0000${type}\u0000${definition.schemaVersion}\u0000`)
              .update(metadataDescriptionOf(version))
              .update('\u0000')
              .update(describeSchema(definition.schema, version === 'v1'))
              .digest('hex'),
          );
        let seedV1: number | undefined;
        seal = {
          version: definition.schemaVersion,
          seed: fingerprint('v2'),
          seedV1: () => {
            seedV1 ??= fingerprint('v1');
            return seedV1;
          },
          // A schema that may change its input (trim, defaults, stripping) still qualifies for the
          // events it leaves unchanged: checked once, on append, on the text as stored.
          fixedPoint: schemaKeepsValidInput(definition.schema)
            ? null
            : (data) => {
                try {
                  return sameJson(definition.parse(data), data);
                } catch {
                  return false;
                }
              },
        };
      } catch {
        seal = null;
      }
    }
    seals.set(type, seal);
    return seal;
  };

  const compute = (seed: number, texts: string): number =>
    (crc32 as (data: string, value?: number) => number)(texts, seed);
  /** `compute` of `joinTexts(metadataText, dataText)`, without building the joined string. */
  const computeJoined = (seed: number, metadataText: string, dataText: string): number =>
    compute(crc32AfterNul(compute(seed, metadataText)), dataText);
  return {
    checksumFor: (type, version, metadataText, dataText, metadata, data, builtAsJson = false) => {
      const seal = sealFor(type);
      if (!seal || seal.version !== version) return null;
      // A schema that keeps valid input as it is needs no further check of values built as JSON.
      if (builtAsJson && !seal.fixedPoint && primitivesPlain()) {
        return computeJoined(seal.seed, metadataText, dataText);
      }
      try {
        if (!storedExactly(metadataText, metadata)) return null;
        if (seal.fixedPoint) {
          // The schema may change its input: it must give back the values as they read back.
          const stored = roundTrips(dataText, data);
          if (stored === undefined || !seal.fixedPoint(stored)) return null;
        } else if (!storedExactly(dataText, data)) {
          return null;
        }
      } catch {
        return null;
      }
      return computeJoined(seal.seed, metadataText, dataText);
    },
    verified: (type, version, texts, checksum) => {
      if (checksum === null) return false;
      const seal = sealFor(type);
      if (seal === null || seal.version !== version) return false;
      return compute(seal.seed, texts) === checksum || compute(seal.seedV1(), texts) === checksum;
    },
  };
};
