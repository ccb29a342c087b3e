import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryEventStore, createMemoryReadModelStore } from '@lantern/adapters/memory';
import { createSqliteReadModelStore } from '@lantern/adapters/sqlite';
import { isDisclosureError, type NewEvent, type Principal, type ReadModelStore } from '@lantern/core';
import { catalogEvent, childRegisteredData } from '@lantern/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProjectionEngine } from '../engine/projectionEngine.js';
import { builtInIndicators } from '../indicators/builtInIndicators.js';
import { createIndicatorProjection } from '../indicators/indicatorProjection.js';
import { createCaseFunnelProjection, releaseCaseFunnel } from './caseFunnel.js';
import { loadIndicatorData } from './indicatorValues.js';
import { releaseIndicator } from './recordedRelease.js';
import { releaseNow } from './releaseIndicator.js';
import { readReleaseRegister, releaseRegisterName, writeClaims } from './releaseRegister.js';

/**
 * The register of releases, kept in the read-model file: what one handle on the file released
 * outside the programme binds what another handle releases, as a report made by another process
 * would be bound. Each handle loads its own data, so the guards kept in memory see nothing of
 * the other's releases.
 */

const staff = 'st_00000000000000a1';
const analyst: Principal = { id: 'st_00000000000000e1', role: 'analyst', scope: { kind: 'programme' } };
const donor: Principal = { id: 'dn_00000000000000a1', role: 'donor' };
const projection = createIndicatorProjection({ indicators: builtInIndicators, timeZone: 'Asia/Phnom_Penh' });

/** Twenty cases in 2020, girls and boys, some followed up: enough for a donor's quarterly figures. */
const events = (): [string, NewEvent[]][] =>
  Array.from({ length: 20 }, (_, i) => {
    const childRef = `ch_${String(i + 1).padStart(16, '0')}`;
    const caseId = `PP-2020-${String(i + 1).padStart(3, '0')}`;
    const on = `2020-0${1 + (i % 6)}-1${i % 9}T10:00:00+07:00`;
    const sex = i % 3 === 0 ? 'male' : 'female';
    const event = (type: string, data: Record<string, unknown>) =>
      catalogEvent(type, data, { occurredAt: on, recordedBy: staff });
    return [
      `case-${caseId}`,
      [
        event(
          'ChildRegistered',
          childRegisteredData({ childRef, sex, ageBand: '12-17', area: 'KH-12-06-01' }),
        ),
        event('CaseDisclosed', {
          programmeId: 'pp',
          caseId,
          childRef,
          sex,
          ageBand: '12-17',
          area: 'KH-12-06-01',
          concerns: ['neglect'],
          disclosedVia: 'outreach',
        }),
        ...(i % 2 === 0
          ? [event('CaseFollowedUp', { caseId, followedUpOn: on.slice(0, 10), kind: 'home-visit' })]
          : []),
      ],
    ];
  });

describe('the register of releases, across two handles on one read-model file', () => {
  let directory: string;
  let file: string;
  const opened: ReadModelStore[] = [];
  /** Data loaded before anything went out: the register was empty then. */
  let loadedFirst: Awaited<ReturnType<typeof loadIndicatorData>>;
  /** Another, loaded then too. */
  let loadedEarly: Awaited<ReturnType<typeof loadIndicatorData>>;
  /** A handle on the file, as another process would open it. */
  const open = (): ReadModelStore => {
    const readModels = createSqliteReadModelStore({ path: file });
    opened.push(readModels);
    return readModels;
  };

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'lantern-register-'));
    file = join(directory, 'lantern.db');
    const eventStore = createMemoryEventStore();
    let last = 0n;
    for (const [stream, list] of events()) last = (await eventStore.append(stream, list)).position;
    const readModels = open();
    const engine = createProjectionEngine({
      eventStore,
      readModels,
      projections: [projection, createCaseFunnelProjection({ timeZone: 'Asia/Phnom_Penh' })],
    });
    await engine.start();
    await engine.waitFor(last);
    await engine.stop();
    loadedFirst = await loadIndicatorData(open(), projection);
    loadedEarly = await loadIndicatorData(open(), projection);
  });

  afterAll(async () => {
    for (const readModels of opened) await readModels.close();
    rmSync(directory, { recursive: true, force: true });
  });

  /** Data loaded from a new handle on the file. */
  const loadedAnew = async () => loadIndicatorData(open(), projection);
  const request = (indicator: string, policy?: { finestPeriod: 'quarter' }) => ({
    indicator,
    period: 'quarter' as const,
    audience: 'donor' as const,
    principal: donor,
    ...(policy === undefined ? {} : { policy }),
  });
  const refusal = async (release: () => Promise<unknown>): Promise<string> => {
    try {
      await release();
    } catch (error) {
      expect(isDisclosureError(error)).toBe(true);
      return (error as Error).message;
    }
    throw new Error('the release went out');
  };

  it('records nothing for internal staff, and records a release outside the programme before giving it', async () => {
    const data = await loadedAnew();
    const internal = await releaseIndicator(projection, data, {
      ...request('home-visits'),
      audience: 'internal',
      principal: analyst,
    });
    expect(internal.rows).toEqual([]);
    expect((await readReleaseRegister(open())).claims.size).toBe(0);

    await releaseIndicator(projection, data, request('cases-disclosed'));
    const register = await readReleaseRegister(open());
    expect(Object.fromEntries(register.claims)).toEqual({
      'policy|indicators|pct-cases-followed-up-within-7-days': '5|1|month',
      'figures|indicators|cases-disclosed': 'pct-cases-followed-up-within-7-days',
      'funnel-or-cases': 'cases|cases-disclosed',
      // The table counts of CaseDisclosed events went out from (claimEvents).
      'events|*|CaseDisclosed': 'indicators|pct-cases-followed-up-within-7-days',
    });
    expect(register.writes).toBe(1n);
  });

  it('refuses, from another handle, the same figures with another policy', async () => {
    const message = await refusal(async () =>
      releaseIndicator(
        projection,
        await loadedAnew(),
        request('cases-disclosed', { finestPeriod: 'quarter' }),
      ),
    );
    expect(message).toMatch(/periods by month at the finest.*periods by quarter at the finest/);
    // The same release as before goes out again from any handle, and records nothing new.
    const again = await releaseIndicator(projection, await loadedAnew(), request('cases-disclosed'));
    expect(again.rows.length).toBeGreaterThan(0);
    expect((await readReleaseRegister(open())).writes).toBe(1n);
    // Data loaded before the first release was recorded is bound too: the register is read at
    // every release, not when the data was loaded.
    const early = await refusal(() =>
      releaseIndicator(projection, loadedEarly, request('cases-disclosed', { finestPeriod: 'quarter' })),
    );
    expect(early).toMatch(/periods by month at the finest.*periods by quarter at the finest/);
  });

  it('refuses to record data whose own releases went out otherwise than the register says', async () => {
    const data = loadedFirst;
    // Released by quarters, from data loaded while the register was empty, and never recorded (as
    // a release whose record lost to another writer's leaves its data): nothing stopped it then.
    releaseNow(projection, data, request('cases-disclosed', { finestPeriod: 'quarter' }));
    const message = await refusal(() => releaseIndicator(projection, data, request('home-visits')));
    expect(message).toMatch(/otherwise than the register of releases says it went before/);
  });

  it('refuses, from another handle, the case funnel once an indicator about cases went out', async () => {
    const message = await refusal(() =>
      releaseCaseFunnel(open(), { audience: 'donor', principal: donor, period: 'quarter' }),
    );
    expect(message).toMatch(/release the case funnel or the indicators about cases, not both/);
    // Internal staff still get it.
    const internal = await releaseCaseFunnel(open(), {
      audience: 'internal',
      principal: analyst,
      period: 'quarter',
    });
    expect(internal.length).toBeGreaterThan(0);
  });
});

