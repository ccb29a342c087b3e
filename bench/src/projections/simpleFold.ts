import type { Event } from '@event-driven-io/emmett';
import { defaultEventRegistry, type ReadModelDocument } from '@lantern/core';
import { defineProjection, type Projection } from '@lantern/projections';
import { emptyTally, foldEvent, type Tally } from '../workload.js';

/**
 * The simple fold every subject runs when the engines themselves are compared: the stores bench's
 * `foldEvent` (count every event, and the people in club sessions' attendance and outreach
 * shifts' contacts), over every event of the log. Each subject mutates one tally, so each does
 * the same work per event: Emmett's `evolve`, the raw loop and Lantern's projection below.
 */

/** Where Lantern's fold keeps its tally: one document. */
export const foldCollection = 'totals';
export const foldKey = 'all';

/**
 * The fold as a Lantern projection over every catalog event type: it reads its one document,
 * folds the event into it in place and puts it back, so the engine records the change and commits
 * it with the checkpoint after each batch, as it would for any projection.
 */
export const foldProjection: Projection = defineProjection({
  name: 'simple_fold',
  version: 1,
  eventTypes: defaultEventRegistry.types,
  collections: [foldCollection],
  apply: (event, view) => {
    const tally = (view.get(foldCollection, foldKey) as Tally | undefined) ?? emptyTally();
    view.put(
      foldCollection,
      foldKey,
      foldEvent(tally, event.type, event.data) as unknown as ReadModelDocument,
    );
  },
});

/** The fold as Emmett's `evolve`, for `aggregateStream` and a processor's `eachMessage`. */
export const evolve = (tally: Tally, event: Event): Tally => foldEvent(tally, event.type, event.data);

/**
 * A projection over every catalog event type that changes nothing: its apply only counts the
 * events it is handed, in a variable, so the run can be checked. What the engine costs by itself,
 * reading the log, handing out every event and committing checkpoints: a ceiling for any
 * projection, the built-ins included, since every one of them does at least that.
 */
export const idleProjection = (): { projection: Projection; seen: () => number } => {
  let seen = 0;
  const projection = defineProjection({
    name: 'idle',
    version: 1,
    eventTypes: defaultEventRegistry.types,
    collections: [foldCollection],
    apply: () => {
      seen += 1;
    },
  });
  return { projection, seen: () => seen };
};
