import { createMemoryEventStore, createMemoryReadModelStore } from '@lantern/adapters/memory';
import { isAccessDeniedError, isDisclosureError, type NewEvent, type Principal } from '@lantern/core';
import { catalogEvent } from '@lantern/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { createProjectionEngine } from '../engine/projectionEngine.js';
import { builtInIndicators } from '../indicators/builtInIndicators.js';
import { createIndicatorProjection } from '../indicators/indicatorProjection.js';
import { type IndicatorData, loadIndicatorData } from './indicatorValues.js';
import { releaseIndicator } from './releaseIndicator.js';

/**
 * Sixteen cases: in January 6 girls (commune KH-12-06-01) and 2 boys (KH-12-06-02), in February
 * 7 girls and 1 boy (KH-12-09-01). Boys' counts are small, so a donor must not see them, nor
 * be able to work them out from the totals.
 */
const staff = 'st_00000000000000a1';
const analyst: Principal = { id: 'st_00000000000000e1', role: 'analyst', scope: { kind: 'programme' } };
const donor: Principal = { id: 'dn_00000000000000a1', role: 'donor' };
const service: Principal = { id: 'svc-sync-server', role: 'service' };
const event = (type: string, data: Record<string, unknown>, occurredAt: string): NewEvent =>
  catalogEvent(type, data, { occurredAt, recordedBy: staff });
const cases: [month: string, sex: 'female' | 'male', area: string, count: number][] = [
  ['2020-01', 'female', 'KH-12-06-01', 6],
  ['2020-01', 'male', 'KH-12-06-02', 2],
  ['2020-02', 'female', 'KH-12-09-01', 7],
  ['2020-02', 'male', 'KH-12-09-01', 1],
];
const truth: Record<string, number> = {
  '2020-01|female': 6,
  '2020-01|male': 2,
  '2020-02|female': 7,
  '2020-02|male': 1,
};

describe('indicator values released to an audience', () => {
  const projection = createIndicatorProjection({
    indicators: builtInIndicators,
    timeZone: 'Asia/Phnom_Penh',
  });
  let data: IndicatorData;

  beforeAll(async () => {
    const store = createMemoryEventStore();
    let n = 0;
    let last = 0n;
    for (const [month, sex, area, count] of cases) {
      for (let i = 0; i < count; i += 1) {
        n += 1;
        const childRef = `ch_${String(n).padStart(16, '0')}`;
        const caseId = `PP-2020-${String(n).padStart(3, '0')}`;
        const on = `${month}-1${i % 9}T10:00:00+07:00`;
        await store.append(`child-${childRef}`, [
          event(
            'ChildRegistered',
            {
              programmeId: 'pp',
              childRef,
              sex,
              ageBand: '12-17',
              area,
              identifiedVia: 'outreach',
              consent: { services: true, reporting: true, tracing: false, sharing: [] },
              consentGivenBy: 'caregiver',
              legalBasis: 'consent',
            },
            on,
          ),
        ]);
        last = (
          await store.append(`case-${caseId}`, [
            event(
              'CaseDisclosed',
              {
                programmeId: 'pp',
                caseId,
                childRef,
                sex,
                ageBand: '12-17',
                area,
                concerns: ['neglect'],
                disclosedVia: 'outreach',
              },
              on,
            ),
          ])
        ).position;
      }
    }
    const readModels = createMemoryReadModelStore();
    const engine = createProjectionEngine({ eventStore: store, readModels, projections: [projection] });
    await engine.start();
    await engine.waitFor(last);
    await engine.stop();
    data = await loadIndicatorData(readModels, projection);
  });

  it('gives the programme its exact figures', () => {
    const released = releaseIndicator(projection, data, {
      indicator: 'cases-disclosed',
      period: 'month',
      by: ['data.sex'],
      audience: 'internal',
      principal: analyst,
    });
    expect(released.rows.map((r) => [r.period, r.dims['data.sex'], r.actual])).toEqual([
      ['2020-01', 'female', { value: 6 }],
      ['2020-01', 'male', { value: 2 }],
      ['2020-02', 'female', { value: 7 }],
      ['2020-02', 'male', { value: 1 }],
    ]);
    expect(released.suppression).toEqual({ primary: 0, secondary: 0 });
  });

  it('hides small counts from a donor, and enough besides that none can be worked back', () => {
    const released = releaseIndicator(projection, data, {
      indicator: 'cases-disclosed',
      period: 'month',
      by: ['data.sex'],
      audience: 'donor',
      principal: donor,
    });
    for (const row of released.rows) {
      const expected = truth[`${row.period}|${row.dims['data.sex']}`];
      if (row.dims['data.sex'] === 'male') expect(row.actual).toEqual({ value: '<5', suppressed: 'primary' });
      else if (!('suppressed' in row.actual)) expect(row.actual.value).toBe(expected);
    }
    // Boys' total over both months (3) is small too, and the girls' cells or the monthly totals
    // must not give the boys' counts away: January's total minus 6 girls would be 2 boys.
    const boysTotal = released.totals.find((t) => t.period === 'total' && t.dims['data.sex'] === 'male');
    expect(boysTotal?.actual).toEqual({ value: '<5', suppressed: 'primary' });
    for (const month of ['2020-01', '2020-02']) {
      const girls = released.rows.find((r) => r.period === month && r.dims['data.sex'] === 'female');
      const total = released.totals.find((t) => t.period === month && t.dims['data.sex'] === undefined);
      expect('suppressed' in (girls?.actual ?? {}) || 'suppressed' in (total?.actual ?? {})).toBe(true);
    }
    expect(released.suppression?.secondary).toBeGreaterThan(0);
  });

  it('coarsens areas for a donor to the policy level, adding up the communes', () => {
    const released = releaseIndicator(projection, data, {
      indicator: 'cases-disclosed',
      period: 'life',
      by: ['data.area'],
      audience: 'donor',
      principal: donor,
      policy: { areaLevel: 2 },
    });
    expect(released.rows.map((r) => [r.dims['data.area'], r.actual])).toEqual([
      ['KH-12-06', { value: 8 }],
      ['KH-12-09', { value: 8 }],
    ]);
  });

  it('refuses a donor internal figures before any work, saying which audience to ask for', () => {
    let refusal: unknown;
    try {
      releaseIndicator(projection, data, {
        indicator: 'cases-disclosed',
        audience: 'internal',
        principal: donor,
      });
    } catch (error) {
      refusal = error;
    }
    expect(isAccessDeniedError(refusal)).toBe(true);
    expect((refusal as Error).message).toMatch(/may not read internal figures.*ask for audience "donor"/);
  });

  it('gives the public the country only, by default', () => {
    const released = releaseIndicator(projection, data, {
      indicator: 'cases-disclosed',
      by: ['data.area'],
      audience: 'public',
      principal: service,
    });
    expect(released.rows.map((r) => [r.dims['data.area'], r.actual])).toEqual([['KH', { value: 16 }]]);
  });

  it('refuses a policy finer than the rules allow for an audience outside the programme', () => {
    let refusal: unknown;
    try {
      releaseIndicator(projection, data, {
        indicator: 'cases-disclosed',
        period: 'month',
        audience: 'donor',
        principal: donor,
        policy: { finestPeriod: 'day' },
      });
    } catch (error) {
      refusal = error;
    }
    expect(isDisclosureError(refusal)).toBe(true);
    expect((refusal as Error).message).toMatch(/periods no finer than a month/);
  });
});
