import { createMemoryEventStore, createMemoryReadModelStore } from '@lantern/adapters/memory';
import type { EventStore, NewEvent, Principal } from '@lantern/core';
import { catalogEvent, childRegisteredData, reportingWithdrawnData } from '@lantern/core/testing';
import { describe, expect, it } from 'vitest';
import { createProjectionEngine } from '../engine/projectionEngine.js';
import { builtInIndicators } from '../indicators/builtInIndicators.js';
import { createIndicatorProjection } from '../indicators/indicatorProjection.js';
import { indicatorTable, loadIndicatorData } from './indicatorValues.js';
import { releaseIndicator } from './recordedRelease.js';
import { releaseRegisterName } from './releaseRegister.js';

const staff = 'st_00000000000000a1';
const donor: Principal = { id: 'dn_00000000000000a1', role: 'donor' };
const analyst: Principal = { id: 'st_00000000000000e1', role: 'analyst', scope: { kind: 'programme' } };
const projection = createIndicatorProjection({ timeZone: 'Asia/Phnom_Penh', indicators: builtInIndicators });
const refOf = (n: number) => `ch_${String(n).padStart(16, '0')}`;
const event = (type: string, data: Record<string, unknown>, occurredAt: string): NewEvent =>
  catalogEvent(type, data, { occurredAt, recordedBy: staff });

/** Children 1..n registered with consent to report, and club c1. */
const programme = async (children: number) => {
  const store = createMemoryEventStore();
  const readModels = createMemoryReadModelStore();
  for (let n = 1; n <= children; n += 1) {
    const childRef = refOf(n);
    await store.append(`child-${childRef}`, [
      event(
        'ChildRegistered',
        childRegisteredData({ childRef, sex: 'female', ageBand: '12-17', area: 'KH-12-06-01' }),
        '2020-01-01T10:00:00+07:00',
      ),
    ]);
  }
  await store.append('club-c1', [
    event(
      'ClubEstablished',
      {
        programmeId: 'pp',
        clubId: 'c1',
        name: 'Club',
        kind: 'kids-club',
        area: 'KH-12-06-01',
        establishedOn: '2020-01-01',
      },
      '2020-01-01T10:00:00+07:00',
    ),
  ]);
  const release = async (
    period: 'month' | 'quarter' | 'year',
    range: { from?: string; to?: string } = { from: '2020-01', to: '2020-12' },
  ) => {
    let last = 0n;
    for await (const recorded of store.readAll()) last = recorded.position;
    const engine = createProjectionEngine({ eventStore: store, readModels, projections: [projection] });
    await engine.start();
    await engine.waitFor(last);
    await engine.stop();
    const data = await loadIndicatorData(readModels, projection);
    const released = await releaseIndicator(projection, data, {
      indicator: 'children-in-clubs',
      period,
      ...range,
      audience: 'donor',
      principal: donor,
    });
    return { rows: released.rows.map((row) => [row.period, row.actual]), data };
  };
  return { store, readModels, release };
};

const session = (store: EventStore, day: string, attendees: readonly number[]) =>
  store.append('club-c1', [
    event(
      'ClubSessionHeld',
      {
        clubId: 'c1',
        heldOn: day,
        activity: 'play',
        attendance: [{ sex: 'female', ageBand: '12-17', count: attendees.length }],
        attendeeRefs: attendees.map(refOf),
      },
      `${day}T10:00:00+07:00`,
    ),
  ]);

const withdraw = (store: EventStore, n: number) =>
  store.append(`child-${refOf(n)}`, [
    event('ConsentChanged', reportingWithdrawnData(refOf(n)), '2021-06-01T10:00:00+07:00'),
  ]);

