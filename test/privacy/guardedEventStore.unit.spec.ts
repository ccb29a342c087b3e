import { createMemoryEventStore } from '@lantern/adapters/memory';
import {
  type AccessPolicy,
  type AuditSink,
  auditStreamOf,
  auditTo,
  caseDecider,
  createEventRegistry,
  createGuardedEventStore,
  defaultAccessPolicy,
  defaultEventRegistry,
  type EventDefinition,
  type EventStore,
  eventCatalog,
  handleCommand,
  isAccessDeniedError,
  isStreamNotFoundError,
  type Principal,
  type RecordedEvent,
} from '@lantern/core';
import { firstValueFrom, take, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  analyst,
  auditEntries,
  caseManager,
  child1,
  child2,
  collect,
  disclosure,
  donor,
  fieldWorker1,
  fieldWorker2,
  newEvent,
  programmeId,
  registration,
  seededStore,
  service,
} from './fixtures.js';

const guard = (store: EventStore, principal: Principal, sink?: AuditSink) =>
  createGuardedEventStore(store, {
    principal,
    audit: { programmeId, purpose: 'case-management', ...(sink ? { sink } : {}) },
  });

const refusal = async (run: () => Promise<unknown>) => {
  const error = await run().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isAccessDeniedError(error)).toBe(true);
  return error as Error;
};

const own = (id: string, role: Principal['role'] = 'field-worker'): Principal => ({
  id,
  role,
  scope: { kind: 'own' },
});
const everyCase = (id: string, role: Principal['role']): Principal => ({
  id,
  role,
  scope: { kind: 'programme' },
});

