import type { EventStore, ReadModelStore } from '@lantern/core';
import {
  builtInIndicators,
  createCaseFunnelProjection,
  createIndicatorProjection,
  createProjectionEngine,
  fundingProjection,
  type Indicator,
  type IndicatorProjection,
  type Projection,
} from '@lantern/projections';
import { phnomPenh } from './programme.js';

/**
 * The programme's own indicator, as it defined it in its first month (the DefineIndicator event
 * in record.ts carries exactly this definition), beside Lantern's built-in set.
 */
export const kidsClubsEstablished: Indicator = {
  id: 'kids-clubs-established',
  title: "Kids' clubs established",
  unit: 'clubs',
  measure: 'unit',
  ascending: true,
  definition: {
    filter: {
      eventTypes: ['ClubEstablished'],
      where: [{ field: 'data.kind', op: 'eq', value: 'kids-club' }],
    },
    value: { kind: 'count' },
    dateField: 'data.establishedOn',
    dimensions: ['data.area'],
  },
};

const builtIn = (id: string): Indicator => {
  const indicator = builtInIndicators.find((i) => i.id === id);
  if (!indicator) throw new Error(`Lantern has no built-in indicator "${id}".`);
  return indicator;
};

/** The built-in "active kids' clubs", which the programme adopts with its own target of 65. */
export const activeKidsClubs = builtIn('active-kids-clubs');

export const programmeIndicators: readonly Indicator[] = [...builtInIndicators, kidsClubsEstablished];

export interface ProgrammeProjections {
  indicators: IndicatorProjection;
  all: readonly Projection[];
}

export const programmeProjections = (): ProgrammeProjections => {
  const indicators = createIndicatorProjection({
    indicators: programmeIndicators,
    timeZone: phnomPenh.timeZone,
  });
  return {
    indicators,
    all: [indicators, fundingProjection, createCaseFunnelProjection({ timeZone: phnomPenh.timeZone })],
  };
};

/** Brings every read model up to the end of the log, then stops the engine. */
export const updateReadModels = async (
  eventStore: EventStore,
  readModels: ReadModelStore,
  projections: ProgrammeProjections,
): Promise<void> => {
  let last = 0n;
  for await (const event of eventStore.readAll()) last = event.position;
  const engine = createProjectionEngine({ eventStore, readModels, projections: projections.all });
  await engine.start();
  try {
    await engine.waitFor(last);
  } finally {
    await engine.stop();
  }
};
