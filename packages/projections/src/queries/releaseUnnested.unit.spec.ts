import { createMemoryEventStore, createMemoryReadModelStore } from '@lantern/adapters/memory';
import { DisclosureError, type NewEvent, type Principal, type ReadModelStore } from '@lantern/core';
import { caseDisclosedData, catalogEvent, childRegisteredData } from '@lantern/core/testing';
import { describe, expect, it } from 'vitest';
import { createProjectionEngine } from '../engine/projectionEngine.js';
import { builtInIndicators } from '../indicators/builtInIndicators.js';
import { createIndicatorProjection } from '../indicators/indicatorProjection.js';
import { loadIndicatorData } from './indicatorValues.js';
import { releaseIndicator } from './recordedRelease.js';

const staff = 'st_00000000000000a1';
const donor: Principal = { id: 'dn_00000000000000a1', role: 'donor' };
const projection = createIndicatorProjection({ timeZone: 'Asia/Phnom_Penh', indicators: builtInIndicators });

/** January 2020: one girl and five boys disclose; February: six boys. Every case names neglect only. */
const readModelsOfCases = async (projections = [projection]): Promise<ReadModelStore> => {
  const store = createMemoryEventStore();
  const readModels = createMemoryReadModelStore();
  const event = (type: string, data: Record<string, unknown>, occurredAt: string): NewEvent =>
    catalogEvent(type, data, { occurredAt, recordedBy: staff });
  let n = 0;
  let last = 0n;
  for (const [month, sex, count] of [
    ['2020-01', 'female', 1],
    ['2020-01', 'male', 5],
    ['2020-02', 'male', 6],
  ] as const) {
    for (let i = 0; i < count; i += 1) {
      n += 1;
      const childRef = `ch_${String(n).padStart(16, '0')}`;
      const caseId = `PP-2020-${String(n).padStart(3, '0')}`;
      const on = `${month}-1${i}T10:00:00+07:00`;
      const about = { childRef, sex, ageBand: '12-17', area: 'KH-12-06-01' } as const;
      await store.append(`child-${childRef}`, [event('ChildRegistered', childRegisteredData(about), on)]);
      last = (
        await store.append(`case-${caseId}`, [
          event('CaseDisclosed', caseDisclosedData({ caseId, ...about }), on),
        ])
      ).position;
    }
  }
  const engine = createProjectionEngine({ eventStore: store, readModels, projections });
  await engine.start();
  await engine.waitFor(last);
  await engine.stop();
  return readModels;
};

const release = async (readModels: ReadModelStore, indicator: string, by: string[], from = projection) =>
  releaseIndicator(from, await loadIndicatorData(readModels, from), {
    indicator,
    period: 'month',
    by,
    audience: 'public',
    principal: donor,
  });

describe('a count of the elements of a list its events hold, beside a count of those events', () => {
  it('is refused outside the programme from the read models the other went out from', async () => {
    const readModels = await readModelsOfCases();
    const bySex = await release(readModels, 'cases-disclosed', ['data.sex']);
    // January's girl is "<5", and January's total is hidden to protect her.
    expect(bySex.rows.find((r) => r.period === '2020-01' && r.dims['data.sex'] === 'female')?.actual).toEqual(
      {
        value: '<5',
        suppressed: 'primary',
      },
    );
    // By concern, January would read neglect 6 of 6 mentions; a case names one concern at least
    // and none twice, so January had 6 cases, 5 of them boys: the girl would be worked out.
    const refused = release(readModels, 'cases-disclosed-by-concern', ['item']);
    await expect(refused).rejects.toBeInstanceOf(DisclosureError);
    await expect(refused).rejects.toThrow(
      /Indicator "cases-disclosed-by-concern" would give a count of the elements of a list CaseDisclosed events hold from these read models, from which a count of CaseDisclosed events went outside/,
    );
  });

  it('is refused the other way round too, and from data loaded again (the register of releases)', async () => {
    const readModels = await readModelsOfCases();
    await release(readModels, 'cases-disclosed-by-concern', ['item']);
    await expect(release(readModels, 'cases-disclosed', ['data.sex'])).rejects.toThrow(
      /would give a count of CaseDisclosed events from these read models, from which "cases-disclosed-by-concern", a count of the elements of a list they hold, went outside/,
    );
    // Nor through another indicator projection on the same store.
    const concerns = createIndicatorProjection({
      timeZone: 'Asia/Phnom_Penh',
      name: 'indicators_by_concern',
      indicators: builtInIndicators.filter(({ id }) => id === 'cases-disclosed'),
    });
    const both = await readModelsOfCases([projection, concerns]);
    await release(both, 'cases-disclosed-by-concern', ['item']);
    await expect(release(both, 'cases-disclosed', ['data.sex'], concerns)).rejects.toThrow(
      /from which "cases-disclosed-by-concern", a count of the elements of a list they hold, went outside/,
    );
    // Read models of their own, for readers who will never see the other, give it.
    const own = await release(await readModelsOfCases(), 'cases-disclosed', ['data.sex']);
    expect(own.rows.length).toBeGreaterThan(0);
  });

  it('refuses both in one release, a percentage of the one over the other', async () => {
    const withShare = createIndicatorProjection({
      timeZone: 'Asia/Phnom_Penh',
      indicators: [
        ...builtInIndicators,
        {
          id: 'concerns-per-case',
          title: 'Concerns named per 100 cases',
          unit: 'concerns',
          measure: 'percentage',
          ascending: true,
          definition: {
            filter: { eventTypes: ['CaseDisclosed'] },
            value: {
              kind: 'ratio',
              numerator: 'cases-disclosed-by-concern',
              denominator: 'cases-disclosed',
              scale: 100,
            },
          },
        },
      ],
    });
    const readModels = await readModelsOfCases([withShare]);
    await expect(release(readModels, 'concerns-per-case', [], withShare)).rejects.toThrow(
      /would give a count of CaseDisclosed events and "cases-disclosed-by-concern", a count of the elements of a list they hold, side by side/,
    );
  });

  it('lets a sum over a list, or what a list counts once, go out beside a count of its events', async () => {
    const withShifts = createIndicatorProjection({
      timeZone: 'Asia/Phnom_Penh',
      indicators: [
        ...builtInIndicators,
        {
          id: 'outreach-shifts',
          title: 'Outreach shifts',
          unit: 'shifts',
          measure: 'unit',
          ascending: true,
          definition: { filter: { eventTypes: ['OutreachConducted'] }, value: { kind: 'count' } },
        },
      ],
    });
    const readModels = await readModelsOfCases([withShifts]);
    // The children met on shifts (a sum over each shift's contacts), then the shifts themselves.
    await release(readModels, 'children-reached-night-outreach', [], withShifts);
    await expect(release(readModels, 'outreach-shifts', [], withShifts)).resolves.toBeDefined();
  });
});
