import type { RecordedEvent } from '@lantern/core';
import { defineProjection } from '@lantern/projections';

/** Sessions and children counted per club: the read model two instances take turns to build. */
export interface ClubTotal {
  sessions: number;
  children: number;
}

const countOf = (event: RecordedEvent): { clubId: string; children: number } => {
  const { clubId, attendance } = event.data as { clubId: string; attendance: { count: number }[] };
  return { clubId, children: attendance.reduce((sum, cell) => sum + cell.count, 0) };
};

export const clubTotals = defineProjection({
  name: 'club_totals',
  version: 1,
  eventTypes: ['ClubSessionHeld'],
  collections: ['clubs'],
  apply: (event, view) => {
    const { clubId, children } = countOf(event);
    const before = (view.get('clubs', clubId) as ClubTotal | undefined) ?? { sessions: 0, children: 0 };
    view.put('clubs', clubId, { sessions: before.sessions + 1, children: before.children + children });
  },
});

/** The same totals folded directly from events, with no engine and no store. */
export const foldClubTotals = (events: Iterable<RecordedEvent>): Record<string, ClubTotal> => {
  const totals: Record<string, ClubTotal> = {};
  for (const event of events) {
    if (event.type !== 'ClubSessionHeld') continue;
    const { clubId, children } = countOf(event);
    const before = totals[clubId] ?? { sessions: 0, children: 0 };
    totals[clubId] = { sessions: before.sessions + 1, children: before.children + children };
  }
  return totals;
};
