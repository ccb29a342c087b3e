import { createMemoryEventStore, createMemoryReadModelStore } from '@lantern/adapters/memory';
import { isAccessDeniedError, type NewEvent, type Principal, type ReadModelStore } from '@lantern/core';
import { catalogEvent, childRegisteredData } from '@lantern/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { createProjectionEngine } from '../engine/projectionEngine.js';
import { builtInIndicators } from '../indicators/builtInIndicators.js';
import { createIndicatorProjection } from '../indicators/indicatorProjection.js';
import { caseFunnel, createCaseFunnelProjection, releaseCaseFunnel } from './caseFunnel.js';
import { fundingProjection, fundingStatus } from './funding.js';
import { type IndicatorData, indicatorTable, loadIndicatorData } from './indicatorValues.js';
import { releaseIndicator } from './recordedRelease.js';

const fieldWorker: Principal = { id: 'st_00000000000000a1', role: 'field-worker' };
const caseManager: Principal = {
  id: 'st_00000000000000c1',
  role: 'case-manager',
  scope: { kind: 'programme' },
};
const analyst: Principal = { id: 'st_00000000000000e1', role: 'analyst', scope: { kind: 'programme' } };
const donor: Principal = { id: 'dn_00000000000000d1', role: 'donor' };
const service: Principal = { id: 'svc-sync-server', role: 'service' };
const staff = [fieldWorker, caseManager, analyst];

const event = (type: string, data: Record<string, unknown>, occurredAt: string): NewEvent =>
  catalogEvent(type, data, { occurredAt, recordedBy: fieldWorker.id });

const projection = createIndicatorProjection({ indicators: builtInIndicators, timeZone: 'Asia/Phnom_Penh' });

/** Six cases disclosed in March 2020, and a year's budget with funds against it. */
const programme = async (): Promise<{ readModels: ReadModelStore; data: IndicatorData }> => {
  const store = createMemoryEventStore();
  for (let n = 1; n <= 6; n += 1) {
    const childRef = `ch_${String(n).padStart(16, '0')}`;
    const caseId = `PP-2020-${String(n).padStart(3, '0')}`;
    const on = `2020-03-1${n}T10:00:00+07:00`;
    const about = { programmeId: 'pp', childRef, sex: 'female', ageBand: '12-17', area: 'KH-12-09-03' };
    await store.append(`child-${childRef}`, [event('ChildRegistered', childRegisteredData(about), on)]);
    await store.append(`case-${caseId}`, [
      event('CaseDisclosed', { ...about, caseId, concerns: ['neglect'], disclosedVia: 'outreach' }, on),
    ]);
  }
  const money = (amount: number) => ({ amount, currency: 'USD' });
  const { position } = await store.append('programme-pp', [
    event(
      'BudgetApproved',
      {
        programmeId: 'pp',
        periodStart: '2019-12-01',
        periodEnd: '2020-11-30',
        amount: money(3_800_000),
        status: 'committed',
      },
      '2019-12-01T09:00:00+07:00',
    ),
    event(
      'FundsReceived',
      {
        programmeId: 'pp',
        amount: money(1_820_000),
        receivedOn: '2020-01-15',
        donorRef: donor.id,
        kind: 'funds',
      },
      '2020-01-15T09:00:00+07:00',
    ),
  ]);
  const readModels = createMemoryReadModelStore();
  const engine = createProjectionEngine({
    eventStore: store,
    readModels,
    projections: [projection, createCaseFunnelProjection({ timeZone: 'Asia/Phnom_Penh' }), fundingProjection],
  });
  await engine.start();
  await engine.waitFor(position);
  await engine.stop();
  return { readModels, data: await loadIndicatorData(readModels, projection) };
};

/** Read models that fail any read: a refusal must come before any work. */
const untouchable: ReadModelStore = new Proxy(createMemoryReadModelStore(), {
  get: () => () => {
    throw new Error('the query read the read models before checking who asks');
  },
});
/** Indicator data that fails any read, for the same reason. */
const untouchableData: IndicatorData = {
  get observations(): never {
    throw new Error('the query read the data before checking who asks');
  },
  get targets(): never {
    throw new Error('the query read the data before checking who asks');
  },
  get reportable(): never {
    throw new Error('the query read the data before checking who asks');
  },
};

