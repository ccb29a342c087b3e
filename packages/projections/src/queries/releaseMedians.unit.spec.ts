import { createMemoryEventStore, createMemoryReadModelStore } from '@lantern/adapters/memory';
import type { NewEvent, Principal } from '@lantern/core';
import {
  caseDisclosedData,
  catalogEvent,
  childRegisteredData,
  reportingWithdrawnData,
} from '@lantern/core/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createProjectionEngine } from '../engine/projectionEngine.js';
import { createIndicatorProjection } from '../indicators/indicatorProjection.js';
import { createCaseFunnelProjection, releaseCaseFunnel } from './caseFunnel.js';
import { indicatorTable, loadIndicatorData } from './indicatorValues.js';
import { medianOf } from './median.js';
import { releaseIndicator } from './recordedRelease.js';
import type { ReleasedIndicator, ReleaseRequest } from './releaseIndicator.js';
import { releaseRegisterName } from './releaseRegister.js';

/**
 * Medians released outside the programme: by areas no finer than the audience may see, and, for
 * a period that has ended, as they first went out, whatever was recorded of it since.
 */

const staff = 'st_00000000000000a1';
const analyst: Principal = { id: 'st_00000000000000e1', role: 'analyst', scope: { kind: 'programme' } };
const donor: Principal = { id: 'dn_00000000000000a1', role: 'donor' };

/** Days from a case's disclosure to its first follow-up, placed in the month of the follow-up. */
const projection = createIndicatorProjection({
  timeZone: 'Asia/Phnom_Penh',
  indicators: [
    {
      id: 'median-days-to-follow-up',
      title: 'Median days from disclosure to first follow-up',
      unit: 'days',
      measure: 'unit',
      ascending: false,
      definition: {
        filter: { eventTypes: ['CaseDisclosed', 'CaseFollowedUp'] },
        value: {
          kind: 'medianDays',
          by: 'data.caseId',
          from: { eventType: 'CaseDisclosed' },
          to: { eventType: 'CaseFollowedUp', dateField: 'data.followedUpOn' },
        },
        dimensions: ['data.area'],
        // About the case's child: counted only while the child's consent allows reporting.
        about: { child: 'data.childRef' },
      },
    },
  ],
});

