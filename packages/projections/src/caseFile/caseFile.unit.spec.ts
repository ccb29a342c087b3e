import {
  createMemoryEventStore,
  createMemoryKeyStore,
  createMemoryReadModelStore,
} from '@lantern/adapters/memory';
import {
  type AuditEntry,
  type AuditSink,
  auditStreamOf,
  auditTo,
  CaseClosed,
  CaseDisclosed,
  CaseFollowedUp,
  CaseReferred,
  ChildPlacedSafely,
  createProtectedEventStore,
  eraseChild,
  isAccessDeniedError,
  type KeyStore,
  mintPseudonym,
  type Principal,
  RiskAssessed,
  ServiceDelivered,
} from '@lantern/core';
import { describe, expect, it } from 'vitest';
import { createProjectionEngine } from '../engine/projectionEngine.js';
import { type CaseFileDocument, createCaseFileProjection } from './caseFileProjection.js';
import { type ReadCaseFileOptions, readCaseFile } from './readCaseFile.js';

const staff = 'st_00000000000000a1';
const colleague = 'st_00000000000000a2';
const teamLead = 'st_00000000000000a3';
const programmeId = 'psk-phnom-penh';
/** Reads every case of the programme. */
const caseManager: Principal = {
  id: 'st_00000000000000c1',
  role: 'case-manager',
  scope: { kind: 'programme' },
};
const fieldWorker = (id: string): Principal => ({ id, role: 'field-worker', scope: { kind: 'own' } });

/** An audit sink that keeps what it is given. */
const auditLog = () => {
  const entries: AuditEntry[] = [];
  return {
    entries,
    sink: async (entry: AuditEntry): Promise<void> => {
      entries.push(entry);
    },
  };
};
/** The options of a read by `principal`, audited into `sink`. */
const readAs = (
  principal: Principal,
  keyStore: KeyStore,
  sink: AuditSink = auditLog().sink,
): ReadCaseFileOptions => ({ keyStore, principal, audit: { sink, programmeId, purpose: 'case-management' } });
const refusal = async (run: () => Promise<unknown>): Promise<Error> => {
  const error = await run().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isAccessDeniedError(error)).toBe(true);
  return error as Error;
};
const collect = async <T>(iterable: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
};
const metadata = (occurredAt: string, recordedBy = staff) => ({ occurredAt, recordedBy });
const narrative = 'He said the man at the market kept his papers.';

const disclosure = (caseId: string, childRef: string, text?: string, recordedBy = staff) =>
  CaseDisclosed.toNew(
    {
      programmeId: 'psk-phnom-penh',
      caseId,
      childRef,
      sex: 'male',
      ageBand: '12-17',
      area: 'KH-12-01',
      concerns: ['child-labour'],
      disclosedVia: 'club',
      ...(text === undefined ? {} : { narrative: text }),
    },
    metadata('2020-03-02T10:00:00+07:00', recordedBy),
  );

const setUp = async () => {
  const events = createMemoryEventStore();
  const keyStore = createMemoryKeyStore();
  const store = createProtectedEventStore(events, { keyStore });
  const readModels = createMemoryReadModelStore();
  const projection = createCaseFileProjection();
  // The case file reads the store itself: its read model holds sealed values only.
  const engine = createProjectionEngine({ eventStore: events, readModels, projections: [projection] });
  await engine.start();
  return { events, keyStore, store, readModels, engine };
};

