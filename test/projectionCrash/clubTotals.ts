import { randomUUID } from 'node:crypto';
import type { NewEvent, ReadModelDocument, RecordedEvent } from '@lantern/core';
import { defineProjection } from '@lantern/projections';

/**
 * What the crash test projects: children counted per club, summed over every session held. Shared
 * by the child process that is killed and by the test that checks what it left.
 */

export interface ClubTotals extends ReadModelDocument {
  sessions: number;
  children: number;
}

export const clubTotals = defineProjection({
  name: 'attendance',
  version: 1,
  eventTypes: ['ClubSessionHeld'],
  collections: ['clubs'],
  apply: (event: RecordedEvent, view) => {
    const { clubId, attendance } = event.data as { clubId: string; attendance: { count: number }[] };
    const before = view.get('clubs', clubId) as ClubTotals | undefined;
    const children = attendance.reduce((sum, cell) => sum + cell.count, 0);
    view.put('clubs', clubId, {
      sessions: (before?.sessions ?? 0) + 1,
      children: (before?.children ?? 0) + children,
    } satisfies ClubTotals);
  },
});

/** The 65 kids' clubs of Stung Mean Chey and the riverfront. */
export const clubIds = Array.from({ length: 65 }, (_, i) => `club-${String(i + 1).padStart(2, '0')}`);

/** Session `n`: a club and a head count that vary with n, so a batch counted twice shows. */
export const sessionHeld = (n: number): NewEvent => ({
  id: randomUUID(),
  type: 'ClubSessionHeld',
  data: {
    clubId: clubIds[(n * 7) % clubIds.length] as string,
    heldOn: '2019-03-02',
    activity: 'healing-arts',
    attendance: [
      { sex: 'female', ageBand: '5-11', count: n % 13 },
      { sex: 'male', ageBand: '12-17', count: 1 + (n % 5) },
    ],
  },
  metadata: { occurredAt: '2019-03-02T16:00:00+07:00', recordedBy: 'st_5a1c0b7e2d4a61f3', schemaVersion: 1 },
});

/** The read model computed straight from the events, without the engine or any store. */
export const foldClubTotals = (events: Iterable<RecordedEvent>): Record<string, ClubTotals> => {
  const totals: Record<string, ClubTotals> = {};
  for (const event of events) {
    if (event.type !== 'ClubSessionHeld') continue;
    const { clubId, attendance } = event.data as { clubId: string; attendance: { count: number }[] };
    const before = totals[clubId] ?? { sessions: 0, children: 0 };
    totals[clubId] = {
      sessions: before.sessions + 1,
      children: before.children + attendance.reduce((sum, cell) => sum + cell.count, 0),
    };
  }
  return totals;
};