describe('a guarded event store', () => {
  describe('case-level reads', () => {
    it('lets a field worker read their own case, and audits the read once', async () => {
      const store = await seededStore();
      const events = await collect(guard(store, own(fieldWorker1)).readStream('case-PP-2020-001'));
      expect(events.map((e) => e.type)).toEqual(['CaseDisclosed']);
      expect(await auditEntries(store)).toEqual([
        {
          programmeId,
          principal: { id: fieldWorker1, role: 'field-worker' },
          action: 'case-read',
          target: 'case-PP-2020-001',
          purpose: 'case-management',
        },
      ]);
    });

    it("refuses another worker's case, saying why and what to do, and audits the refusal", async () => {
      const store = await seededStore();
      const error = await refusal(() =>
        collect(guard(store, own(fieldWorker1)).readStream('case-PP-2020-002')),
      );
      expect(error.message).toMatch(/st_00000000000000a1 \(field-worker\) may not read case-PP-2020-002/);
      expect(error.message).toMatch(/own cases; ask a case manager/);
      expect(await auditEntries(store)).toMatchObject([
        { action: 'access-denied', refused: 'case-read', target: 'case-PP-2020-002' },
      ]);
    });

    it('lets a worker read the child of their case, though someone else registered the child', async () => {
      const store = await seededStore();
      const events = await collect(guard(store, own(fieldWorker2)).readStream(`child-${child2}`));
      expect(events.map((e) => e.type)).toEqual(['ChildRegistered']);
      await refusal(() => collect(guard(store, own(fieldWorker2)).readStream(`child-${child1}`)));
    });

    it('learns of a case coming into scope after its first question, with the child the case names', async () => {
      const store = await seededStore();
      const view = guard(store, own(fieldWorker1));
      // Child 2's case is field worker 2's: field worker 1 may not read the child yet.
      await refusal(() => collect(view.readStream(`child-${child2}`)));
      // Then field worker 1 follows the case up (recorded by the sync server, straight into the store).
      await store.append('case-PP-2020-002', [
        newEvent(
          'CaseFollowedUp',
          { caseId: 'PP-2020-002', followedUpOn: '2020-03-03', kind: 'home-visit' },
          fieldWorker1,
        ),
      ]);
      // The same view now finds the case, and the child its disclosure named, in scope.
      const events = await collect(view.readStream(`child-${child2}`));
      expect(events.map((e) => e.type)).toEqual(['ChildRegistered']);
      const feed = await collect(view.readAll({ filter: { streamPrefixes: ['case-'] } }));
      expect(feed.map((e) => `${e.streamId} ${e.type}`)).toEqual([
        'case-PP-2020-001 CaseDisclosed',
        'case-PP-2020-002 CaseDisclosed',
        'case-PP-2020-002 CaseFollowedUp',
      ]);
    });

    it("lets a team read its members' cases", async () => {
      const store = await seededStore();
      const lead: Principal = {
        id: caseManager,
        role: 'case-manager',
        scope: { kind: 'team', members: [fieldWorker2] },
      };
      expect(await collect(guard(store, lead).readStream('case-PP-2020-002'))).toHaveLength(1);
      await refusal(() => collect(guard(store, lead).readStream('case-PP-2020-001')));
    });

    it('lets a field worker with own scope record a new case through the command handler', async () => {
      // The handler reads the new case's stream first and takes StreamNotFoundError for "new".
      const store = await seededStore();
      const decider = caseDecider({
        programmeId,
        plannedStart: '2019-01-01',
        plannedEnd: '2021-12-31',
        timeZone: 'Asia/Phnom_Penh',
        currency: 'USD',
      });
      const result = await handleCommand({
        store: guard(store, own(fieldWorker1)),
        decider,
        streamId: 'case-PP-2020-050',
        command: {
          type: 'DiscloseCase',
          data: disclosure('PP-2020-050', child1),
          metadata: { occurredAt: '2020-03-02T10:00:00+07:00', recordedBy: fieldWorker1 },
        },
      });
      expect(result.written).toBe(true);
      expect((await collect(store.readStream('case-PP-2020-050'))).map((e) => e.type)).toEqual([
        'CaseDisclosed',
      ]);
    });

    it('audits a read of a case that does not exist, and says so', async () => {
      const store = await seededStore();
      const error = await collect(
        guard(store, everyCase(caseManager, 'case-manager')).readStream('case-PP-2020-099'),
      ).catch((e: unknown) => e);
      expect(isStreamNotFoundError(error)).toBe(true);
      expect(await auditEntries(store)).toMatchObject([{ action: 'case-read', target: 'case-PP-2020-099' }]);
    });

    it('hands out nothing when the audit entry cannot be written', async () => {
      const store = await seededStore();
      const broken: AuditSink = async () => {
        throw new Error('audit store unreachable');
      };
      await expect(
        collect(guard(store, own(fieldWorker1), broken).readStream('case-PP-2020-001')),
      ).rejects.toThrow(/unreachable/);
      await expect(firstValueFrom(guard(store, own(fieldWorker1), broken).subscribe())).rejects.toThrow(
        /unreachable/,
      );
    });

    it('does not audit reads of activity streams', async () => {
      const store = await seededStore();
      expect(
        await collect(guard(store, own(fieldWorker1)).readStream(`outreach-${programmeId}`)),
      ).toHaveLength(1);
      expect(await auditEntries(store)).toEqual([]);
    });
  });

  describe('feeds', () => {
    it("gives a field worker their own cases' events and the activity streams, audited once per read", async () => {
      const store = await seededStore();
      const events = await collect(guard(store, own(fieldWorker1)).readAll());
      expect(events.map((e) => e.streamId)).toEqual([
        `child-${child1}`,
        'case-PP-2020-001',
        `outreach-${programmeId}`,
      ]);
      expect(await auditEntries(store)).toMatchObject([{ action: 'case-read', target: '$all' }]);
    });

    it('does not audit a feed filtered to activity streams', async () => {
      const store = await seededStore();
      const events = await collect(
        guard(store, own(fieldWorker1)).readAll({ filter: { streamPrefixes: ['outreach-'] } }),
      );
      expect(events).toHaveLength(1);
      expect(await auditEntries(store)).toEqual([]);
    });

    it('counts maxCount over what the principal may see', async () => {
      const store = await seededStore();
      const events = await collect(guard(store, own(fieldWorker2)).readAll({ maxCount: 2 }));
      expect(events.map((e) => e.streamId)).toEqual([`child-${child2}`, 'case-PP-2020-002']);
    });

    it('gives a service with programme scope every event with all that ties it to a child redacted, and no case by name', async () => {
      const store = await seededStore();
      const guarded = guard(store, everyCase(service, 'service'));
      const events = await firstValueFrom(guarded.subscribe().pipe(take(5), toArray()));
      const text = JSON.stringify(events, (_, v) => (typeof v === 'bigint' ? v.toString() : v));
      expect(text).not.toMatch(/ch_0000|PP-2020/);
      expect(events.map((e) => e.streamId)).toEqual([
        'child-redacted',
        'case-redacted',
        'child-redacted',
        'case-redacted',
        `outreach-${programmeId}`,
      ]);
      expect(events[1]?.data).toMatchObject({
        caseId: { redacted: 'not-permitted' },
        childRef: { redacted: 'not-permitted' },
        concerns: ['sexual-exploitation'],
      });
      expect(events[4]?.data).toMatchObject({ newChildRefs: { redacted: 'not-permitted' } });
      expect(events.every((e) => Object.isFrozen(e.data))).toBe(true);
      await refusal(() => collect(guarded.readStream('case-PP-2020-001')));
      expect(await auditEntries(store)).toMatchObject([
        { action: 'subscription', target: '$all', principal: { id: service, role: 'service' } },
        { action: 'access-denied', refused: 'case-read' },
      ]);
    });

    it('gives a service the areas of child-linked events no finer than a district, and staff as recorded', async () => {
      const store = createMemoryEventStore();
      const household = 'hh_00000000000000e1';
      await store.append(`child-${child1}`, [
        newEvent('ChildRegistered', { ...registration(child1), area: 'KH-12-09-03' }, fieldWorker1),
      ]);
      await store.append('case-PP-2020-001', [
        newEvent(
          'CaseDisclosed',
          { ...disclosure('PP-2020-001', child1), area: 'KH-12-09-03' },
          fieldWorker1,
        ),
      ]);
      await store.append(`aid-${programmeId}`, [
        newEvent(
          'AidDistributed',
          {
            programmeId,
            distributionId: 'food-0001',
            area: 'KH-12-06-02',
            householdRef: household,
            items: [{ item: 'rice', quantity: 10, unit: 'kg' }],
            context: 'covid-relief',
          },
          fieldWorker1,
        ),
      ]);
      await store.append('club-smc-01', [
        newEvent(
          'ClubEstablished',
          {
            programmeId,
            clubId: 'smc-01',
            name: 'Stung Mean Chey Kids Club 1',
            area: 'KH-12-06-02',
            kind: 'kids-club',
            establishedOn: '2020-03-02',
          },
          fieldWorker1,
        ),
      ]);
      const areasOf = (events: RecordedEvent[]) =>
        events.filter((e) => !e.streamId.startsWith('audit-')).map((e) => (e.data as { area: string }).area);

      const serviceFeed = await collect(guard(store, everyCase(service, 'service')).readAll());
      // A club is no child's: its commune stays. A child's registration, a disclosure and a
      // household's food aid are cut to their district.
      expect(areasOf(serviceFeed)).toEqual(['KH-12-09', 'KH-12-09', 'KH-12-06', 'KH-12-06-02']);
      expect(serviceFeed[2]?.data).toMatchObject({ householdRef: { redacted: 'not-permitted' } });
      // Read by name too: an activity stream the service may read.
      expect(
        areasOf(await collect(guard(store, everyCase(service, 'service')).readStream(`aid-${programmeId}`))),
      ).toEqual(['KH-12-06']);
      for (const role of ['field-worker', 'case-manager', 'analyst'] as const) {
        const feed = await collect(
          guard(store, everyCase(role === 'analyst' ? analyst : fieldWorker1, role)).readAll(),
        );
        expect(areasOf(feed)).toEqual(['KH-12-09-03', 'KH-12-09-03', 'KH-12-06-02', 'KH-12-06-02']);
      }

      // The level is the policy's: plain data, tightened here to the province.
      const tighter: AccessPolicy = {
        ...defaultAccessPolicy,
        roles: {
          ...defaultAccessPolicy.roles,
          service: { ...defaultAccessPolicy.roles.service, childLinkedArea: 'province' },
        },
      };
      const provinceFeed = await collect(
        createGuardedEventStore(store, {
          principal: everyCase(service, 'service'),
          policy: tighter,
          audit: { programmeId, purpose: 'service-delivery' },
        }).readAll(),
      );
      expect(areasOf(provinceFeed)).toEqual(['KH-12', 'KH-12', 'KH-12', 'KH-12-06-02']);
      const wrong = {
        ...tighter,
        roles: { ...tighter.roles, service: { ...tighter.roles.service, childLinkedArea: 'village' } },
      } as unknown as AccessPolicy;
      expect(() =>
        createGuardedEventStore(store, {
          principal: everyCase(service, 'service'),
          policy: wrong,
          audit: { programmeId, purpose: 'service-delivery' },
        }),
      ).toThrow(/childLinkedArea "village".*country, province, district, commune/);
    });

    it('keeps delivering live events, filtered by scope, until the view is closed', async () => {
      const store = await seededStore();
      const guarded = guard(store, own(fieldWorker1));
      const seen: RecordedEvent[] = [];
      let completed = false;
      guarded
        .subscribe({ after: 'end' })
        .subscribe({ next: (e) => seen.push(e), complete: () => (completed = true) });
      await new Promise((resolve) => setTimeout(resolve, 20));
      await store.append('case-PP-2020-003', [
        newEvent('CaseDisclosed', disclosure('PP-2020-003', child1), fieldWorker2),
      ]);
      await store.append('case-PP-2020-004', [
        newEvent('CaseDisclosed', disclosure('PP-2020-004', child1), fieldWorker1),
      ]);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(seen.map((e) => e.streamId)).toEqual(['case-PP-2020-004']);
      await guarded.close();
      expect(completed).toBe(true);
      await expect(collect(guarded.readAll())).rejects.toThrow(/closed/);
    });

    it('gives a donor no events at all, and audits each attempt', async () => {
      const store = await seededStore();
      const guarded = guard(store, { id: donor, role: 'donor' });
      const error = await refusal(() => collect(guarded.readAll()));
      expect(error.message).toMatch(/donor and public figures/);
      await refusal(() => firstValueFrom(guarded.subscribe()));
      await refusal(() => collect(guarded.readStream(`outreach-${programmeId}`)));
      expect((await auditEntries(store)).map((e) => e.refused)).toEqual([
        'stream-read',
        'subscription',
        'stream-read',
      ]);
    });
  });

  describe('protected fields', () => {
    // Until a type declares them in the catalog, the guard is shown one that does.
    const withProtection = createEventRegistry(
      Object.values(eventCatalog).map((definition) =>
        definition.type === 'CaseDisclosed'
          ? ({
              ...definition,
              protection: { subject: 'childRef', fields: ['perpetratorRelation'] },
            } as unknown as EventDefinition)
          : (definition as EventDefinition),
      ),
    );
    const view = (store: EventStore, principal: Principal) =>
      createGuardedEventStore(store, {
        principal,
        registry: withProtection,
        audit: { programmeId, purpose: 'monitoring-evaluation' },
      });

    it('are redacted for analysts, who keep the pseudonyms they count by', async () => {
      const store = await seededStore();
      const [event] = await collect(
        view(store, everyCase(analyst, 'analyst')).readStream('case-PP-2020-001'),
      );
      expect(event?.data).toMatchObject({
        perpetratorRelation: { redacted: 'not-permitted' },
        childRef: child1,
      });
    });

    it('are given to case managers within their scope', async () => {
      const store = await seededStore();
      const [event] = await collect(
        view(store, everyCase(caseManager, 'case-manager')).readStream('case-PP-2020-001'),
      );
      expect(event?.data).toMatchObject({ perpetratorRelation: 'trafficker' });
    });
  });

  describe('the audit stream', () => {
    it('is read only by case managers with programme scope, and each read is audited', async () => {
      const store = await seededStore();
      await auditTo(store)({
        programmeId,
        principal: { id: fieldWorker1, role: 'field-worker' },
        action: 'case-read',
        target: 'case-PP-2020-001',
        purpose: 'case-management',
      });
      const entries = await collect(
        guard(store, everyCase(caseManager, 'case-manager')).readStream(auditStreamOf(programmeId)),
      );
      expect(entries.map((e) => (e.data as { action: string }).action)).toEqual(['case-read', 'stream-read']);
      await refusal(() =>
        collect(guard(store, own(caseManager, 'case-manager')).readStream(auditStreamOf(programmeId))),
      );
      await refusal(() =>
        collect(guard(store, everyCase(analyst, 'analyst')).readStream(auditStreamOf(programmeId))),
      );
      const feed = await collect(guard(store, own(fieldWorker1)).readAll());
      expect(feed.some((e) => e.streamId.startsWith('audit-'))).toBe(false);
    });

    it.each([
      ['field-worker', fieldWorker1],
      ['case-manager', caseManager],
      ['analyst', analyst],
      ['donor', donor],
      ['service', service],
    ] as const)('is written by no %s, neither in its stream nor elsewhere', async (role, id) => {
      const store = await seededStore();
      const guarded = guard(store, { id, role, scope: { kind: 'programme' } });
      const forged = newEvent(
        'AuditRecorded',
        { programmeId, principal: { id, role }, action: 'export', target: '$all', purpose: 'reporting' },
        fieldWorker1,
      );
      await refusal(() => guarded.append(auditStreamOf(programmeId), [forged]));
      await refusal(() => guarded.append('case-PP-2020-001', [forged]));
      const stored = await collect(store.readStream(auditStreamOf(programmeId)));
      expect(stored.map((e) => (e.data as { action: string }).action)).toEqual([
        'access-denied',
        'access-denied',
      ]);
    });
  });

  describe('appends', () => {
    it("lets a field worker open a case and add to their own, never to another's", async () => {
      const store = await seededStore();
      const guarded = guard(store, own(fieldWorker1));
      await guarded.append('case-PP-2020-005', [
        newEvent('CaseDisclosed', disclosure('PP-2020-005', child1), fieldWorker1),
      ]);
      const risk = newEvent(
        'RiskAssessed',
        { caseId: 'PP-2020-002', level: 'high', concerns: ['trafficking'] },
        fieldWorker1,
      );
      const error = await refusal(() => guarded.append('case-PP-2020-002', [risk]));
      expect(error.message).toMatch(/may not append to case-PP-2020-002/);
      expect(await auditEntries(store)).toMatchObject([{ action: 'access-denied', refused: 'append' }]);
    });

    it('refuses events recorded under someone else’s pseudonym', async () => {
      const store = await seededStore();
      const guarded = guard(store, own(fieldWorker1));
      const error = await refusal(() =>
        guarded.append(`child-${child1}`, [
          newEvent(
            'ConsentChanged',
            {
              childRef: child1,
              consent: registration(child1, false).consent,
              withdrawn: true,
              consentGivenBy: 'caregiver',
            },
            fieldWorker2,
          ),
        ]),
      );
      expect(error.message).toMatch(/record events under your own pseudonym/);
    });

    it('refuses analysts, donors and services any append', async () => {
      const store = await seededStore();
      for (const principal of [
        everyCase(analyst, 'analyst'),
        { id: donor, role: 'donor' as const },
        { id: service, role: 'service' as const },
      ]) {
        await refusal(() => guard(store, principal).append('case-PP-2020-006', []));
      }
    });
  });

  it('refuses a principal named by something other than a pseudonym', () => {
    expect(() =>
      guard(defaultEventRegistry as unknown as EventStore, { id: 'Sokha', role: 'field-worker' }),
    ).toThrow(/staff pseudonym/);
    expect(() =>
      guard(defaultEventRegistry as unknown as EventStore, {
        id: caseManager,
        role: 'case-manager',
        scope: { kind: 'team', members: ['Dara'] },
      }),
    ).toThrow(/never names/);
  });
});