let cases = 0;
/** A case disclosed in `area` on `day` and followed up `days` later. */
const followedUp = (area: string, day: string, days: number): [string, NewEvent[]] => {
  cases += 1;
  const caseId = `PP-2020-${String(cases).padStart(3, '0')}`;
  const on = `${day}T10:00:00+07:00`;
  const followUp = new Date(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
  const childRef = `ch_${String(cases).padStart(16, '0')}`;
  return [
    `case-${caseId}`,
    [
      // Registered with consent to report: the funnel counts only such children.
      catalogEvent(
        'ChildRegistered',
        childRegisteredData({ childRef, sex: 'female', ageBand: '12-17', area }),
        {
          occurredAt: on,
          recordedBy: staff,
        },
      ),
      catalogEvent(
        'CaseDisclosed',
        caseDisclosedData({ caseId, childRef, sex: 'female', ageBand: '12-17', area }),
        { occurredAt: on, recordedBy: staff },
      ),
      catalogEvent(
        'CaseFollowedUp',
        { caseId, followedUpOn: followUp, kind: 'home-visit' },
        { occurredAt: `${followUp}T10:00:00+07:00`, recordedBy: staff },
      ),
    ],
  ];
};

const stores = () => {
  const eventStore = createMemoryEventStore();
  const readModels = createMemoryReadModelStore();
  const catchUp = async (appended: readonly [string, NewEvent[]][]) => {
    let last = 0n;
    for (const [stream, events] of appended) last = (await eventStore.append(stream, events)).position;
    const engine = createProjectionEngine({
      eventStore,
      readModels,
      projections: [projection, createCaseFunnelProjection({ timeZone: 'Asia/Phnom_Penh' })],
    });
    await engine.start();
    await engine.waitFor(last);
    await engine.stop();
  };
  /** A release to a donor from the read models as they are now, as a later report would be made. */
  const release = async (
    request: Omit<ReleaseRequest, 'indicator' | 'audience' | 'principal'>,
    audience: 'donor' | 'public' = 'donor',
  ) =>
    releaseIndicator(projection, await loadIndicatorData(readModels, projection), {
      indicator: 'median-days-to-follow-up',
      audience,
      principal: donor,
      ...request,
    });
  const internal = async (request: { period: 'quarter' | 'life'; by?: string[] }) =>
    indicatorTable(projection, await loadIndicatorData(readModels, projection), {
      principal: analyst,
      indicator: 'median-days-to-follow-up',
      ...request,
    }).rows.map((row) => [row.period.label, row.dims['data.area'] ?? 'all', row.actual]);
  return { readModels, catchUp, release, internal };
};

const figures = (released: ReleasedIndicator) =>
  released.rows.map((row) => [row.period, row.dims['data.area'] ?? 'all', row.actual]);

/** The child of a case made by `followedUp` withdraws consent to reporting. */
const withdrawn = ([, events]: [string, NewEvent[]]): [string, NewEvent[]] => {
  const { childRef } = (events[0] as NewEvent).data as { childRef: string };
  return [
    `child-${childRef}`,
    [
      catalogEvent('ConsentChanged', reportingWithdrawnData(childRef), {
        occurredAt: '2020-06-01T10:00:00+07:00',
        recordedBy: staff,
      }),
    ],
  ];
};

/** Follow-ups in the first days of a month of 2020, `days` after their disclosure each. */
const inMonth = (area: string, month: string, days: readonly number[]) =>
  days.map((n, i) => followedUp(area, `${month}-0${1 + (i % 9)}`, n));

describe('medians released outside the programme', () => {
  it('go out by areas no finer than the audience may see, each taken over every case under its area', async () => {
    const { catchUp, release, internal } = stores();
    // Two communes of one province, and three cases in another province.
    await catchUp([
      ...inMonth('KH-12-06-01', '2020-02', [1, 2, 3]),
      ...inMonth('KH-12-06-02', '2020-02', [10, 11, 12, 13]),
      ...inMonth('KH-03-01-01', '2020-02', [4, 5, 6]),
    ]);
    // The programme's staff see each commune.
    expect(await internal({ period: 'quarter', by: ['data.area'] })).toEqual([
      ['2020-Q1', 'KH-03-01-01', 5],
      ['2020-Q1', 'KH-12-06-01', 2],
      ['2020-Q1', 'KH-12-06-02', 11.5],
    ]);
    // A donor sees provinces: the median of the seven cases in KH-12 (not the 6.75 between its
    // communes' medians), and none over the three in KH-03.
    const released = await release({ period: 'quarter', by: ['data.area'], to: '2020-03' });
    expect(figures(released)).toEqual([
      ['2020-Q1', 'KH-03', { value: null, suppressed: 'few-observations' }],
      ['2020-Q1', 'KH-12', { value: 10 }],
    ]);
  });

  it('go out by province as the median of every case in it, and over enough cases only (property)', async () => {
    const communes = ['KH-12-06-01', 'KH-12-06-02', 'KH-12-09-01', 'KH-03-01-01', 'KH-03-02-04'];
    const record = fc.record({
      commune: fc.integer({ min: 0, max: communes.length - 1 }),
      month: fc.constantFrom('2020-01', '2020-02', '2020-03'),
      days: fc.integer({ min: 0, max: 40 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(record, { minLength: 1, maxLength: 30 }), async (records) => {
        const { catchUp, release } = stores();
        await catchUp(
          records.map((r, i) =>
            followedUp(
              communes[r.commune] as string,
              `${r.month}-${String(1 + (i % 20)).padStart(2, '0')}`,
              r.days,
            ),
          ),
        );
        // What a donor may see, worked out apart: each follow-up in the month it fell in, by province.
        const byProvince = new Map<string, number[]>();
        for (const [i, r] of records.entries()) {
          const disclosedOn = Date.parse(`${r.month}-${String(1 + (i % 20)).padStart(2, '0')}T00:00:00Z`);
          const quarter = new Date(disclosedOn + r.days * 86_400_000).toISOString().slice(0, 7) <= '2020-03';
          if (!quarter) continue;
          const province = (communes[r.commune] as string).slice(0, 5);
          byProvince.set(province, [...(byProvince.get(province) ?? []), r.days]);
        }
        const expected = [...byProvince]
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([province, days]) => [
            '2020-Q1',
            province,
            days.length >= 5 ? { value: medianOf(days) } : { value: null, suppressed: 'few-observations' },
          ]);
        const released = await release({
          period: 'quarter',
          by: ['data.area'],
          from: '2020-01',
          to: '2020-03',
        });
        expect(figures(released)).toEqual(expected);
      }),
      { numRuns: 15 },
    );
  });

  it('give a period that has ended again as it went out, though a case of it was recorded late', async () => {
    const { readModels, catchUp, release, internal } = stores();
    await catchUp(inMonth('KH-12-06-01', '2020-02', [1, 2, 3, 4, 5]));
    const first = await release({ period: 'quarter', to: '2020-03' });
    expect(figures(first)).toEqual([['2020-Q1', 'all', { value: 3 }]]);

    // A follow-up of March recorded late, after 20 days, and the second quarter.
    await catchUp([
      followedUp('KH-12-06-01', '2020-03-02', 20),
      ...inMonth('KH-12-06-01', '2020-05', [7, 8, 9, 10, 11]),
    ]);
    expect(await internal({ period: 'quarter' })).toEqual([
      ['2020-Q1', 'all', 3.5],
      ['2020-Q2', 'all', 9],
    ]);
    // Given anew, the first quarter's 3.5 beside the 3 that went out would tell that the late
    // case took more than 3 days.
    const again = await release({ period: 'quarter', to: '2020-06' });
    expect(figures(again)).toEqual([
      ['2020-Q1', 'all', { value: 3 }],
      ['2020-Q2', 'all', { value: 9 }],
    ]);
    // Kept in the register of releases, so another process gives them alike.
    const kept = await readModels.documents(releaseRegisterName, 'periods');
    expect(kept.map((row) => row.key)).toEqual([
      expect.stringMatching(/\|median-days-to-follow-up\|5\|1\|month\|quarter\|\|2020-Q1$/),
      expect.stringMatching(/\|median-days-to-follow-up\|5\|1\|month\|quarter\|\|2020-Q2$/),
    ]);
  });

  it('bind a period that had not ended by the median it gave, but not by one hidden over too few', async () => {
    const { catchUp, release } = stores();
    await catchUp(inMonth('KH-12-06-01', '2020-02', [1, 2, 3]));
    // Three cases: hidden, so it gave nothing away.
    expect(figures(await release({ period: 'life', to: '2020-03' }))).toEqual([
      ['life', 'all', { value: null, suppressed: 'few-observations' }],
    ]);
    await catchUp(inMonth('KH-12-06-01', '2020-03', [4, 5]));
    expect(figures(await release({ period: 'life', to: '2020-03' }))).toEqual([
      ['life', 'all', { value: 3 }],
    ]);
    // The same again is given again.
    expect(figures(await release({ period: 'life', to: '2020-03' }))).toEqual([
      ['life', 'all', { value: 3 }],
    ]);
    // A late case moves it: beside the 3 that went out, 3.5 would tell the case took more.
    await catchUp([followedUp('KH-12-06-01', '2020-03-05', 9)]);
    await expect(release({ period: 'life', to: '2020-03' })).rejects.toThrow(
      /The median "median-days-to-follow-up" by life for life went outside the programme before, and its figures have changed since/,
    );
  });

  it('of the case funnel give a period that has ended as it went out, and bind the life of the programme', async () => {
    // The funnel from read models of its own: beside the indicators about cases it would be refused.
    const { readModels, catchUp } = stores();
    const funnel = async (period: 'quarter' | 'life', to: string) =>
      (await releaseCaseFunnel(readModels, { audience: 'donor', principal: donor, period, to }))
        .filter((row) => row.period !== 'total')
        .map((row) => [row.period, row.steps[1]?.cases, row.steps[1]?.medianDaysFromPrevious]);
    await catchUp(inMonth('KH-12-06-01', '2020-02', [1, 2, 3, 4, 5]));
    expect(await funnel('quarter', '2020-03')).toEqual([['2020-Q1', { value: 5 }, { value: 3 }]]);
    expect(await funnel('life', '2020-03')).toEqual([['life', { value: 5 }, { value: 3 }]]);

    // A case of February followed up after 20 days, recorded late.
    await catchUp([followedUp('KH-12-06-01', '2020-02-20', 20)]);
    const internal = await releaseCaseFunnel(readModels, {
      audience: 'internal',
      principal: analyst,
      period: 'quarter',
    });
    expect(internal[0]?.steps[1]?.medianDaysFromPrevious).toEqual({ value: 3.5 });
    // The quarter goes out as it did, its cases and its median.
    expect(await funnel('quarter', '2020-03')).toEqual([['2020-Q1', { value: 5 }, { value: 3 }]]);
    const refused = funnel('life', '2020-03');
    await expect(refused).rejects.toThrow(
      /median days to "followedUp" for life went outside the programme before, and has changed since/,
    );
    // The refusal names neither median: the new one is what it withholds.
    await expect(refused).rejects.not.toThrow(/3\.5|\b3\b/);
  });

  it('refuse a median of a period not ended that went out shown and is hidden now, a consent withdrawn since', async () => {
    const { catchUp, release } = stores();
    const five = inMonth('KH-12-06-01', '2020-02', [1, 2, 3, 4, 5]);
    await catchUp(five);
    expect(figures(await release({ period: 'life', to: '2020-03' }))).toEqual([
      ['life', 'all', { value: 3 }],
    ]);
    // The child of the first case withdraws consent to reporting: four cases are left, too few.
    await catchUp([withdrawn(five[0] as [string, NewEvent[]])]);
    await expect(release({ period: 'life', to: '2020-03' })).rejects.toThrow(
      /The median "median-days-to-follow-up" by life for life went outside the programme before, and its figures have changed since/,
    );
  });

  it('of the case funnel refuse a life median shown before and hidden now, a consent withdrawn since', async () => {
    const { readModels, catchUp } = stores();
    const funnel = async () =>
      (
        await releaseCaseFunnel(readModels, {
          audience: 'donor',
          principal: donor,
          period: 'life',
          to: '2020-03',
        })
      )
        .filter((row) => row.period !== 'total')
        .map((row) => [row.period, row.steps[1]?.cases, row.steps[1]?.medianDaysFromPrevious]);
    const five = inMonth('KH-12-06-01', '2020-02', [1, 2, 3, 4, 5]);
    await catchUp(five);
    expect(await funnel()).toEqual([['life', { value: 5 }, { value: 3 }]]);
    await catchUp([withdrawn(five[0] as [string, NewEvent[]])]);
    await expect(funnel()).rejects.toThrow(
      /median days to "followedUp" for life went outside the programme before, and has changed since/,
    );
  });

  it('refuse a median shown before its period ended and hidden once it has, the indicator and the funnel', async () => {
    const { readModels, catchUp, release } = stores();
    const funnel = async () =>
      (await releaseCaseFunnel(readModels, { audience: 'donor', principal: donor, period: 'quarter' }))
        .filter((row) => row.period === '2020-Q2')
        .map((row) => [row.period, row.steps[1]?.medianDaysFromPrevious]);
    // Five cases of April, the last month recorded: the second quarter has not ended.
    const april = inMonth('KH-12-06-01', '2020-04', [3, 3, 3, 3, 3]);
    await catchUp(april);
    expect(figures(await release({ period: 'quarter' }))).toEqual([['2020-Q2', 'all', { value: 3 }]]);
    expect(await funnel()).toEqual([['2020-Q2', { value: 3 }]]);
    await catchUp([withdrawn(april[0] as [string, NewEvent[]])]);
    // A case of July: the quarter has ended now, with four cases, too few. Kept so, hidden, it
    // would tell the withdrawal beside the 3 that went out.
    await catchUp([followedUp('KH-12-06-01', '2020-07-01', 3)]);
    await expect(release({ period: 'quarter' })).rejects.toThrow(
      /by quarter for 2020-Q2 went outside the programme before, and its figures have changed since/,
    );
    await expect(funnel()).rejects.toThrow(
      /median days to "followedUp" for 2020-Q2 went outside the programme before/,
    );
  });

  it('give the public a median as it went to the donor, who reads both: kept, and bound', async () => {
    const { catchUp, release } = stores();
    await catchUp(inMonth('KH-12-06-01', '2020-02', [1, 2, 3, 4, 5]));
    expect(figures(await release({ period: 'quarter', to: '2020-03' }))).toEqual([
      ['2020-Q1', 'all', { value: 3 }],
    ]);
    expect(figures(await release({ period: 'life', to: '2020-03' }))).toEqual([
      ['life', 'all', { value: 3 }],
    ]);
    // A case of March followed up after 20 days, recorded late.
    await catchUp([followedUp('KH-12-06-01', '2020-03-02', 20)]);
    // The quarter, kept for the donor, goes to the public as it went: 3.5 would tell the late case.
    expect(figures(await release({ period: 'quarter', to: '2020-03' }, 'public'))).toEqual([
      ['2020-Q1', 'all', { value: 3 }],
    ]);
    // The life of the programme, bound by what the donor was shown, is refused to the public too.
    await expect(release({ period: 'life', to: '2020-03' }, 'public')).rejects.toThrow(
      /by life for life went outside the programme before, and its figures have changed since/,
    );
  });

  it('give a median without a breakdown by area alike whatever area level the policy has', async () => {
    const { catchUp, release } = stores();
    await catchUp(inMonth('KH-12-06-01', '2020-02', [1, 2, 3, 4, 5]));
    const quarter = { period: 'quarter', to: '2020-03' } as const;
    expect(figures(await release({ ...quarter, policy: { areaLevel: 2 } }))).toEqual([
      ['2020-Q1', 'all', { value: 3 }],
    ]);
    await catchUp([followedUp('KH-12-06-01', '2020-03-02', 20)]);
    // The donor at districts, the donor by default and the public: one figure, as it went out.
    expect(figures(await release(quarter))).toEqual([['2020-Q1', 'all', { value: 3 }]]);
    expect(figures(await release(quarter, 'public'))).toEqual([['2020-Q1', 'all', { value: 3 }]]);
  });
});