describe('the case file', () => {
  it('keeps protected fields sealed, and opens them for a reader holding the key store', async () => {
    const { keyStore, store, readModels, engine } = await setUp();
    const child = mintPseudonym('child');
    await store.append('case-PP-2020-040', [disclosure('PP-2020-040', child, narrative)]);
    const last = await store.append('case-PP-2020-040', [
      ChildPlacedSafely.toNew(
        {
          caseId: 'PP-2020-040',
          childRef: child,
          placementType: 'kinship',
          caregiverRelation: 'grandparent',
          caregiverContact: '+855 97 000 111',
        },
        metadata('2020-03-20T10:00:00+07:00'),
      ),
      CaseClosed.toNew({ caseId: 'PP-2020-040', reason: 'goals-met' }, metadata('2020-06-01T10:00:00+07:00')),
    ]);
    await engine.waitFor(last.position);

    const stored = JSON.stringify(await readModels.documents('case_file', 'cases'));
    expect(stored).not.toContain('papers');
    expect(stored).not.toContain('+855');
    const document = (await readModels.getDocument('case_file', 'cases', 'PP-2020-040')) as CaseFileDocument;
    expect(document.narrative).toMatchObject({ type: 'CaseDisclosed', sealed: { alg: 'A256GCM' } });

    const log = auditLog();
    const file = await readCaseFile(readModels, 'PP-2020-040', readAs(caseManager, keyStore, log.sink));
    expect(file).toMatchObject({
      caseId: 'PP-2020-040',
      child,
      status: 'closed',
      narrative,
      placements: [{ placementType: 'kinship', caregiverContact: '+855 97 000 111' }],
      recordedBy: [staff],
    });
    expect(file?.placements[0]).not.toHaveProperty('placementAddress');
    // A case the file does not hold: the read is audited all the same.
    expect(
      await readCaseFile(readModels, 'PP-2020-999', readAs(caseManager, keyStore, log.sink)),
    ).toBeUndefined();
    expect(log.entries).toMatchObject([
      {
        action: 'case-read',
        target: 'case-PP-2020-040',
        principal: { id: caseManager.id, role: 'case-manager' },
      },
      { action: 'case-read', target: 'case-PP-2020-999' },
    ]);
    await engine.stop();
  });

  it('records the read in the audit trail, and reads nothing if it cannot', async () => {
    const { events, keyStore, store, readModels, engine } = await setUp();
    const written = await store.append('case-PP-2020-046', [
      disclosure('PP-2020-046', mintPseudonym('child'), narrative),
    ]);
    await engine.waitFor(written.position);
    const principal: Principal = { id: staff, role: 'case-manager' };
    const audit = {
      sink: auditTo(events),
      programmeId,
      purpose: 'case-management' as const,
      reference: 'REQ-2020-17',
    };
    expect((await readCaseFile(readModels, 'PP-2020-046', { keyStore, principal, audit }))?.narrative).toBe(
      narrative,
    );
    const [entry] = await collect(events.readStream(auditStreamOf(programmeId)));
    expect(entry?.data).toMatchObject({
      action: 'case-read',
      target: 'case-PP-2020-046',
      principal: { id: staff, role: 'case-manager' },
      reference: 'REQ-2020-17',
    });
    const unreachable = () => Promise.reject(new Error('audit store unreachable'));
    await expect(
      readCaseFile(readModels, 'PP-2020-046', {
        keyStore,
        principal,
        audit: { ...audit, sink: unreachable },
      }),
    ).rejects.toThrow(/unreachable/);
    // A refusal that cannot be audited is not let through either.
    await expect(
      readCaseFile(readModels, 'PP-2020-046', readAs(fieldWorker(colleague), keyStore, unreachable)),
    ).rejects.toThrow(/unreachable/);
    await engine.stop();
  });

  it('purges a child’s protected fields on erasure, keeps the cases, and a rebuild agrees', async () => {
    const { events, keyStore, store, readModels, engine } = await setUp();
    const child = mintPseudonym('child');
    const other = mintPseudonym('child');
    await store.append('case-PP-2020-041', [disclosure('PP-2020-041', child, narrative)]);
    await store.append('case-PP-2020-042', [disclosure('PP-2020-042', child, 'A second case.')]);
    await store.append('case-PP-2020-043', [disclosure('PP-2020-043', other, 'Another child.')]);
    await eraseChild(child, {
      eventStore: store,
      keyStore,
      programmeId: 'psk-phnom-penh',
      requestedBy: { id: staff, role: 'case-manager' },
    });
    // A disclosure sealed on a field device before the erasure and synced after it is kept erased too.
    const synced = disclosure('PP-2020-044', child);
    const sealedOnDevice = {
      alg: 'A256GCM',
      iv: 'AAAAAAAAAAAAAAAA',
      tag: 'AAAAAAAAAAAAAAAAAAAAAA',
      ct: 'AAAA',
    };
    const late = await events.append('case-PP-2020-044', [
      { ...synced, data: { ...(synced.data as object), narrative: sealedOnDevice } },
    ]);
    await engine.waitFor(late.position);

    const check = async () => {
      const cases = await readModels.documents('case_file', 'cases');
      expect(cases.map((row) => row.key)).toEqual([
        'PP-2020-041',
        'PP-2020-042',
        'PP-2020-043',
        'PP-2020-044',
      ]);
      for (const caseId of ['PP-2020-041', 'PP-2020-042', 'PP-2020-044']) {
        const document = (await readModels.getDocument('case_file', 'cases', caseId)) as CaseFileDocument;
        expect(document.narrative).toEqual({ redacted: 'erased' });
        expect(document.erasedAt).toEqual(expect.any(String));
        expect((await readCaseFile(readModels, caseId, readAs(caseManager, keyStore)))?.narrative).toEqual({
          redacted: 'erased',
        });
      }
      expect((await readCaseFile(readModels, 'PP-2020-043', readAs(caseManager, keyStore)))?.narrative).toBe(
        'Another child.',
      );
    };
    await check();
    await engine.rebuild('case_file');
    await engine.waitFor(late.position);
    await check();
    await engine.stop();
  });

  it('refuses to keep plaintext: run through the protecting store, it dead-letters and stops', async () => {
    const events = createMemoryEventStore();
    const keyStore = createMemoryKeyStore();
    const store = createProtectedEventStore(events, { keyStore });
    const readModels = createMemoryReadModelStore();
    const engine = createProjectionEngine({
      eventStore: store,
      readModels,
      projections: [createCaseFileProjection()],
    });
    await engine.start();
    await store.append('case-PP-2020-045', [disclosure('PP-2020-045', mintPseudonym('child'), narrative)]);
    await expect.poll(() => engine.status()[0]?.state).toBe('failed');
    const [letter] = await readModels.deadLetters('case_file');
    expect(letter?.error).toMatch(/only sealed.*not through createProtectedEventStore/);
    expect(letter?.error).not.toContain('papers');
    expect(await readModels.documents('case_file', 'cases')).toEqual([]);
    await engine.stop();
  });
});

