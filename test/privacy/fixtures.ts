import { createMemoryEventStore } from '@lantern/adapters/memory';
import {
  type AuditEntry,
  auditStreamOf,
  type CatalogEventData,
  type CatalogEventType,
  type EventStore,
  eventCatalog,
  isStreamNotFoundError,
  type NewEvent,
  type RecordedEvent,
} from '@lantern/core';

/** A small programme: two field workers' cases and children, an outreach shift, a club. */
export const programmeId = 'psk-phnom-penh';
export const fieldWorker1 = 'st_00000000000000a1';
export const fieldWorker2 = 'st_00000000000000a2';
export const caseManager = 'st_00000000000000c1';
export const analyst = 'st_00000000000000e1';
export const donor = 'dn_00000000000000d1';
export const service = 'svc-sync-server';
export const child1 = 'ch_0000000000000001';
export const child2 = 'ch_0000000000000002';
export const shelter = 'ag_00000000000000b1';

export const newEvent = <K extends CatalogEventType>(
  type: K,
  data: CatalogEventData<K>,
  recordedBy: string,
  occurredAt = '2020-03-02T10:00:00+07:00',
): NewEvent =>
  (eventCatalog[type] as { toNew(data: unknown, metadata: unknown): NewEvent }).toNew(data, {
    occurredAt,
    recordedBy,
  });

export const registration = (
  childRef: string,
  services = true,
  sharing: string[] = [shelter],
): CatalogEventData<'ChildRegistered'> => ({
  programmeId,
  childRef,
  sex: 'female',
  ageBand: '12-17',
  area: 'KH-12-09',
  identifiedVia: 'outreach',
  consent: { services, reporting: true, tracing: false, sharing },
  consentGivenBy: 'caregiver',
  legalBasis: 'consent',
});

export const disclosure = (caseId: string, childRef: string): CatalogEventData<'CaseDisclosed'> => ({
  programmeId,
  caseId,
  childRef,
  sex: 'female',
  ageBand: '12-17',
  area: 'KH-12-09',
  concerns: ['sexual-exploitation'],
  disclosedVia: 'outreach',
  perpetratorRelation: 'trafficker',
});

/**
 * Case PP-2020-001 (child 1) is field worker 1's; case PP-2020-002 (child 2) field worker 2's,
 * though child 2 was registered by the case manager.
 */
export const seededStore = async (): Promise<EventStore> => {
  const store = createMemoryEventStore();
  await store.append(`child-${child1}`, [newEvent('ChildRegistered', registration(child1), fieldWorker1)]);
  await store.append('case-PP-2020-001', [
    newEvent('CaseDisclosed', disclosure('PP-2020-001', child1), fieldWorker1),
  ]);
  await store.append(`child-${child2}`, [newEvent('ChildRegistered', registration(child2), caseManager)]);
  await store.append('case-PP-2020-002', [
    newEvent('CaseDisclosed', disclosure('PP-2020-002', child2), fieldWorker2),
  ]);
  await store.append(`outreach-${programmeId}`, [
    newEvent(
      'OutreachConducted',
      {
        programmeId,
        teamId: 'night-team',
        mode: 'night-outreach',
        area: 'KH-12-09',
        shiftStart: '2020-03-01T20:00:00+07:00',
        shiftEnd: '2020-03-02T02:00:00+07:00',
        contacts: [{ sex: 'female', ageBand: '12-17', count: 2 }],
        newChildRefs: [child1, child2],
        leafletsDistributed: 10,
      },
      fieldWorker1,
    ),
  ]);
  return store;
};

export const collect = async (events: AsyncIterable<RecordedEvent>): Promise<RecordedEvent[]> => {
  const list: RecordedEvent[] = [];
  for await (const event of events) list.push(event);
  return list;
};

/** The audit entries stored so far. */
export const auditEntries = async (store: EventStore): Promise<AuditEntry[]> => {
  try {
    return (await collect(store.readStream(auditStreamOf(programmeId)))).map((e) => e.data as AuditEntry);
  } catch (error) {
    if (isStreamNotFoundError(error)) return [];
    throw error;
  }
};
