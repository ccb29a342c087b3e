import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createSqliteEventStore,
  createSqliteKeyStore,
  createSqliteReadModelStore,
} from '@lantern/adapters/sqlite';
import {
  createProtectedEventStore,
  type EventStore,
  eraseChild,
  type KeyStore,
  mintPseudonym,
  type ReadModelStore,
  type RecordedEvent,
  type SealedField,
} from '@lantern/core';
import {
  builtInIndicators,
  caseFunnel,
  createCaseFileProjection,
  createCaseFunnelProjection,
  createIndicatorProjection,
  createProjectionEngine,
  indicatorTable,
  loadIndicatorData,
  type ProjectionEngine,
  readCaseFile,
} from '@lantern/projections';
import Database from 'better-sqlite3';
import { firstValueFrom, type Subscription, take, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  auditLog,
  caseFileRead,
  caseManager,
  collect,
  disclosure,
  placement,
  programmeId,
  registration,
} from './fixtures.js';

/**
 * Erasure end to end on the embedded default: events, keys and read models in one SQLite file.
 * After `eraseChild`, every byte SQLite keeps on disk for the database (the file, its -wal and
 * -shm) is searched for the child's protected text and for the child's data key in every form it
 * could be written in. Neither may be found, and every way of reading gives `erased`.
 */

const dir = mkdtempSync(join(tmpdir(), 'lantern-erasure-'));
const path = join(dir, 'lantern.db');
const timeZone = 'Asia/Phnom_Penh';

/** Text only this run writes, so that finding it on disk can mean only one thing. */
const marker = (what: string) => `${what}-${randomBytes(8).toString('hex')}`;
const narrative = `She was sold to a brothel by her stepfather; ${marker('NARRATIVE')}.`;
const contact = `Grandmother ${marker('CONTACT')}, +855 12 000 111`;
const address = `Phum 3, Sangkat Stung Mean Chey, ${marker('ADDRESS')}`;
const otherNarrative = `Another child's account, ${marker('KEPT')}.`;

const bytesOnDisk = (): Buffer =>
  Buffer.concat(
    ['', '-wal', '-shm'].map((suffix) => {
      try {
        return readFileSync(path + suffix);
      } catch {
        return Buffer.alloc(0);
      }
    }),
  );

/** A key as it could be written anywhere: raw, base64, base64url and hex in either case. */
const keyForms = (key: Buffer): Buffer[] => [
  key,
  Buffer.from(key.toString('base64')),
  Buffer.from(key.toString('base64url')),
  Buffer.from(key.toString('hex')),
  Buffer.from(key.toString('hex').toUpperCase()),
];

const textForms = (text: string): Buffer[] => [
  Buffer.from(text, 'utf8'),
  // JSON escapes the apostrophe in none of them, but a UTF-16 copy would still be a copy.
  Buffer.from(text, 'utf16le'),
];

const found = (disk: Buffer, needles: Buffer[]): boolean => needles.some((needle) => disk.includes(needle));