describe('who reads the case file', () => {
  /**
   * Case PP-2020-070 is the field worker's (staff), with a follow-up by the team lead; case
   * PP-2020-071 is a colleague's. Both hold a narrative.
   */
  const twoCases = async () => {
    const context = await setUp();
    await context.store.append('case-PP-2020-070', [
      disclosure('PP-2020-070', mintPseudonym('child'), narrative),
      CaseFollowedUp.toNew(
        { caseId: 'PP-2020-070', followedUpOn: '2020-03-09', kind: 'home-visit' },
        metadata('2020-03-09T10:00:00+07:00', teamLead),
      ),
    ]);
    const last = await context.store.append('case-PP-2020-071', [
      disclosure('PP-2020-071', mintPseudonym('child'), 'A colleague’s case.', colleague),
    ]);
    await context.engine.waitFor(last.position);
    return context;
  };

  it('refuses analysts, donors and services, and audits each refusal before refusing', async () => {
    const { keyStore, readModels, engine } = await twoCases();
    const cases: [Principal, RegExp][] = [
      [
        { id: 'st_00000000000000e1', role: 'analyst', scope: { kind: 'programme' } },
        /an analyst is not given protected fields.*createGuardedEventStore/,
      ],
      [{ id: 'dn_00000000000000d1', role: 'donor' }, /a donor reads no case streams; ask for donor figures/],
      [{ id: 'svc-sync-server', role: 'service' }, /a service reads no case stream by name; subscribe/],
    ];
    for (const [principal, reason] of cases) {
      const log = auditLog();
      const error = await refusal(() =>
        readCaseFile(readModels, 'PP-2020-070', readAs(principal, keyStore, log.sink)),
      );
      expect(error.message).toContain(
        `${principal.id} (${principal.role}) may not read the case file of case-PP-2020-070`,
      );
      expect(error.message).toMatch(reason);
      expect(error.message).not.toContain('papers');
      expect(log.entries).toEqual([
        {
          programmeId,
          principal: { id: principal.id, role: principal.role },
          action: 'access-denied',
          refused: 'case-read',
          target: 'case-PP-2020-070',
          purpose: 'case-management',
        },
      ]);
      // Refused whether the case exists or not: the answer tells nothing about the case.
      await refusal(() => readCaseFile(readModels, 'PP-2020-999', readAs(principal, keyStore)));
    }
    await engine.stop();
  });

  it('gives a field worker with own scope only the cases they recorded an event of', async () => {
    const { keyStore, readModels, engine } = await twoCases();
    const log = auditLog();
    const read = (principal: Principal, caseId: string) =>
      readCaseFile(readModels, caseId, readAs(principal, keyStore, log.sink));

    expect((await read(fieldWorker(staff), 'PP-2020-070'))?.narrative).toBe(narrative);
    const error = await refusal(() => read(fieldWorker(staff), 'PP-2020-071'));
    expect(error.message).toMatch(/not within the principal's own cases; ask a case manager to add you/);
    expect(error.message).not.toContain('colleague');
    // Recording a follow-up brings the case into the team lead's own cases.
    expect((await read(fieldWorker(teamLead), 'PP-2020-070'))?.narrative).toBe(narrative);
    await refusal(() => read(fieldWorker(teamLead), 'PP-2020-071'));
    // Own scope is the default.
    await refusal(() => read({ id: staff, role: 'case-manager' }, 'PP-2020-071'));
    expect(log.entries.map((entry) => [entry.principal.id, entry.action, entry.target])).toEqual([
      [staff, 'case-read', 'case-PP-2020-070'],
      [staff, 'access-denied', 'case-PP-2020-071'],
      [teamLead, 'case-read', 'case-PP-2020-070'],
      [teamLead, 'access-denied', 'case-PP-2020-071'],
      [staff, 'access-denied', 'case-PP-2020-071'],
    ]);
    await engine.stop();
  });

  it('gives a team the cases any of its members recorded', async () => {
    const { keyStore, readModels, engine } = await twoCases();
    const lead: Principal = {
      id: teamLead,
      role: 'case-manager',
      scope: { kind: 'team', members: [colleague] },
    };
    const log = auditLog();
    expect((await readCaseFile(readModels, 'PP-2020-071', readAs(lead, keyStore, log.sink)))?.narrative).toBe(
      'A colleague’s case.',
    );
    // The principal is always one of its team.
    expect((await readCaseFile(readModels, 'PP-2020-070', readAs(lead, keyStore, log.sink)))?.narrative).toBe(
      narrative,
    );
    const outsider: Principal = {
      id: 'st_00000000000000b9',
      role: 'field-worker',
      scope: { kind: 'team', members: [colleague] },
    };
    const error = await refusal(() =>
      readCaseFile(readModels, 'PP-2020-070', readAs(outsider, keyStore, log.sink)),
    );
    expect(error.message).toMatch(/not within the principal's team/);
    expect(log.entries.map((entry) => entry.action)).toEqual(['case-read', 'case-read', 'access-denied']);
    await engine.stop();
  });

  it('refuses a read without a principal or an audit sink, before anything is read', async () => {
    const { keyStore, readModels, engine } = await twoCases();
    const { audit } = readAs(caseManager, keyStore);
    const untyped = readCaseFile as (...args: unknown[]) => Promise<unknown>;
    await expect(untyped(readModels, 'PP-2020-070', { keyStore, audit })).rejects.toThrow(
      /readCaseFile needs principal/,
    );
    await expect(untyped(readModels, 'PP-2020-070', { keyStore, principal: caseManager })).rejects.toThrow(
      /readCaseFile needs audit/,
    );
    await expect(
      untyped(readModels, 'PP-2020-070', {
        keyStore,
        principal: caseManager,
        audit: { programmeId, purpose: 'case-management' },
      }),
    ).rejects.toThrow(/needs audit: \{ sink, programmeId, purpose \}/);
    await expect(
      readCaseFile(readModels, 'PP-2020-070', readAs({ id: 'Sokha', role: 'case-manager' }, keyStore)),
    ).rejects.toThrow(TypeError);
    await expect(readCaseFile(readModels, 'Sokha Chan', readAs(caseManager, keyStore))).rejects.toThrow(
      /not a case number/,
    );
    await engine.stop();
  });
});

describe('the case file, version 2', () => {
  it('lists who recorded each case’s events, sorted and unique, and only for cases it holds', async () => {
    const { events, readModels, engine } = await setUp();
    expect(createCaseFileProjection().version).toBe(2);
    const child = mintPseudonym('child');
    await events.append('case-PP-2020-080', [
      disclosure('PP-2020-080', child, undefined, teamLead),
      RiskAssessed.toNew(
        { caseId: 'PP-2020-080', level: 'high', concerns: ['child-labour'] },
        metadata('2020-03-03T10:00:00+07:00', colleague),
      ),
      CaseReferred.toNew(
        {
          caseId: 'PP-2020-080',
          referralId: 'ref-1',
          service: 'shelter',
          toAgencyRef: 'ag_00000000000000b1',
          consentBasis: { kind: 'given' },
        },
        metadata('2020-03-04T10:00:00+07:00', staff),
      ),
      ServiceDelivered.toNew(
        { caseId: 'PP-2020-080', service: 'shelter', deliveredOn: '2020-03-05' },
        metadata('2020-03-05T10:00:00+07:00', colleague),
      ),
      CaseFollowedUp.toNew(
        { caseId: 'PP-2020-080', followedUpOn: '2020-03-10', kind: 'phone' },
        metadata('2020-03-10T10:00:00+07:00', staff),
      ),
    ]);
    // Events of a case the file never saw disclosed add no case.
    const last = await events.append('case-PP-2020-081', [
      RiskAssessed.toNew(
        { caseId: 'PP-2020-081', level: 'low', concerns: ['neglect'] },
        metadata('2020-03-03T10:00:00+07:00', colleague),
      ),
    ]);
    await engine.waitFor(last.position);
    const document = (await readModels.getDocument('case_file', 'cases', 'PP-2020-080')) as CaseFileDocument;
    expect(document.recordedBy).toEqual([staff, colleague, teamLead]);
    expect(await readModels.getDocument('case_file', 'cases', 'PP-2020-081')).toBeUndefined();
    // A rebuild agrees.
    await engine.rebuild('case_file');
    await engine.waitFor(last.position);
    expect(await readModels.getDocument('case_file', 'cases', 'PP-2020-080')).toEqual(document);
    await engine.stop();
  });

  it('is rebuilt over a version 1 case file, which opens to programme scope only until then', async () => {
    const events = createMemoryEventStore();
    const keyStore = createMemoryKeyStore();
    const store = createProtectedEventStore(events, { keyStore });
    const readModels = createMemoryReadModelStore();
    const current = createCaseFileProjection();
    // Version 1 kept no recordedBy.
    const first: typeof current = {
      ...current,
      version: 1,
      apply: (event, view) =>
        current.apply(event, {
          get: (collection, key) => view.get(collection, key),
          keys: (collection) => view.keys(collection),
          delete: (collection, key) => view.delete(collection, key),
          put: (collection, key, document) => {
            const { recordedBy: _dropped, ...kept } = document as CaseFileDocument;
            view.put(collection, key, collection === 'cases' ? kept : document);
          },
        }),
    };
    const old = createProjectionEngine({ eventStore: events, readModels, projections: [first] });
    await old.start();
    const written = await store.append('case-PP-2020-090', [
      disclosure('PP-2020-090', mintPseudonym('child'), narrative),
    ]);
    await old.waitFor(written.position);
    await old.stop();
    expect(await readModels.getDocument('case_file', 'cases', 'PP-2020-090')).not.toHaveProperty(
      'recordedBy',
    );
    await refusal(() => readCaseFile(readModels, 'PP-2020-090', readAs(fieldWorker(staff), keyStore)));
    expect((await readCaseFile(readModels, 'PP-2020-090', readAs(caseManager, keyStore)))?.narrative).toBe(
      narrative,
    );

    const engine = createProjectionEngine({ eventStore: events, readModels, projections: [current] });
    await engine.start();
    await engine.waitFor(written.position);
    expect(await readModels.getDocument('case_file', 'cases', 'PP-2020-090')).toMatchObject({
      recordedBy: [staff],
    });
    expect(
      (await readCaseFile(readModels, 'PP-2020-090', readAs(fieldWorker(staff), keyStore)))?.narrative,
    ).toBe(narrative);
    await engine.stop();
  });
});
