import { createMemoryEventStore, createMemoryReadModelStore } from '@lantern/adapters/memory';
import type { NewEvent, Principal } from '@lantern/core';
import { catalogEvent } from '@lantern/core/testing';
import { describe, expect, it } from 'vitest';
import { createProjectionEngine } from '../engine/projectionEngine.js';
import { createIndicatorProjection } from '../indicators/indicatorProjection.js';
import { kidsClubShare } from './clubShare.fixture.js';
import { loadIndicatorData } from './indicatorValues.js';
import { releaseIndicator } from './recordedRelease.js';

const staff = 'st_00000000000000a1';
const donor: Principal = { id: 'dn_00000000000000a1', role: 'donor' };

const share = createIndicatorProjection({
  timeZone: 'Asia/Phnom_Penh',
  name: 'club_share',
  indicators: kidsClubShare(),
});

/** Five kids' clubs and five healing-arts clubs opened in January 2020; `late` adds a kids' club of January. */
const clubs = async () => {
  const eventStore = createMemoryEventStore();
  const readModels = createMemoryReadModelStore();
  let count = 0;
  const established = (on: string, kind: string): [string, NewEvent[]] => {
    count += 1;
    const clubId = `club-${count}`;
    return [
      `club-${clubId}`,
      [
        catalogEvent(
          'ClubEstablished',
          { programmeId: 'pp', clubId, name: `Club ${count}`, area: 'KH-12-06', kind, establishedOn: on },
          { occurredAt: `${on}T10:00:00+07:00`, recordedBy: staff },
        ),
      ],
    ];
  };
  const catchUp = async (appended: readonly [string, NewEvent[]][]) => {
    let last = 0n;
    for (const [stream, events] of appended) last = (await eventStore.append(stream, events)).position;
    const engine = createProjectionEngine({ eventStore, readModels, projections: [share] });
    await engine.start();
    await engine.waitFor(last);
    await engine.stop();
  };
  await catchUp([
    ...Array.from({ length: 5 }, () => established('2020-01-06', 'kids-club')),
    ...Array.from({ length: 5 }, () => established('2020-01-08', 'healing-arts')),
  ]);
  const release = async (period: 'month' | 'quarter' | 'life') =>
    (
      await releaseIndicator(share, await loadIndicatorData(readModels, share), {
        indicator: 'pct-kids-clubs',
        period,
        from: '2020-01',
        to: '2020-03',
        audience: 'donor',
        principal: donor,
      })
    ).rows.map((row) => [row.period, row.actual]);
  return { release, late: () => catchUp([established('2020-01-20', 'kids-club')]) };
};

describe('a percentage of two stocks, released by one period and later by another', () => {
  it('gives the first quarter as March went out, a club of January recorded late', async () => {
    const { release, late } = await clubs();
    expect(await release('month')).toEqual([
      ['2020-01', { value: 50 }],
      ['2020-02', { value: 50 }],
      ['2020-03', { value: 50 }],
    ]);
    await late();
    // The quarter's share is March's: 54.5% beside March's 50% would tell the late club.
    expect(await release('quarter')).toEqual([['2020-Q1', { value: 50 }]]);
  });

  it('gives March as the life to March went out', async () => {
    const { release, late } = await clubs();
    expect(await release('life')).toEqual([['life', { value: 50 }]]);
    await late();
    expect((await release('month')).at(-1)).toEqual(['2020-03', { value: 50 }]);
  });
});
