import { createMemoryEventStore } from '@lantern/adapters/memory';
import {
  auditTo,
  type CatalogEventData,
  createGuardedEventStore,
  type EventStore,
  isRuleViolationError,
  type Principal,
  type ProgrammeWindow,
  referCase,
} from '@lantern/core';
import { describe, expect, it } from 'vitest';
import {
  auditEntries,
  caseManager,
  child1,
  collect,
  disclosure,
  fieldWorker1,
  newEvent,
  programmeId,
  registration,
  shelter,
} from './fixtures.js';

const programme: ProgrammeWindow = {
  programmeId,
  plannedStart: '2018-12-01',
  plannedEnd: '2020-11-30',
  timeZone: 'Asia/Phnom_Penh',
  currency: 'USD',
};
const worker: Principal = { id: fieldWorker1, role: 'field-worker', scope: { kind: 'own' } };
const police = 'ag_00000000000000b2';

const storeWith = async (consent: { services: boolean; sharing: string[] } | 'unregistered') => {
  const store = createMemoryEventStore();
  if (consent !== 'unregistered') {
    await store.append(`child-${child1}`, [
      newEvent('ChildRegistered', registration(child1, consent.services, consent.sharing), caseManager),
    ]);
  }
  await store.append('case-PP-2020-001', [
    newEvent('CaseDisclosed', disclosure('PP-2020-001', child1), fieldWorker1),
  ]);
  return store;
};

const refer = (
  store: EventStore,
  basis: CatalogEventData<'CaseReferred'>['consentBasis'],
  toAgencyRef = shelter,
  principal = worker,
  commandId?: string,
) =>
  referCase({
    store,
    programme,
    principal,
    audit: { sink: auditTo(store), reference: 'REQ-2020-17' },
    command: {
      type: 'ReferCase',
      metadata: {
        occurredAt: '2020-03-03T14:00:00+07:00',
        recordedBy: principal.id,
        ...(commandId === undefined ? {} : { commandId }),
      },
      data: {
        caseId: 'PP-2020-001',
        referralId: 'ref-1',
        service: 'shelter',
        toAgencyRef,
        consentBasis: basis,
      },
    },
  });

const referrals = async (store: EventStore) =>
  (await collect(store.readStream('case-PP-2020-001'))).filter((e) => e.type === 'CaseReferred');

