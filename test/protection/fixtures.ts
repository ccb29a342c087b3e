import {
  type AuditEntry,
  type AuditSink,
  CaseDisclosed,
  ChildPlacedSafely,
  ChildRegistered,
  type KeyStore,
  type NewEvent,
  type Principal,
} from '@lantern/core';
import type { ReadCaseFileOptions } from '@lantern/projections';

/** Children, staff and cases of the protection tests: pseudonyms only. */
export const staff = 'st_00000000000000a1';
export const caseManager = { id: staff, role: 'case-manager' } as const;
export const programmeId = 'psk-phnom-penh';
/** A case manager who reads every case file of the programme. */
export const programmeCaseManager: Principal = { ...caseManager, scope: { kind: 'programme' } };
/** The field worker who recorded every event of these tests: each case is in their own scope. */
export const recordingFieldWorker: Principal = { id: staff, role: 'field-worker', scope: { kind: 'own' } };

/** An audit sink that keeps its entries, so that a test can check what was audited. */
export const auditLog = (): { entries: AuditEntry[]; sink: AuditSink } => {
  const entries: AuditEntry[] = [];
  return {
    entries,
    sink: async (entry) => {
      entries.push(entry);
    },
  };
};

/** What `readCaseFile` needs for `principal` to open a case file, its reads audited into `sink`. */
export const caseFileRead = (
  keyStore: KeyStore,
  sink: AuditSink,
  principal: Principal = programmeCaseManager,
): ReadCaseFileOptions => ({ keyStore, principal, audit: { sink, programmeId, purpose: 'case-management' } });
export const metadata = (occurredAt = '2020-05-31T23:30:00+07:00') => ({ occurredAt, recordedBy: staff });

export const registration = (childRef: string): NewEvent =>
  ChildRegistered.toNew(
    {
      programmeId,
      childRef,
      sex: 'female',
      ageBand: '12-17',
      area: 'KH-12-09',
      identifiedVia: 'outreach',
      consent: { services: true, reporting: true, tracing: false, sharing: [] },
      consentGivenBy: 'caregiver',
      legalBasis: 'consent',
    },
    metadata('2020-05-30T21:00:00+07:00'),
  );

export const disclosure = (caseId: string, childRef: string, narrative?: string): NewEvent =>
  CaseDisclosed.toNew(
    {
      programmeId,
      caseId,
      childRef,
      sex: 'female',
      ageBand: '12-17',
      area: 'KH-12-09',
      concerns: ['trafficking'],
      disclosedVia: 'outreach',
      ...(narrative === undefined ? {} : { narrative }),
    },
    metadata(),
  );

export const placement = (
  caseId: string,
  childRef: string,
  protectedData: { caregiverContact?: string; placementAddress?: string } = {},
): NewEvent =>
  ChildPlacedSafely.toNew(
    { caseId, childRef, placementType: 'kinship', caregiverRelation: 'grandparent', ...protectedData },
    metadata('2020-06-20T10:00:00+07:00'),
  );

/** Every event of an async iterable, in order. */
export const collect = async <T>(iterable: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
};
