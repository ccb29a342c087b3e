import {
  checkReadModelName,
  checkReadModelTableName,
  defaultEventRegistry,
  type EventRegistry,
  type ReadModelDocument,
  type RecordedEvent,
  ValidationError,
} from '@lantern/core';
import { fixDefinition } from '../advice.js';

/**
 * What a projection reads and writes while it applies one event: its own documents, held in
 * memory by the engine (or read from the store when not held, see `documentsInMemory`) and
 * committed with the checkpoint after each batch.
 */
export interface ProjectionView {
  get(collection: string, key: string): ReadModelDocument | undefined;
  /**
   * Keeps `document` as the collection's document at `key`. It must be a plain object of JSON
   * values, as stores keep it: a Date, NaN, a Map, a BigInt… throws, naming the field, so the
   * event that put it is dead-lettered rather than read back differently after a reload.
   */
  put(collection: string, key: string, document: ReadModelDocument): void;
  delete(collection: string, key: string): void;
  /**
   * Every key of a collection, e.g. to purge what a projection holds about one child: listed when
   * called, so what apply writes while going through them does not change the list.
   */
  keys(collection: string): IterableIterator<string>;
}

/** What the engine does with an event whose `apply` throws: dead-letter it, then stop or go on. */
export type PoisonPolicy = 'stop' | 'skip';

export interface Projection {
  /**
   * Lowercase, digits and single underscores: it names SQL tables (`{name}__{collection}`), each at
   * most 63 characters, what PostgreSQL keeps whole; `defineProjection` checks it for every store.
   */
  readonly name: string;
  /** Bump it whenever `apply` changes meaning: the engine then rebuilds the read model from the log. */
  readonly version: number;
  /** The event types `apply` is given; no others are read for it. */
  readonly eventTypes: readonly string[];
  /** The collections (tables) it writes. */
  readonly collections: readonly string[];
  /**
   * Folds one event into the view, synchronously: not async, and writing nothing once it has
   * returned. Must be deterministic: a rebuild must give the same read model.
   */
  apply(event: RecordedEvent, view: ProjectionView): void;
  /**
   * Optional: folds several events at once, in order, leaving the view as calling `apply` on each
   * in turn would. The engine then gives it each read's events that the projection handles, so
   * it may gather what many events change and put each document once. Synchronous, like `apply`.
   * When it throws, the engine throws away what it wrote, applies the same events one at a time
   * with `apply`, and so finds the event that fails and dead-letters it.
   */
  applyEvents?(events: readonly RecordedEvent[], view: ProjectionView): void;
  /** Default `stop`: a poison event is dead-lettered and the projection stops at it. */
  readonly onPoison?: PoisonPolicy;
}

export interface DefineProjectionOptions {
  /** Event types are checked against this registry. Default: Lantern's event catalog. */
  registry?: EventRegistry;
}

/** Functions whose call does not run their body through: it runs later, or when iterated. */
const deferredKinds = new Set(['AsyncFunction', 'GeneratorFunction', 'AsyncGeneratorFunction']);

/**
 * The name the register of releases outside the programme is kept under in a read-model store
 * (see `queries/releaseRegister.ts`), as a read model no engine runs: no projection may take it.
 */
export const releaseRegisterName = 'release_register';

/**
 * Checks what any store needs of a projection, whatever its registry: names that make valid table
 * names, a positive whole version, at least one event type and one collection, a known poison
 * policy, and an `apply` that runs through when called. The engine checks every projection it is
 * given this way, so one written as a plain object is refused before any work too.
 */
export const checkProjectionShape = (projection: Projection): void => {
  checkReadModelName('projection', projection.name);
  if (projection.name === releaseRegisterName) {
    throw new TypeError(
      `A projection may not be named "${releaseRegisterName}": the register of releases outside the programme is kept ` +
        'under that name in the read-model store. Name it otherwise.',
    );
  }
  if (!Number.isSafeInteger(projection.version) || projection.version < 1) {
    throw new TypeError(
      `Projection "${projection.name}": version must be a whole number of 1 or more; got ${String(projection.version)}.`,
    );
  }
  if (!Array.isArray(projection.eventTypes) || projection.eventTypes.length === 0) {
    throw new TypeError(`Projection "${projection.name}" handles no event types; list the ones apply reads.`);
  }
  if (!Array.isArray(projection.collections) || projection.collections.length === 0) {
    throw new TypeError(`Projection "${projection.name}" writes no collections; list the ones apply writes.`);
  }
  // Checked whatever the store: a table name PostgreSQL would cut short is refused here too.
  for (const collection of projection.collections) checkReadModelTableName(projection.name, collection);
  if (projection.onPoison !== undefined && projection.onPoison !== 'stop' && projection.onPoison !== 'skip') {
    throw new TypeError(`Projection "${projection.name}": onPoison must be "stop" or "skip".`);
  }
  checkFold(projection.name, 'apply', projection.apply, '(event, view) => void');
  if (projection.applyEvents !== undefined) {
    checkFold(projection.name, 'applyEvents', projection.applyEvents, '(events, view) => void');
  }
};

/** Refuses a fold that is not a function, or whose call does not run its body through. */
const checkFold = (projection: string, name: string, fold: unknown, shape: string): void => {
  if (typeof fold !== 'function') {
    throw new TypeError(
      `Projection "${projection}": ${name} must be a function ${shape}; got ${typeof fold}.`,
    );
  }
  const kind = (fold as { constructor?: { name?: unknown } }).constructor?.name;
  if (typeof kind === 'string' && deferredKinds.has(kind)) {
    throw new TypeError(
      `Projection "${projection}": ${name} is ${kind === 'AsyncFunction' ? 'an async function' : 'a generator'}. ` +
        'It must be synchronous and write through the view before it returns: the engine commits a ' +
        "batch's changes once it returns, so what it wrote later would be lost. Read documents " +
        'with view.get, and do other I/O outside the projection (engine.changes tells what changed).',
    );
  }
};

/**
 * Checks a projection once, before any work: its shape (`checkProjectionShape`), and only event
 * types the registry knows.
 */
export const defineProjection = <TProjection extends Projection>(
  projection: TProjection,
  options: DefineProjectionOptions = {},
): TProjection => {
  const registry = options.registry ?? defaultEventRegistry;
  checkProjectionShape(projection);
  for (const type of projection.eventTypes) {
    if (!registry.get(type)) {
      throw new ValidationError(
        type,
        'eventTypes',
        `projection "${projection.name}" names an unknown event type`,
        'use a type from the event catalog, or pass the registry that defines it',
        fixDefinition,
      );
    }
  }
  return projection;
};
