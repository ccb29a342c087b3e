import { randomBytes } from 'node:crypto';
import { createMemoryEventStore, createMemoryKeyStore } from '@lantern/adapters/memory';
import { createPostgresReadModelStore } from '@lantern/adapters/postgres';
import {
  createProtectedEventStore,
  eraseChild,
  mintPseudonym,
  type ReadModelStore,
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
  readCaseFile,
} from '@lantern/projections';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresConnectionString, sql, usePostgresSchema } from '../multiInstance/postgresServer.js';
import {
  auditLog,
  caseFileRead,
  caseManager,
  collect,
  disclosure,
  placement,
  programmeId,
  recordingFieldWorker,
  registration,
} from './fixtures.js';

/**
 * Erasure reaches read models in PostgreSQL, where analysts query them with SQL: after
 * `eraseChild`, every column of every table in the read models' schema is read as text and
 * searched for the child's protected text, their data key and the sealed values that held it.
 */

const { schema } = usePostgresSchema('erasure');
const timeZone = 'Asia/Phnom_Penh';
const marker = (what: string) => `${what}-${randomBytes(8).toString('hex')}`;
const narrative = `He was beaten at the construction site, ${marker('NARRATIVE')}.`;
const contact = `Uncle ${marker('CONTACT')}, +855 16 222 333`;
const otherNarrative = `Another child's account, ${marker('KEPT')}.`;

/** Every value of every column of every table in the schema, as text. */
const everyValue = async (): Promise<string> => {
  const columns = await sql(
    'SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = $1 ORDER BY 1, 2',
    [schema],
  );
  const values: string[] = [];
  for (const { table_name: table, column_name: column } of columns.rows) {
    const rows = await sql(`SELECT "${column}"::text AS value FROM "${schema}"."${table}"`);
    for (const row of rows.rows) values.push(String(row.value));
  }
  expect(columns.rows.length).toBeGreaterThan(0);
  return values.join('\n');
};

describe('erasing a child from read models in PostgreSQL', () => {
  const readModels: ReadModelStore[] = [];
  afterAll(async () => {
    await Promise.all(readModels.map((store) => store.close()));
  });

  it('leaves no text, key or sealed copy of the child in any table, and every count as it was', async () => {
    const events = createMemoryEventStore();
    const keyStore = createMemoryKeyStore();
    const store = createProtectedEventStore(events, { keyStore });
    const pg = createPostgresReadModelStore({ connectionString: postgresConnectionString }, { schema });
    readModels.push(pg);
    const indicators = createIndicatorProjection({ indicators: builtInIndicators, timeZone });
    const engine = createProjectionEngine({
      eventStore: events,
      readModels: pg,
      projections: [createCaseFileProjection(), indicators, createCaseFunnelProjection({ timeZone })],
    });
    await engine.start();
    const lastPosition = async () => (await collect(events.readAll())).at(-1)?.position ?? 0n;
    const counts = async () => {
      const data = await loadIndicatorData(pg, indicators);
      return {
        casesDisclosed: indicatorTable(indicators, data, {
          principal: caseManager,
          indicator: 'cases-disclosed',
        }).rows[0]?.actual,
        funnel: await caseFunnel(pg, { principal: caseManager }),
      };
    };

    const child = mintPseudonym('child');
    const other = mintPseudonym('child');
    await store.append(`child-${child}`, [registration(child)]);
    await store.append(`child-${other}`, [registration(other)]);
    await store.append('case-PP-2020-060', [
      disclosure('PP-2020-060', child, narrative),
      placement('PP-2020-060', child, { caregiverContact: contact }),
    ]);
    await store.append('case-PP-2020-061', [disclosure('PP-2020-061', other, otherNarrative)]);
    await engine.waitFor(await lastPosition());

    const lookup = await keyStore.get(child);
    if (lookup.status !== 'active') throw new Error('the child has no key to erase');
    const key = Buffer.from(lookup.key);
    const sealedOfChild = (await collect(events.readAll()))
      .filter((e) => (e.data as { childRef?: string }).childRef === child)
      .flatMap((e) => ['narrative', 'caregiverContact'].map((f) => (e.data as Record<string, unknown>)[f]))
      .filter((value): value is SealedField => typeof value === 'object' && value !== null)
      .map((sealed) => sealed.ct);
    expect(sealedOfChild).toHaveLength(2);

    const beforeErasure = await everyValue();
    for (const text of [narrative, contact, otherNarrative]) expect(beforeErasure).not.toContain(text);
    // The scan sees what the case file keeps: the sealed copies are there before erasure.
    for (const ct of sealedOfChild) expect(beforeErasure).toContain(ct);
    const before = await counts();
    expect(before.casesDisclosed).toBe(2);

    await eraseChild(child, { eventStore: store, keyStore, programmeId, requestedBy: caseManager });
    await engine.waitFor(await lastPosition());

    const afterErasure = await everyValue();
    for (const text of [narrative, contact]) expect(afterErasure).not.toContain(text);
    for (const form of [key.toString('hex'), key.toString('base64'), key.toString('base64url')]) {
      expect(afterErasure.toLowerCase()).not.toContain(form.toLowerCase());
    }
    for (const ct of sealedOfChild) expect(afterErasure).not.toContain(ct);
    // The other child's sealed narrative is still there, and opens for the field worker who recorded it.
    const audit = auditLog();
    const read = caseFileRead(keyStore, audit.sink, recordingFieldWorker);
    expect((await readCaseFile(pg, 'PP-2020-061', read))?.narrative).toBe(otherNarrative);
    expect(await readCaseFile(pg, 'PP-2020-060', read)).toMatchObject({
      narrative: { redacted: 'erased' },
      placements: [{ caregiverContact: { redacted: 'erased' } }],
    });
    expect(audit.entries.map((entry) => [entry.action, entry.target])).toEqual([
      ['case-read', 'case-PP-2020-061'],
      ['case-read', 'case-PP-2020-060'],
    ]);
    expect(await counts()).toEqual(before);
    await engine.stop();
  });
});