describe('a count of children counted once, released by one period and later by another', () => {
  it('gives the quarter and the year as they were when its months went out, a consent withdrawn since', async () => {
    const { store, readModels, release } = await programme(7);
    await session(store, '2020-01-05', [1, 2, 3, 4, 5, 6]);
    const months = await release('month');
    expect(months.rows).toEqual([['2020-01', { value: 6 }]]);
    // The quarter and the year that hold January are kept with it, from the same figures.
    const kept = (await readModels.documents(releaseRegisterName, 'periods')).map((row) => row.key);
    for (const period of ['\\|month\\|2020-01', '\\|quarter\\|2020-Q1', '\\|year\\|2020']) {
      expect(kept).toContainEqual(expect.stringMatching(new RegExp(`children-in-clubs\\|.*${period}$`)));
    }

    await withdraw(store, 1);
    // Counted now, the quarter has 5: fewer than January's 6, which would tell a child of January
    // stopped being counted. It goes out as it was when January went out.
    const quarters = await release('quarter');
    expect(
      indicatorTable(projection, quarters.data, {
        indicator: 'children-in-clubs',
        period: 'quarter',
        principal: analyst,
        from: '2020-01',
        to: '2020-03',
      }).rows.map((row) => row.actual),
    ).toEqual([5]);
    expect(quarters.rows).toEqual([['2020-Q1', { value: 6 }]]);
    expect((await release('year')).rows).toEqual([['2020', { value: 6 }]]);
    expect((await release('month')).rows).toEqual(months.rows);
  });

  it('gives the quarter as it was when its months went out, a child of one of them recorded late', async () => {
    const { store, release } = await programme(12);
    await session(store, '2020-01-05', [1, 2, 3, 4, 5, 6]);
    await session(store, '2020-02-05', [1, 2, 3, 4, 5, 6]);
    await session(store, '2020-03-05', [1, 2, 3, 4, 5, 6]);
    const months = await release('month');
    expect(months.rows).toEqual([
      ['2020-01', { value: 6 }],
      ['2020-02', { value: 6 }],
      ['2020-03', { value: 6 }],
    ]);
    // A session of February with a seventh child, recorded late: counted now, the quarter's 7
    // beside three months of the same 6 would tell a child came in late.
    await session(store, '2020-02-20', [7]);
    expect((await release('quarter')).rows).toEqual([['2020-Q1', { value: 6 }]]);
  });

  it('does not keep beside its months a quarter that went out before it ended and has changed since', async () => {
    const { store, release } = await programme(8);
    await session(store, '2020-01-05', [1, 2, 3, 4, 5, 6]);
    await session(store, '2020-04-05', [1, 2, 3, 4, 5, 6]);
    // April is the last month recorded: the second quarter has not ended, and binds by what it gave.
    expect((await release('quarter', {})).rows).toEqual([
      ['2020-Q1', { value: 6 }],
      ['2020-Q2', { value: 6 }],
    ]);
    await withdraw(store, 1);
    await session(store, '2020-05-05', [2, 3, 4, 5, 6]);
    await session(store, '2020-07-05', [2, 3, 4, 5, 6]);
    await expect(release('quarter', {})).rejects.toThrow(/2020-Q2 went outside the programme before/);
    // Its months go out, and the quarter is not kept with them from today's figures: its 5 beside
    // the 6 that went out would tell the withdrawal. It stays refused.
    await release('month', {});
    await expect(release('quarter', {})).rejects.toThrow(/2020-Q2 went outside the programme before/);
  });

  it("keeps with a month no quarter or year that reaches past the release's `to`", async () => {
    const { store, release } = await programme(14);
    await session(store, '2020-01-05', [1, 2, 3, 4, 5, 6]);
    // January, said complete; nothing is said of February or March.
    expect((await release('month', { from: '2020-01', to: '2020-01' })).rows).toEqual([
      ['2020-01', { value: 6 }],
    ]);
    await session(store, '2020-02-05', [7, 8, 9, 10, 11, 12, 13]);
    expect((await release('month', { from: '2020-01', to: '2020-03' })).rows).toEqual([
      ['2020-01', { value: 6 }],
      ['2020-02', { value: 7 }],
    ]);
    // The quarter and the year count February's children: they were not kept when January went out.
    expect((await release('quarter', { from: '2020-01', to: '2020-03' })).rows).toEqual([
      ['2020-Q1', { value: 13 }],
    ]);
    expect((await release('year', { from: '2020-01', to: '2020-12' })).rows).toEqual([
      ['2020', { value: 13 }],
    ]);
  });

  it("keeps a stock's life, quarter and last month as one figure, whichever goes out first", async () => {
    const stock = createIndicatorProjection({
      timeZone: 'Asia/Phnom_Penh',
      name: 'register',
      indicators: [
        {
          id: 'children-on-register',
          title: 'Children on the register',
          unit: 'children',
          measure: 'unit',
          ascending: true,
          definition: {
            filter: { eventTypes: ['ChildRegistered'] },
            value: {
              kind: 'active',
              by: 'data.childRef',
              opens: { eventType: 'ChildRegistered' },
              closes: [],
            },
            about: { child: 'data.childRef' },
          },
        },
      ],
    });
    const { store, readModels } = await programme(6);
    const release = async (period: 'month' | 'quarter' | 'life') => {
      let last = 0n;
      for await (const recorded of store.readAll()) last = recorded.position;
      const engine = createProjectionEngine({ eventStore: store, readModels, projections: [stock] });
      await engine.start();
      await engine.waitFor(last);
      await engine.stop();
      const released = await releaseIndicator(stock, await loadIndicatorData(readModels, stock), {
        indicator: 'children-on-register',
        period,
        from: '2020-01',
        to: '2020-03',
        audience: 'donor',
        principal: donor,
      });
      return released.rows.map((row) => [row.period, row.actual]);
    };
    expect(await release('life')).toEqual([['life', { value: 6 }]]);
    await withdraw(store, 1);
    // The life to March as it went out; March and the first quarter are that figure: counted now,
    // their 5 beside it would tell the withdrawal.
    expect(await release('life')).toEqual([['life', { value: 6 }]]);
    expect((await release('month')).at(-1)).toEqual(['2020-03', { value: 6 }]);
    expect(await release('quarter')).toEqual([['2020-Q1', { value: 6 }]]);
  });
});
