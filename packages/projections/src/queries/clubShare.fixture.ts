import type { Indicator } from '../indicators/compileIndicator.js';

/**
 * Test fixtures: clubs open at each period's end (a stock), of one kind or of any, and the share
 * of kids' clubs among them (a percentage of two stocks), each optionally broken down.
 */

/** Clubs open at a period's end: of `kind`, or of any kind. */
export const clubsOpen = (id: string, kind?: string, dimensions?: readonly string[]): Indicator => ({
  id,
  title: 'Clubs open',
  unit: 'clubs',
  measure: 'unit',
  ascending: true,
  definition: {
    filter: { eventTypes: ['ClubEstablished'] },
    value: {
      kind: 'active',
      by: 'data.clubId',
      opens: {
        eventType: 'ClubEstablished',
        dateField: 'data.establishedOn',
        ...(kind === undefined ? {} : { where: [{ field: 'data.kind', op: 'eq', value: kind }] }),
      },
      closes: [],
    },
    ...(dimensions === undefined ? {} : { dimensions: [...dimensions] }),
  },
});

/** Kids' clubs of all clubs open (`pct-kids-clubs`), and the two stocks it divides. */
export const kidsClubShare = (dimensions?: readonly string[]): Indicator[] => [
  clubsOpen('kids-clubs-open', 'kids-club', dimensions),
  clubsOpen('clubs-open', undefined, dimensions),
  {
    id: 'pct-kids-clubs',
    title: "Kids' clubs, of all clubs open",
    unit: '%',
    measure: 'percentage',
    ascending: true,
    definition: {
      filter: { eventTypes: ['ClubEstablished'] },
      value: { kind: 'ratio', numerator: 'kids-clubs-open', denominator: 'clubs-open', scale: 100 },
      ...(dimensions === undefined ? {} : { dimensions: [...dimensions] }),
    },
  },
];
