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

describe('counts of the same events from two tables, outside the programme', () => {
  it('are refused: a list of concerns beside the cases naming them', async () => {
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
      /Indicator "cases-disclosed-by-concern" would give counts of CaseDisclosed events from the table of "cases-disclosed-by-concern", from these read models, from which counts of CaseDisclosed events went outside the programme from the table of "pct-cases-followed-up-within-7-days"/,
    );
  });

  it('are refused the other way round too, from data loaded again, and from another indicator projection', async () => {
    const readModels = await readModelsOfCases();
    await release(readModels, 'cases-disclosed-by-concern', ['item']);
    await expect(release(readModels, 'cases-disclosed', ['data.sex'])).rejects.toThrow(
      /counts of CaseDisclosed events from the table of "pct-cases-followed-up-within-7-days", from these read models, from which counts of CaseDisclosed events went outside the programme from the table of "cases-disclosed-by-concern"/,
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
      /from the table of "cases-disclosed", from these read models, from which counts of CaseDisclosed events went outside the programme from the table of "cases-disclosed-by-concern"/,
    );
    // Read models of their own, for readers who will never see the other, give it.
    const own = await release(await readModelsOfCases(), 'cases-disclosed', ['data.sex']);
    expect(own.rows.length).toBeGreaterThan(0);
  });

  it('are given from one table: a percentage of the one over the other protects both together', async () => {
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
    const both = await release(readModels, 'concerns-per-case', [], withShare);
    expect(both.rows.length).toBeGreaterThan(0);
  });

  it('are refused whatever they count: a sum over a list beside a count of the events holding it', async () => {
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
    await expect(release(readModels, 'outreach-shifts', [], withShifts)).rejects.toThrow(
      /from the table of "outreach-shifts", .* from the table of "children-reached-night-outreach"/,
    );
  });

  it('are refused for one reason among all: cases closed with goals met beside cases closed by reason', async () => {
    // Not tied by a percentage here, so each is protected in its own table.
    const closed = createIndicatorProjection({
      timeZone: 'Asia/Phnom_Penh',
      name: 'closures',
      indicators: builtInIndicators.filter(
        ({ id }) => id === 'cases-closed' || id === 'cases-closed-goals-met',
      ),
    });
    const readModels = await readModelsOfCases([closed]);
    await release(readModels, 'cases-closed', ['data.reason'], closed);
    await expect(release(readModels, 'cases-closed-goals-met', [], closed)).rejects.toThrow(
      /counts of CaseClosed events from the table of "cases-closed-goals-met", .* from the table of "cases-closed"/,
    );
  });
});
