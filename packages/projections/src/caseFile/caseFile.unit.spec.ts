import {
  createMemoryEventStore,
  createMemoryKeyStore,
  createMemoryReadModelStore,
} from '@lantern/adapters/memory';
import {
  auditStreamOf,
  auditTo,
  CaseClosed,
  CaseDisclosed,
  ChildPlacedSafely,
  createProtectedEventStore,
  eraseChild,
  mintPseudonym,
} from '@lantern/core';
import { describe, expect, it } from 'vitest';
import { createProjectionEngine } from '../engine/projectionEngine.js';
import { type CaseFileDocument, createCaseFileProjection } from './caseFileProjection.js';
import { readCaseFile } from './readCaseFile.js';

const staff = 'st_00000000000000a1';
const collect = async <T>(iterable: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
};
const metadata = (occurredAt: string) => ({ occurredAt, recordedBy: staff });
const narrative = 'He said the man at the market kept his papers.';

const disclosure = (caseId: string, childRef: string, text?: string) =>
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
    metadata('2020-03-02T10:00:00+07:00'),
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

    const file = await readCaseFile(readModels, 'PP-2020-040', { keyStore });
    expect(file).toMatchObject({
      caseId: 'PP-2020-040',
      child,
      status: 'closed',
      narrative,
      placements: [{ placementType: 'kinship', caregiverContact: '+855 97 000 111' }],
    });
    expect(file?.placements[0]).not.toHaveProperty('placementAddress');
    expect(await readCaseFile(readModels, 'PP-2020-999', { keyStore })).toBeUndefined();
    await engine.stop();
  });

  it('records the read in the audit trail when asked, and reads nothing if it cannot', async () => {
    const { events, keyStore, store, readModels, engine } = await setUp();
    const written = await store.append('case-PP-2020-046', [
      disclosure('PP-2020-046', mintPseudonym('child'), narrative),
    ]);
    await engine.waitFor(written.position);
    const audit = {
      sink: auditTo(events),
      programmeId: 'psk-phnom-penh',
      principal: { id: staff, role: 'case-manager' as const },
      purpose: 'case-management' as const,
    };
    expect((await readCaseFile(readModels, 'PP-2020-046', { keyStore, audit }))?.narrative).toBe(narrative);
    const [entry] = await collect(events.readStream(auditStreamOf('psk-phnom-penh')));
    expect(entry?.data).toMatchObject({
      action: 'case-read',
      target: 'case-PP-2020-046',
      principal: { id: staff },
    });
    const failing = { ...audit, sink: () => Promise.reject(new Error('audit store unreachable')) };
    await expect(readCaseFile(readModels, 'PP-2020-046', { keyStore, audit: failing })).rejects.toThrow(
      /unreachable/,
    );
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
        expect((await readCaseFile(readModels, caseId, { keyStore }))?.narrative).toEqual({
          redacted: 'erased',
        });
      }
      expect((await readCaseFile(readModels, 'PP-2020-043', { keyStore }))?.narrative).toBe('Another child.');
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
