import { createMemoryEventStore, createMemoryReadModelStore } from '@lantern/adapters/memory';
import { DisclosureError, type Principal } from '@lantern/core';
import { caseDisclosedData, catalogEvent, childRegisteredData } from '@lantern/core/testing';
import { describe, expect, it } from 'vitest';
import { createProjectionEngine } from '../engine/projectionEngine.js';
import { builtInIndicators } from '../indicators/builtInIndicators.js';
import type { Indicator } from '../indicators/compileIndicator.js';
import { createIndicatorProjection } from '../indicators/indicatorProjection.js';
import { indicatorTable, loadIndicatorData } from './indicatorValues.js';
import { releaseIndicator } from './recordedRelease.js';

const staff = 'st_00000000000000a1';
const donor: Principal = { id: 'dn_00000000000000a1', role: 'donor' };
const analyst: Principal = { id: 'st_00000000000000e1', role: 'analyst', scope: { kind: 'programme' } };

const countOf = (id: string, eventType: string, dimension: string, protect = true): Indicator => ({
  id,
  title: id,
  unit: 'events',
  measure: 'unit',
  ascending: true,
  protect,
  definition: { filter: { eventTypes: [eventType] }, value: { kind: 'count' }, dimensions: [dimension] },
});

const projection = createIndicatorProjection({
  timeZone: 'Asia/Phnom_Penh',
  indicators: [
    countOf('follow-ups-by-case', 'CaseFollowedUp', 'data.caseId'),
    countOf('cases-by-child', 'CaseDisclosed', 'data.childRef', false),
    countOf('cases-by-worker', 'CaseDisclosed', 'metadata.recordedBy'),
    {
      ...countOf('sessions-by-attendee', 'ClubSessionHeld', 'item'),
      definition: {
        filter: { eventTypes: ['ClubSessionHeld'] },
        unnest: 'data.attendeeRefs',
        value: { kind: 'count' },
        dimensions: ['item'],
      },
    },
  ],
});

/** Seven cases of January 2020, each followed up six times. */
const data = async () => {
  const store = createMemoryEventStore();
  const readModels = createMemoryReadModelStore();
  const metadata = (occurredAt: string) => ({ occurredAt, recordedBy: staff });
  let last = 0n;
  for (let n = 1; n <= 7; n += 1) {
    const childRef = `ch_${String(n).padStart(16, '0')}`;
    const caseId = `PP-2020-${String(n).padStart(3, '0')}`;
    const about = { childRef, sex: 'female', ageBand: '12-17', area: 'KH-12-06-01' } as const;
    await store.append(`child-${childRef}`, [
      catalogEvent('ChildRegistered', childRegisteredData(about), metadata('2020-01-02T10:00:00+07:00')),
    ]);
    await store.append(`case-${caseId}`, [
      catalogEvent(
        'CaseDisclosed',
        caseDisclosedData({ caseId, ...about }),
        metadata('2020-01-02T10:00:00+07:00'),
      ),
    ]);
    for (let day = 10; day < 16; day += 1) {
      last = (
        await store.append(`case-${caseId}`, [
          catalogEvent(
            'CaseFollowedUp',
            { caseId, followedUpOn: `2020-01-${day}`, kind: 'home-visit' },
            metadata(`2020-01-${day}T10:00:00+07:00`),
          ),
        ])
      ).position;
    }
  }
  const engine = createProjectionEngine({ eventStore: store, readModels, projections: [projection] });
  await engine.start();
  await engine.waitFor(last);
  await engine.stop();
  return loadIndicatorData(readModels, projection);
};

describe('a breakdown by a field that names someone one by one', () => {
  it('is refused outside the programme, protected or not, and given to its staff', async () => {
    const loaded = await data();
    const asked = [
      ['follow-ups-by-case', 'data.caseId', 'a case number'],
      ['cases-by-child', 'data.childRef', 'a child pseudonym'],
      ['cases-by-worker', 'metadata.recordedBy', 'a staff pseudonym'],
      ['sessions-by-attendee', 'item', 'a child pseudonym'],
    ] as const;
    for (const [indicator, dimension, identifies] of asked) {
      for (const audience of ['donor', 'public'] as const) {
        const refused = releaseIndicator(projection, loaded, {
          indicator,
          audience,
          principal: donor,
          by: [dimension],
        });
        await expect(refused).rejects.toBeInstanceOf(DisclosureError);
        await expect(refused).rejects.toThrow(`would give the ${audience} ${identifies} on every row`);
      }
      // Without the breakdown it goes out.
      await expect(
        releaseIndicator(projection, loaded, { indicator, audience: 'donor', principal: donor }),
      ).resolves.toBeDefined();
    }
    // Inside the programme, staff read it case by case.
    const internal = indicatorTable(projection, loaded, {
      indicator: 'follow-ups-by-case',
      principal: analyst,
      by: ['data.caseId'],
    });
    expect(internal.rows.map((row) => [row.dims['data.caseId'], row.actual])).toContainEqual([
      'PP-2020-001',
      6,
    ]);
  });

  it('is found in no built-in indicator', () => {
    const builtIns = createIndicatorProjection({
      timeZone: 'Asia/Phnom_Penh',
      indicators: builtInIndicators,
    });
    const flagged = [...builtIns.indicators.values()].flatMap((indicator) =>
      indicator.dimensions
        .filter((d) => d.identifies !== undefined)
        .map((d) => `${indicator.indicator.id} ${d.path}`),
    );
    expect(flagged).toEqual([]);
  });
});