describe('referring a case, against the child’s consent', () => {
  it('records a referral the child consented to, with no audit entry', async () => {
    const store = await storeWith({ services: true, sharing: [shelter] });
    const result = await refer(store, { kind: 'given' });
    expect(result.written).toBe(true);
    expect(await referrals(store)).toHaveLength(1);
    expect(await auditEntries(store)).toEqual([]);
  });

  it.each([
    ['services', { services: false, sharing: [shelter] }, shelter, /has not given consent for services\./],
    ['sharing', { services: true, sharing: [shelter] }, police, /consent to share with ag_00000000000000b2/],
    ['anything, unregistered', 'unregistered' as const, shelter, /\(no consent is recorded\)/],
  ])(
    'refuses a referral given without consent for %s, saying what to record',
    async (_, consent, agency, message) => {
      const store = await storeWith(consent);
      const error = await refer(store, { kind: 'given' }, agency).catch((e: unknown) => e);
      expect(isRuleViolationError(error)).toBe(true);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).toMatch(/ChangeConsent.*overridden.*audited/);
      expect(await referrals(store)).toHaveLength(0);
      expect(await auditEntries(store)).toEqual([]);
    },
  );

  it('refuses once consent for services is withdrawn', async () => {
    const store = await storeWith({ services: true, sharing: [shelter] });
    await store.append(`child-${child1}`, [
      newEvent(
        'ConsentChanged',
        {
          childRef: child1,
          consent: { services: false, reporting: true, tracing: false, sharing: [shelter] },
          withdrawn: true,
          consentGivenBy: 'child',
        },
        caseManager,
      ),
    ]);
    await expect(refer(store, { kind: 'given' })).rejects.toThrow(/consent for services/);
  });

  it('accepts an override with its reason, and audits it before the referral is written', async () => {
    const store = await storeWith({ services: false, sharing: [] });
    await refer(store, { kind: 'overridden', reason: 'imminent-danger' }, police);
    const [referral] = await referrals(store);
    expect(referral?.data).toMatchObject({ consentBasis: { kind: 'overridden', reason: 'imminent-danger' } });
    expect(await auditEntries(store)).toEqual([
      {
        programmeId,
        principal: { id: fieldWorker1, role: 'field-worker' },
        action: 'consent-override',
        target: child1,
        purpose: 'safeguarding-emergency',
        reference: 'REQ-2020-17',
      },
    ]);
    const [auditEvent] = await collect(store.readStream(`audit-${programmeId}`));
    expect(auditEvent && referral && auditEvent.position < referral.position).toBe(true);
  });

  it('audits an override once when the same referral is sent again', async () => {
    const store = await storeWith({ services: false, sharing: [] });
    const commandId = '0190f3a2-7c4e-7d21-9a3b-5c6d7e8f9a0b';
    await refer(store, { kind: 'overridden', reason: 'imminent-danger' }, police, worker, commandId);
    await refer(store, { kind: 'overridden', reason: 'imminent-danger' }, police, worker, commandId);
    expect(await referrals(store)).toHaveLength(1);
    expect((await auditEntries(store)).filter((entry) => entry.action === 'consent-override')).toHaveLength(
      1,
    );
  });

  it('writes no override when the audit entry cannot be stored', async () => {
    const store = await storeWith({ services: false, sharing: [] });
    const error = await referCase({
      store,
      programme,
      principal: worker,
      audit: {
        sink: async () => {
          throw new Error('audit store unreachable');
        },
      },
      command: {
        type: 'ReferCase',
        metadata: { occurredAt: '2020-03-03T14:00:00+07:00', recordedBy: fieldWorker1 },
        data: {
          caseId: 'PP-2020-001',
          referralId: 'ref-1',
          service: 'legal',
          toAgencyRef: police,
          consentBasis: { kind: 'overridden', reason: 'legal-duty' },
        },
      },
    }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/unreachable/);
    expect(await referrals(store)).toHaveLength(0);
  });

  it('refuses a referral on a case never disclosed, as the decider words it', async () => {
    const store = createMemoryEventStore();
    await expect(refer(store, { kind: 'given' })).rejects.toThrow(/has not been disclosed/);
  });

  it('refuses a referral recorded under someone else’s pseudonym', async () => {
    const store = await storeWith({ services: true, sharing: [shelter] });
    await expect(
      referCase({
        store,
        programme,
        principal: { id: caseManager, role: 'case-manager' },
        audit: { sink: auditTo(store) },
        command: {
          type: 'ReferCase',
          metadata: { occurredAt: '2020-03-03T14:00:00+07:00', recordedBy: fieldWorker1 },
          data: {
            caseId: 'PP-2020-001',
            referralId: 'ref-1',
            service: 'shelter',
            toAgencyRef: shelter,
            consentBasis: { kind: 'given' },
          },
        },
      }),
    ).rejects.toThrow(/own pseudonym/);
  });

  it('works through a guarded store, whose reads of the case and the child are audited', async () => {
    const store = await storeWith({ services: true, sharing: [shelter] });
    const guarded = createGuardedEventStore(store, {
      principal: worker,
      audit: { programmeId, purpose: 'case-management' },
    });
    await referCase({
      store: guarded,
      programme,
      principal: worker,
      audit: { sink: auditTo(store) },
      command: {
        type: 'ReferCase',
        metadata: { occurredAt: '2020-03-03T14:00:00+07:00', recordedBy: fieldWorker1 },
        data: {
          caseId: 'PP-2020-001',
          referralId: 'ref-1',
          service: 'shelter',
          toAgencyRef: shelter,
          consentBasis: { kind: 'given' },
        },
      },
    });
    expect(await referrals(store)).toHaveLength(1);
    expect((await auditEntries(store)).map((e) => `${e.action} ${e.target}`)).toEqual([
      'case-read case-PP-2020-001',
      `case-read child-${child1}`,
      'case-read case-PP-2020-001',
    ]);
  });
});