describe('the register of releases, the other way round', () => {
  let directory: string;
  const opened: ReadModelStore[] = [];

  afterAll(async () => {
    for (const readModels of opened) await readModels.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it('refuses, from another handle, an indicator about cases once releaseCaseFunnel recorded the funnel', async () => {
    directory = mkdtempSync(join(tmpdir(), 'lantern-register-'));
    const file = join(directory, 'lantern.db');
    const open = (): ReadModelStore => {
      const readModels = createSqliteReadModelStore({ path: file });
      opened.push(readModels);
      return readModels;
    };
    const eventStore = createMemoryEventStore();
    let last = 0n;
    for (const [stream, list] of events()) last = (await eventStore.append(stream, list)).position;
    const engine = createProjectionEngine({
      eventStore,
      readModels: open(),
      projections: [projection, createCaseFunnelProjection({ timeZone: 'Asia/Phnom_Penh' })],
    });
    await engine.start();
    await engine.waitFor(last);
    await engine.stop();

    await releaseCaseFunnel(open(), { audience: 'public', principal: donor, period: 'year' });
    expect((await readReleaseRegister(open())).claims.get('funnel-or-cases')).toBe('funnel');
    const data = await loadIndicatorData(open(), projection);
    let refused: unknown;
    try {
      await releaseIndicator(projection, data, {
        indicator: 'pct-cases-followed-up-within-7-days',
        period: 'year',
        audience: 'donor',
        principal: donor,
      });
    } catch (error) {
      refused = error;
    }
    expect(isDisclosureError(refused)).toBe(true);
    expect((refused as Error).message).toMatch(/counts the cases the case funnel counts/);
    // Nor does the count itself go out, from data loaded anew.
    const anew = await loadIndicatorData(open(), projection);
    await expect(
      releaseIndicator(projection, anew, {
        indicator: 'cases-disclosed',
        period: 'year',
        audience: 'donor',
        principal: donor,
      }),
    ).rejects.toThrow(/counts the cases the case funnel counts/);
  });
});

describe('a release outside the programme from data of no store', () => {
  it('is refused, since it could not be recorded; internal figures are given', async () => {
    const data = { observations: [], targets: [] };
    await expect(
      releaseIndicator(projection, data, {
        indicator: 'cases-disclosed',
        period: 'year',
        audience: 'donor',
        principal: donor,
      }),
    ).rejects.toThrow(/not loaded from one: load it with loadIndicatorData/);
    const internal = await releaseIndicator(projection, data, {
      indicator: 'cases-disclosed',
      period: 'year',
      audience: 'internal',
      principal: analyst,
    });
    expect(internal.rows).toEqual([]);
  });
});

describe('claims written to the register', () => {
  it('are written only by a writer that read the register as it is, and keep their first value', async () => {
    const readModels = createMemoryReadModelStore();
    const read = await readReleaseRegister(readModels);
    expect(await writeClaims(readModels, read, new Map([['a', '1']]))).toBe(true);
    // A writer that read before that write is turned away, and writes nothing.
    expect(await writeClaims(readModels, read, new Map([['b', '2']]))).toBe(false);
    const now = await readReleaseRegister(readModels);
    expect(Object.fromEntries(now.claims)).toEqual({ a: '1' });
    // A claim already made keeps its value.
    expect(await writeClaims(readModels, now, new Map([['a', '3']]))).toBe(true);
    expect((await readReleaseRegister(readModels)).claims.get('a')).toBe('1');
    // Kept as the read model of that name.
    expect((await readModels.documents(releaseRegisterName, 'claims')).map((row) => row.key)).toEqual(['a']);
  });
});