const refusalOf = async (run: () => unknown): Promise<Error> => {
  try {
    await run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('the query answered');
};

describe('every query checks who asks', () => {
  let readModels: ReadModelStore;
  let data: IndicatorData;
  beforeAll(async () => {
    ({ readModels, data } = await programme());
  });

  it('gives the internal tables, the funnel and the funding status to the programme’s staff', async () => {
    for (const principal of staff) {
      const table = indicatorTable(projection, data, { principal, indicator: 'cases-disclosed' });
      expect(table.rows[0]?.actual).toBe(6);
      const [life] = await caseFunnel(readModels, { principal });
      expect(life?.steps[0]).toMatchObject({ stage: 'disclosed', cases: 6 });
      expect(await fundingStatus(readModels, { principal })).toMatchObject([
        { budget: 3_800_000, fundsReceived: 1_820_000, gap: 1_980_000 },
      ]);
    }
  });

  it('refuses a donor or a service internal figures before any work, pointing to the release', async () => {
    for (const principal of [donor, service]) {
      const audience = principal.role === 'donor' ? 'donor' : 'public';
      const table = await refusalOf(() =>
        indicatorTable(projection, untouchableData, { principal, indicator: 'cases-disclosed' }),
      );
      expect(isAccessDeniedError(table), table.message).toBe(true);
      expect(table.message).toMatch(
        new RegExp(`may not read internal figures.*call releaseIndicator .*with audience "${audience}"`),
      );
      const funnel = await refusalOf(() => caseFunnel(untouchable, { principal, period: 'year' }));
      expect(isAccessDeniedError(funnel), funnel.message).toBe(true);
      expect(funnel.message).toMatch(
        new RegExp(`may not read internal figures.*call releaseCaseFunnel with audience "${audience}"`),
      );
    }
  });

  it('gives donors the funding status, money with no child in it, and refuses services', async () => {
    expect(await fundingStatus(readModels, { principal: donor })).toEqual(
      await fundingStatus(readModels, { principal: analyst }),
    );
    const refusal = await refusalOf(() => fundingStatus(untouchable, { principal: service }));
    expect(isAccessDeniedError(refusal), refusal.message).toBe(true);
    expect(refusal.message).toMatch(/may not read donor figures.*staff and its donors only/);
  });

  it('checks the principal of a release too: a release without one, or a malformed one, is refused', async () => {
    const missing = [
      () => indicatorTable(projection, untouchableData, { indicator: 'cases-disclosed' } as never),
      () => caseFunnel(untouchable, {} as never),
      () => caseFunnel(untouchable, undefined as never),
      () => fundingStatus(untouchable, {} as never),
      () =>
        releaseIndicator(projection, untouchableData, {
          indicator: 'cases-disclosed',
          audience: 'public',
        } as never),
      () => releaseCaseFunnel(untouchable, { audience: 'public' } as never),
    ];
    for (const run of missing) {
      const error = await refusalOf(run);
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toMatch(/needs the principal who asks/);
    }
    // A name where a pseudonym belongs, or a role that does not exist.
    for (const principal of [
      { id: 'Field Worker 1', role: 'analyst' },
      { id: 'st_00000000000000e1', role: 'director' },
    ] as Principal[]) {
      const error = await refusalOf(() => caseFunnel(untouchable, { principal }));
      expect(error).toBeInstanceOf(TypeError);
      // The id is not repeated: it may be a name.
      expect(error.message).not.toMatch(/Field Worker 1/);
    }
    // A role that is not text, or a name every object inherits, is no role: refused before any
    // work, the release and its register of releases untouched.
    for (const role of [['analyst'], ['donor'], '__proto__', 'constructor', 'toString']) {
      const principal = { id: 'st_00000000000000e1', role } as unknown as Principal;
      for (const run of [
        () => caseFunnel(untouchable, { principal }),
        () => releaseCaseFunnel(untouchable, { audience: 'donor', principal }),
        () =>
          releaseIndicator(projection, untouchableData, {
            indicator: 'cases-disclosed',
            audience: 'donor',
            principal,
          }),
      ]) {
        const error = await refusalOf(run);
        expect(error).toBeInstanceOf(TypeError);
        expect(error.message).toMatch(/is not a role; give one of field-worker, .*, as text/);
      }
    }
    // No request at all.
    const none = await refusalOf(() => releaseCaseFunnel(untouchable, undefined as never));
    expect(none).toBeInstanceOf(TypeError);
    expect(none.message).toMatch(/needs what is asked, as an object/);
  });

  it("refuses a funnel whose from is after its to, as an indicator's, before any work", async () => {
    const range = { from: '2020-04', to: '2020-03' };
    for (const run of [
      () => caseFunnel(untouchable, { principal: analyst, ...range }),
      // Outside the programme too: answered, it would have recorded the funnel as released.
      () =>
        releaseCaseFunnel(untouchable, { audience: 'donor', principal: donor, period: 'quarter', ...range }),
      () =>
        indicatorTable(projection, untouchableData, {
          indicator: 'cases-disclosed',
          principal: analyst,
          ...range,
        }),
    ]) {
      const error = await refusalOf(run);
      expect(error.message).toMatch(/"2020-04" is after "2020-03".*give from before to/s);
    }
  });

  it('refuses an audience that does not exist as such, not as one the principal may not read', async () => {
    for (const audience of ['press', 'Donor', '']) {
      for (const run of [
        () => releaseCaseFunnel(untouchable, { audience: audience as never, principal: analyst }),
        () =>
          releaseIndicator(projection, untouchableData, {
            indicator: 'cases-disclosed',
            audience: audience as never,
            principal: analyst,
          }),
      ]) {
        const error = await refusalOf(run);
        expect(error).toBeInstanceOf(TypeError);
        expect(error.message).toContain(
          `${JSON.stringify(audience)} is not an audience; ask for one of "internal", "donor", "public"`,
        );
      }
    }
  });

  it('lets a release go only to the audiences of the role', async () => {
    const refused = await refusalOf(() =>
      releaseCaseFunnel(untouchable, { audience: 'donor', principal: service }),
    );
    expect(isAccessDeniedError(refused)).toBe(true);
    expect(refused.message).toMatch(/may not read donor figures.*ask for audience "public"/);
    const released = await releaseIndicator(projection, data, {
      indicator: 'cases-disclosed',
      audience: 'donor',
      principal: donor,
    });
    expect(released.rows[0]?.actual).toEqual({ value: 6 });
    // The funnel from read models of its own: it counts the same cases as cases-disclosed,
    // protected apart, so from the read models that went out from it would be refused.
    const [life] = await releaseCaseFunnel((await programme()).readModels, {
      audience: 'public',
      principal: service,
    });
    expect(life?.steps[0]?.cases).toEqual({ value: 6 });
  });
});
