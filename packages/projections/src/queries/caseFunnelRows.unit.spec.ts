import { createMemoryEventStore, createMemoryReadModelStore } from '@lantern/adapters/memory';
import type { EventStore, Principal } from '@lantern/core';
import {
  caseDisclosedData,
  catalogEvent,
  childRegisteredData,
  reportingWithdrawnData,
} from '@lantern/core/testing';
import { describe, expect, it } from 'vitest';
import { createProjectionEngine } from '../engine/projectionEngine.js';
import { createCaseFunnelProjection, releaseCaseFunnel } from './caseFunnel.js';

const donor: Principal = { id: 'dn_00000000000000b1', role: 'donor' };
const staff = 'st_00000000000000a1';
const refOf = (n: number) => `ch_${String(n).padStart(16, '0')}`;
const metadata = (occurredAt: string) => ({ occurredAt, recordedBy: staff });

/** Case `n`, about a child who may be reported, disclosed on the 15th of `month` (2020). */
const disclose = async (store: EventStore, n: number, month: string) => {
  const childRef = refOf(n);
  const caseId = `PP-2020-${String(n).padStart(3, '0')}`;
  const at = `${month}-15T10:00:00+07:00`;
  await store.append(`child-${childRef}`, [
    catalogEvent(
      'ChildRegistered',
      childRegisteredData({ childRef, sex: 'female', ageBand: '12-17', area: 'KH-12-06' }),
      metadata(at),
    ),
  ]);
  await store.append(`case-${caseId}`, [
    catalogEvent(
      'CaseDisclosed',
      caseDisclosedData({ caseId, childRef, sex: 'female', ageBand: '12-17', area: 'KH-12-06' }),
      metadata(at),
    ),
  ]);
};

const withdraw = (store: EventStore, n: number) =>
  store.append(`child-${refOf(n)}`, [
    catalogEvent('ConsentChanged', reportingWithdrawnData(refOf(n)), metadata('2020-06-01T10:00:00+07:00')),
  ]);

const funnelOf = async () => {
  const store = createMemoryEventStore();
  const readModels = createMemoryReadModelStore();
  const engine = createProjectionEngine({
    eventStore: store,
    readModels,
    projections: [createCaseFunnelProjection({ timeZone: 'Asia/Phnom_Penh' })],
  });
  await engine.start();
  const settle = async () => {
    let last = 0n;
    for await (const event of store.readAll()) last = event.position;
    await engine.waitFor(last);
  };
  /** The donor's funnel by month to March 2020: each row's period and disclosed cases. */
  const donorRows = async () =>
    (
      await releaseCaseFunnel(readModels, {
        audience: 'donor',
        principal: donor,
        period: 'month',
        to: '2020-03',
      })
    ).map((row) => [row.period, row.steps[0]?.cases]);
  return { store, engine, settle, donorRows };
};

describe("the case funnel's rows outside the programme", () => {
  it('keep the month of a child whose consent was withdrawn since, as it went out', async () => {
    const { store, engine, settle, donorRows } = await funnelOf();
    for (let n = 1; n <= 6; n += 1) await disclose(store, n, '2020-01');
    await disclose(store, 7, '2020-02'); // February's only case
    await settle();
    const first = await donorRows();
    expect(first.map(([period]) => period)).toEqual(['2020-01', '2020-02', '2020-03', 'total']);
    await withdraw(store, 7);
    await settle();
    // Had February's row gone, the donor would know its child's consent was withdrawn.
    expect(await donorRows()).toEqual(first);
    await engine.stop();
  });

  it('give a month with no cases when it went out as it did, a case of it recorded late since', async () => {
    const { store, engine, settle, donorRows } = await funnelOf();
    for (let n = 1; n <= 6; n += 1) {
      await disclose(store, n, '2020-01');
      await disclose(store, 10 + n, '2020-03');
    }
    await settle();
    const first = await donorRows();
    expect(first).toEqual([
      ['2020-01', { value: 6 }],
      ['2020-02', { value: 0 }],
      ['2020-03', { value: 6 }],
      ['total', { value: 12 }],
    ]);
    await disclose(store, 7, '2020-02'); // recorded late
    await settle();
    // Had February's row come only now, the donor would know a case of it was recorded late.
    expect(await donorRows()).toEqual(first);
    await engine.stop();
  });
});
