import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createMemoryEventStore } from '@lantern/adapters/memory';
import { beforeAll, describe, expect, it } from 'vitest';
import { reportedFigures } from './programme.js';
import { recordPhnomPenh } from './record.js';
import { type HeadlineFigures, summarise } from './summary.js';

describe('the Phnom Penh example', () => {
  const store = createMemoryEventStore();
  let figures: HeadlineFigures;
  let firstRun: { commands: number; written: number };

  beforeAll(async () => {
    firstRun = await recordPhnomPenh(store);
    figures = await summarise(store.readAll());
  }, 120_000);

  it('reproduces every figure the reports give', () => {
    expect(figures.kidsClubsEstablished).toBe(reportedFigures.kidsClubs);
    expect(figures.lastClubEstablishedIn).toBe('2020');
    expect(figures.homeVisitsRestartedOn).toBe('2020-06-01');
    expect(figures.newCasesInThreeWeeks).toBe(reportedFigures.newCasesInThreeWeeks);
    expect(figures.totalBudget).toBe(reportedFigures.totalBudget);
    const yearTwo = figures.budgets.find((b) => b.periodStart === '2019-12-01');
    expect(yearTwo?.budget).toBe(reportedFigures.yearTwoBudget);
    expect(yearTwo?.gap).toBe(reportedFigures.yearTwoStillNeeded);
  });

  it('records clubs, outreach, cases, placements, aid, budget and funds', () => {
    expect(figures.clubSessions).toBeGreaterThan(1000);
    expect(figures.nightOutreachShifts).toBeGreaterThan(100);
    expect(figures.casesDisclosed).toBeGreaterThan(reportedFigures.newCasesInThreeWeeks);
    expect(figures.childrenPlacedSafely).toBeGreaterThan(0);
    expect(figures.householdsGivenFoodAid).toBeGreaterThan(0);
    expect(figures.foodAidByItem.rice?.unit).toBe('kg');
    expect(figures.events).toBe(firstRun.written);
  });

  it('writes nothing the second time it records into the same store', async () => {
    const again = await recordPhnomPenh(store);
    expect(again.commands).toBe(firstRun.commands);
    expect(again.written).toBe(0);
    expect((await summarise(store.readAll())).events).toBe(figures.events);
  }, 120_000);

  it('keeps children as pseudonyms: no event names a child from the reports', async () => {
    for await (const event of store.readAll()) {
      const json = JSON.stringify(event.data);
      expect(json).not.toMatch(/Lisa|Srey Noy/);
      for (const ref of json.match(/"ch_[^"]*"/g) ?? []) expect(ref).toMatch(/^"ch_[0-9a-f]{16,64}"$/);
    }
  });

  it('prints the headline figures when run as the main job', async () => {
    const main = fileURLToPath(new URL('./main.ts', import.meta.url));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--conditions=lantern-source', '--import', 'tsx', main],
      { timeout: 120_000 },
    );
    expect(stdout).toMatch(/Kids' clubs established\s+65/);
    expect(stdout).toMatch(/3 weeks after home visits restarted \(2020-06-01\)\s+14/);
    expect(stdout).toMatch(/Year 2 still needed.*\$19,800\s+\$19,800/);
  }, 120_000);
});
