import { createMemoryEventStore, createMemoryReadModelStore } from '@lantern/adapters/memory';
import type { NewEvent } from '@lantern/core';
import { catalogEvent, childRegisteredData } from '@lantern/core/testing';
import { describe, expect, it } from 'vitest';
import { createProjectionEngine } from '../engine/projectionEngine.js';
import { indicatorTable, loadIndicatorData } from '../queries/indicatorValues.js';
import { builtInIndicators } from './builtInIndicators.js';
import { createIndicatorProjection } from './indicatorProjection.js';

const staff = 'st_00000000000000a1';
const child = 'ch_00000000000000d1';
const event = (type: string, data: Record<string, unknown>, occurredAt: string): NewEvent =>
  catalogEvent(type, data, { occurredAt, recordedBy: staff });
const consent = (reporting: boolean) => ({ services: true, reporting, tracing: false, sharing: [] });

describe('consent to reporting', () => {
  it('counts a child only while their latest consent allows reporting, and a rebuild agrees', async () => {
    const store = createMemoryEventStore();
    const readModels = createMemoryReadModelStore();
    const projection = createIndicatorProjection({
      indicators: builtInIndicators,
      timeZone: 'Asia/Phnom_Penh',
    });
    const engine = createProjectionEngine({ eventStore: store, readModels, projections: [projection] });
    await engine.start();
    const casesDisclosed = async () =>
      indicatorTable(projection, await loadIndicatorData(readModels, projection), {
        principal: { id: staff, role: 'analyst', scope: { kind: 'programme' } },
        indicator: 'cases-disclosed',
      }).rows[0]?.actual ?? 0;

    await store.append(`child-${child}`, [
      event(
        'ChildRegistered',
        childRegisteredData({ childRef: child, sex: 'female', ageBand: '12-17', area: 'KH-12-06' }),
        '2020-01-02T10:00:00+07:00',
      ),
    ]);
    const disclosed = await store.append('case-PP-2020-001', [
      event(
        'CaseDisclosed',
        {
          programmeId: 'pp',
          caseId: 'PP-2020-001',
          childRef: child,
          sex: 'female',
          ageBand: '12-17',
          area: 'KH-12-06',
          concerns: ['neglect'],
          disclosedVia: 'outreach',
        },
        '2020-01-03T10:00:00+07:00',
      ),
    ]);
    await engine.waitFor(disclosed.position);
    expect(await casesDisclosed()).toBe(1);

    const withdrawn = await store.append(`child-${child}`, [
      event(
        'ConsentChanged',
        { childRef: child, consent: consent(false), withdrawn: true, consentGivenBy: 'child' },
        '2020-02-01T10:00:00+07:00',
      ),
    ]);
    await engine.waitFor(withdrawn.position);
    expect(await casesDisclosed()).toBe(0);

    await engine.rebuild(projection.name);
    await engine.waitFor(withdrawn.position);
    expect(await casesDisclosed()).toBe(0);
    await engine.stop();
  });
});
