import { createMemoryEventStore, createMemoryReadModelStore } from '@lantern/adapters/memory';
import type { EventStore, Principal, ReadModelStore } from '@lantern/core';
import { catalogEvent, childRegisteredData } from '@lantern/core/testing';
import { describe, expect, it } from 'vitest';
import { createProjectionEngine } from '../engine/projectionEngine.js';
import { createCaseFunnelProjection, releaseCaseFunnel } from './caseFunnel.js';

const donor: Principal = { id: 'dn_00000000000000b1', role: 'donor' };
const analyst: Principal = { id: 'st_00000000000000e1', role: 'analyst', scope: { kind: 'programme' } };
const staff = 'st_00000000000000a1';

/** Appends `count` cases disclosed in January 2020, each about a child who may be reported. */
const disclose = async (store: EventStore, from: number, count: number): Promise<bigint> => {
  let last = 0n;
  for (let n = from; n < from + count; n += 1) {
    const childRef = `ch_${String(n).padStart(16, '0')}`;
    const caseId = `PP-2020-${String(n).padStart(3, '0')}`;
    const metadata = { occurredAt: '2020-01-15T10:00:00+07:00', recordedBy: staff };
    await store.append(`child-${childRef}`, [
      catalogEvent(
        'ChildRegistered',
        childRegisteredData({ childRef, sex: 'female', ageBand: '12-17', area: 'KH-12-06' }),
        metadata,
      ),
    ]);
    const disclosed = catalogEvent(
      'CaseDisclosed',
      {
        programmeId: 'pp',
        caseId,
        childRef,
        sex: 'female',
        ageBand: '12-17',
        area: 'KH-12-06',
        concerns: ['neglect'],
        disclosedVia: 'outreach',
      },
      metadata,
    );
    last = (await store.append(`case-${caseId}`, [disclosed])).position;
  }
  return last;
};

/** The memory store, counting how often the funnel's cases are read. */
const counting = (): { readModels: ReadModelStore; reads: () => number } => {
  const inner = createMemoryReadModelStore();
  let reads = 0;
  const readModels: ReadModelStore = {
    ...inner,
    documents: (projection, collection, query) => {
      if (collection === 'cases') reads += 1;
      return inner.documents(projection, collection, query);
    },
  };
  return { readModels, reads: () => reads };
};

const disclosedIn = async (readModels: ReadModelStore, audience: 'donor' | 'public' = 'donor') => {
  const rows = await releaseCaseFunnel(readModels, { audience, principal: donor, period: 'life' });
  return rows.find((row) => row.period === 'total')?.steps.find((step) => step.stage === 'disclosed')?.cases;
};

describe('releases of the case funnel from one read model', () => {
  it('read the cases and protect them once per checkpoint, and read them again once a commit moves it', async () => {
    const store = createMemoryEventStore();
    const { readModels, reads } = counting();
    const engine = createProjectionEngine({
      eventStore: store,
      readModels,
      projections: [createCaseFunnelProjection({ timeZone: 'Asia/Phnom_Penh' })],
    });
    await engine.start();
    await engine.waitFor(await disclose(store, 1, 6));
    expect(await disclosedIn(readModels)).toEqual({ value: 6 });
    expect(await disclosedIn(readModels)).toEqual({ value: 6 });
    expect(reads()).toBe(1);
    // The funnel has no areas: the public, whose policy differs from the donor's in its areas
    // only, reads the same protection.
    expect(await disclosedIn(readModels, 'public')).toEqual({ value: 6 });
    expect(reads()).toBe(1);
    // Another threshold would be protected on its own, and hide other figures: refused, before
    // anything is read, as the register of releases in these read models says how it went out.
    await expect(
      releaseCaseFunnel(readModels, {
        audience: 'donor',
        principal: donor,
        period: 'life',
        policy: { threshold: 10 },
      }),
    ).rejects.toThrow(/with threshold 5 and periods by month.*with threshold 10.*protected apart/);
    expect(reads()).toBe(1);
    // Five more cases of January committed: the next release reads the cases again, and gives
    // January as it first went out (its vintage), while the programme's staff see all eleven.
    await engine.waitFor(await disclose(store, 7, 5));
    expect(await disclosedIn(readModels)).toEqual({ value: 6 });
    expect(reads()).toBe(2);
    const internal = await releaseCaseFunnel(readModels, {
      audience: 'internal',
      principal: analyst,
      period: 'life',
    });
    expect(internal.find((row) => row.period === 'total')?.steps[0]?.cases).toEqual({ value: 11 });
    await engine.stop();
  });
});