describe('erasing a child from the embedded SQLite file', () => {
  const child = mintPseudonym('child');
  const other = mintPseudonym('child');
  let events: EventStore;
  let keyStore: KeyStore;
  let store: EventStore;
  let readModels: ReadModelStore;
  let engine: ProjectionEngine;
  let childKey: Buffer;
  /** The ciphertexts that held the child's protected fields, as the log keeps them. */
  let sealedOfChild: string[];
  let live: RecordedEvent[];
  let liveSubscription: Subscription;
  const indicators = createIndicatorProjection({ indicators: builtInIndicators, timeZone });
  const projections = [createCaseFileProjection(), indicators, createCaseFunnelProjection({ timeZone })];

  const counts = async () => {
    const data = await loadIndicatorData(readModels, indicators);
    const value = (indicator: string) =>
      indicatorTable(indicators, data, { principal: caseManager, indicator }).rows[0]?.actual ?? 0;
    return {
      casesDisclosed: value('cases-disclosed'),
      placedInFamily: value('children-placed-family-care'),
      funnel: await caseFunnel(readModels, { principal: caseManager }),
    };
  };
  let before: Awaited<ReturnType<typeof counts>>;

  const lastPosition = async () => (await collect(events.readAll())).at(-1)?.position ?? 0n;
  /** Case files are read by a case manager with programme scope, every read audited here. */
  const audit = auditLog();
  const readFile = (caseId: string) => readCaseFile(readModels, caseId, caseFileRead(keyStore, audit.sink));

  beforeAll(async () => {
    events = createSqliteEventStore({ path });
    keyStore = createSqliteKeyStore({ path });
    store = createProtectedEventStore(events, { keyStore });
    readModels = createSqliteReadModelStore({ path });
    // Projections read the log as stored: the case file keeps sealed values, never plaintext.
    engine = createProjectionEngine({ eventStore: events, readModels, projections });
    await engine.start();
    live = [];
    liveSubscription = store.subscribe().subscribe((event) => live.push(event));

    await store.append(`child-${child}`, [registration(child)]);
    await store.append(`child-${other}`, [registration(other)]);
    await store.append('case-PP-2020-050', [
      disclosure('PP-2020-050', child, narrative),
      placement('PP-2020-050', child, { caregiverContact: contact, placementAddress: address }),
    ]);
    await store.append('case-PP-2020-051', [disclosure('PP-2020-051', other, otherNarrative)]);
    await engine.waitFor(await lastPosition());

    const lookup = await keyStore.get(child);
    if (lookup.status !== 'active') throw new Error('the child has no key to erase');
    childKey = Buffer.from(lookup.key);
    sealedOfChild = (await collect(events.readAll()))
      .filter((e) => (e.data as { childRef?: string }).childRef === child)
      .flatMap((e) => Object.values(e.data as Record<string, unknown>))
      .filter((value): value is SealedField => typeof value === 'object' && value !== null && 'ct' in value)
      .map((sealed) => sealed.ct);
    before = await counts();
  });

  afterAll(async () => {
    liveSubscription?.unsubscribe();
    await engine?.stop();
    await readModels?.close();
    await keyStore?.close();
    await events?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('never writes protected text to disk, even before erasure, and the scan can find the key', async () => {
    const disk = bytesOnDisk();
    for (const text of [narrative, contact, address, otherNarrative])
      expect(found(disk, textForms(text))).toBe(false);
    // The scan works: before erasure the key is there to be found.
    expect(found(disk, keyForms(childKey))).toBe(true);
    expect(before.casesDisclosed).toBe(2);
    const file = await readFile('PP-2020-050');
    expect(file?.narrative).toBe(narrative);
    expect(file?.placements[0]).toMatchObject({ caregiverContact: contact, placementAddress: address });
    expect(audit.entries.at(-1)).toMatchObject({
      action: 'case-read',
      target: 'case-PP-2020-050',
      principal: { id: caseManager.id, role: 'case-manager' },
    });
  });

  it('leaves neither the child’s text nor their key anywhere in the file, its WAL or its shared memory', async () => {
    await eraseChild(child, { eventStore: store, keyStore, programmeId, requestedBy: caseManager });
    await engine.waitFor(await lastPosition());

    const scan = () => {
      const disk = bytesOnDisk();
      for (const text of [narrative, contact, address]) expect(found(disk, textForms(text))).toBe(false);
      expect(found(disk, keyForms(childKey))).toBe(false);
    };
    scan();
    // The case file no longer holds the sealed copies either (the log keeps them, unreadable).
    const analyst = new Database(path, { readonly: true });
    try {
      const caseFile = JSON.stringify(analyst.prepare('SELECT key, doc FROM case_file__cases').all());
      expect(sealedOfChild).toHaveLength(3);
      for (const ct of sealedOfChild) expect(caseFile).not.toContain(ct);
      expect(caseFile).toContain('PP-2020-050');
    } finally {
      analyst.close();
    }
    // What the projections commit after the erasure writes no copy back either.
    await store.append('case-PP-2020-052', [disclosure('PP-2020-052', other)]);
    await engine.waitFor(await lastPosition());
    scan();
  });

  it('gives erased through the store, a new subscription, the live one and the case file', async () => {
    const byCase = (list: RecordedEvent[], caseId: string, type: string) =>
      list.find((e) => e.type === type && (e.data as { caseId?: string }).caseId === caseId)?.data as
        | Record<string, unknown>
        | undefined;
    const read = await collect(store.readAll());
    expect(byCase(read, 'PP-2020-050', 'CaseDisclosed')?.narrative).toEqual({ redacted: 'erased' });
    expect(byCase(read, 'PP-2020-050', 'ChildPlacedSafely')).toMatchObject({
      caregiverContact: { redacted: 'erased' },
      placementAddress: { redacted: 'erased' },
    });
    expect(byCase(read, 'PP-2020-051', 'CaseDisclosed')?.narrative).toBe(otherNarrative);

    const stream = await collect(store.readStream('case-PP-2020-050'));
    expect(stream[0]?.data).toHaveProperty('narrative', { redacted: 'erased' });

    const replayed = await firstValueFrom(store.subscribe().pipe(take(read.length), toArray()));
    expect(byCase(replayed, 'PP-2020-050', 'CaseDisclosed')?.narrative).toEqual({ redacted: 'erased' });
    // The live subscription saw the text when it was recorded (it was allowed to), then the erasure.
    expect(live.map((e) => e.type)).toContain('ChildDataErased');

    const file = await readFile('PP-2020-050');
    expect(file).toMatchObject({
      child,
      narrative: { redacted: 'erased' },
      placements: [{ caregiverContact: { redacted: 'erased' }, placementAddress: { redacted: 'erased' } }],
    });
    expect((await readFile('PP-2020-051'))?.narrative).toBe(otherNarrative);
  });

  it('keeps every count: erasure removes what was said, not that it happened', async () => {
    const after = await counts();
    expect(after.casesDisclosed).toBe(before.casesDisclosed + 1); // PP-2020-052, recorded after
    expect(after.placedInFamily).toBe(before.placedInFamily);
    expect(
      after.funnel.flatMap((row) => row.steps.filter((s) => s.stage === 'placed').map((s) => s.cases)),
    ).toEqual(
      before.funnel.flatMap((row) => row.steps.filter((s) => s.stage === 'placed').map((s) => s.cases)),
    );
    expect((await readModels.documents('case_file', 'cases')).map((row) => row.key)).toEqual([
      'PP-2020-050',
      'PP-2020-051',
      'PP-2020-052',
    ]);
  });

  it('stays clean once every connection is closed and the file is opened again', async () => {
    await engine.stop();
    await readModels.close();
    await keyStore.close();
    await events.close();
    const disk = bytesOnDisk();
    for (const text of [narrative, contact, address]) expect(found(disk, textForms(text))).toBe(false);
    expect(found(disk, keyForms(childKey))).toBe(false);

    events = createSqliteEventStore({ path });
    keyStore = createSqliteKeyStore({ path });
    readModels = createSqliteReadModelStore({ path });
    engine = createProjectionEngine({ eventStore: events, readModels, projections });
    store = createProtectedEventStore(events, { keyStore });
    const read = await collect(store.readStream('case-PP-2020-050'));
    expect(read[0]?.data).toHaveProperty('narrative', { redacted: 'erased' });
    expect(await keyStore.get(child)).toMatchObject({ status: 'erased' });
  });
});
