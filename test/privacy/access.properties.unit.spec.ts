import {
  createMemoryEventStore,
  createMemoryKeyStore,
  createMemoryReadModelStore,
} from '@lantern/adapters/memory';
import {
  type Audience,
  type AuditEntry,
  auditTo,
  createGuardedEventStore,
  createProtectedEventStore,
  defaultAccessPolicy,
  type EventStore,
  isAccessDeniedError,
  isDisclosureError,
  isStreamNotFoundError,
  type Principal,
  type RecordedEvent,
  type Role,
  type Scope,
} from '@lantern/core';
import {
  builtInIndicators,
  createCaseFunnelProjection,
  createIndicatorProjection,
  createProjectionEngine,
  exportIndicator,
  type Granularity,
  loadIndicatorData,
  releaseCaseFunnel,
} from '@lantern/projections';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { auditEntries, collect, disclosure, newEvent, programmeId, registration } from './fixtures.js';

// ---------------------------------------------------------------------------------------------
// Random programmes: children registered and cases worked by random staff, cases with protected
// text (a narrative, a caregiver's contact, a placement address) holding a secret that names its
// case, an outreach shift naming children, an audit trail already begun. Random principals (every
// role × scope) ask random questions. The oracle below is written from the rules in
// docs/privacy.md, not from the guard's code.
// ---------------------------------------------------------------------------------------------

const staff = ['st_00000000000000a1', 'st_00000000000000a2', 'st_00000000000000a3', 'st_00000000000000c1'];
const outsider = 'st_00000000000000ff';
const childRefOf = (i: number) => `ch_${String(i + 1).padStart(16, '0')}`;
const caseIdOf = (i: number) => `PP-2020-${String(i + 1).padStart(3, '0')}`;
const secretOf = (i: number, field: string) => `SECRET-${field}-${caseIdOf(i)}`;
const months = ['2020-01', '2020-02', '2020-03'];

interface WorldCase {
  child: number;
  by: string;
  month: number;
  sex: 'female' | 'male';
  narrative: boolean;
  placement: { by: string; placementType: 'parent' | 'kinship' | 'residential'; secrets: boolean } | null;
  followUpBy: string | null;
}
interface World {
  children: { by: string; reporting: boolean }[];
  cases: WorldCase[];
}

const staffId = fc.constantFrom(...staff);
const worldArbitrary: fc.Arbitrary<World> = fc
  .record({
    children: fc.array(fc.record({ by: staffId, reporting: fc.boolean() }), { minLength: 1, maxLength: 4 }),
    cases: fc.array(
      fc.record({
        child: fc.nat(),
        by: staffId,
        month: fc.nat({ max: 2 }),
        sex: fc.constantFrom('female' as const, 'male' as const),
        narrative: fc.boolean(),
        placement: fc.option(
          fc.record({
            by: staffId,
            placementType: fc.constantFrom('parent' as const, 'kinship' as const, 'residential' as const),
            secrets: fc.boolean(),
          }),
        ),
        followUpBy: fc.option(staffId),
      }),
      { maxLength: 7 },
    ),
  })
  .map((world) => ({
    ...world,
    cases: world.cases.map((c) => ({ ...c, child: c.child % world.children.length })),
  }));

const scopeArbitrary: fc.Arbitrary<Scope> = fc.oneof(
  fc.constant({ kind: 'own' as const }),
  fc.subarray(staff).map((members) => ({ kind: 'team' as const, members })),
  fc.constant({ kind: 'programme' as const }),
);
const principalArbitrary: fc.Arbitrary<Principal> = fc.oneof(
  fc.record({
    id: fc.constantFrom(...staff, outsider),
    role: fc.constantFrom<Role>('field-worker', 'case-manager', 'analyst'),
    scope: scopeArbitrary,
  }),
  fc.record({
    id: fc.constant('dn_00000000000000d1'),
    role: fc.constant<Role>('donor'),
    scope: scopeArbitrary,
  }),
  fc.record({ id: fc.constant('svc-feed'), role: fc.constant<Role>('service'), scope: scopeArbitrary }),
);

const prefixesArbitrary = fc.option(
  fc.subarray(['case-', 'child-', 'outreach-', 'audit-', 'c', 'programme-']),
  {
    nil: undefined,
  },
);
const audienceArbitrary = fc.constantFrom<Audience>('internal', 'donor', 'public');
const periodArbitrary = fc.constantFrom<Granularity>('month', 'quarter', 'year', 'life');
type Query =
  | { kind: 'readStream'; stream: number }
  | { kind: 'readAll'; prefixes: string[] | undefined; maxCount: number | undefined }
  | { kind: 'subscribe'; prefixes: string[] | undefined }
  | { kind: 'indicator'; indicator: string; by: readonly string[]; period: Granularity; audience: Audience }
  | { kind: 'funnel'; period: Granularity; audience: Audience };
const queryArbitrary: fc.Arbitrary<Query> = fc.oneof(
  fc.record({ kind: fc.constant('readStream' as const), stream: fc.nat() }),
  fc.record({
    kind: fc.constant('readAll' as const),
    prefixes: prefixesArbitrary,
    maxCount: fc.option(fc.nat({ max: 6 }), { nil: undefined }),
  }),
  fc.record({ kind: fc.constant('subscribe' as const), prefixes: prefixesArbitrary }),
  fc.oneof(
    fc.record({
      kind: fc.constant('indicator' as const),
      indicator: fc.constant('cases-disclosed'),
      by: fc.constantFrom([], ['data.sex'], ['data.area'], ['data.sex', 'data.ageBand']),
      period: periodArbitrary,
      audience: audienceArbitrary,
    }),
    fc.record({
      kind: fc.constant('indicator' as const),
      indicator: fc.constant('children-placed-family-care'),
      by: fc.constantFrom([], ['data.placementType']),
      period: periodArbitrary,
      audience: audienceArbitrary,
    }),
  ),
  fc.record({ kind: fc.constant('funnel' as const), period: periodArbitrary, audience: audienceArbitrary }),
);

// ---------------------------------------------------------------------------------------------

const areas = ['KH-12-09-01', 'KH-12-06-02'];
const outreachArea = 'KH-12-09';

/** Stores the world through the protecting store; the raw store holds only sealed text. */
const build = async (world: World) => {
  const raw = createMemoryEventStore();
  const store = createProtectedEventStore(raw, { keyStore: createMemoryKeyStore() });
  for (const [i, child] of world.children.entries()) {
    const data = registration(childRefOf(i));
    await store.append(`child-${childRefOf(i)}`, [
      newEvent(
        'ChildRegistered',
        { ...data, area: areas[i % 2] as string, consent: { ...data.consent, reporting: child.reporting } },
        child.by,
        '2020-01-01T09:00:00+07:00',
      ),
    ]);
  }
  for (const [i, c] of world.cases.entries()) {
    const at = `${months[c.month]}-1${i % 9}T10:00:00+07:00`;
    const childRef = childRefOf(c.child);
    const disclosed = {
      ...disclosure(caseIdOf(i), childRef),
      sex: c.sex,
      area: areas[c.child % 2] as string,
      ...(c.narrative ? { narrative: secretOf(i, 'narrative') } : {}),
    };
    const events = [newEvent('CaseDisclosed', disclosed, c.by, at)];
    if (c.followUpBy) {
      events.push(
        newEvent(
          'CaseFollowedUp',
          { caseId: caseIdOf(i), followedUpOn: `${months[c.month]}-20`, kind: 'home-visit' },
          c.followUpBy,
          `${months[c.month]}-20T10:00:00+07:00`,
        ),
      );
    }
    if (c.placement) {
      events.push(
        newEvent(
          'ChildPlacedSafely',
          {
            caseId: caseIdOf(i),
            childRef,
            placementType: c.placement.placementType,
            caregiverRelation: c.placement.placementType === 'residential' ? 'residential-staff' : 'mother',
            ...(c.placement.secrets
              ? {
                  caregiverContact: secretOf(i, 'contact'),
                  placementAddress: secretOf(i, 'address'),
                }
              : {}),
          },
          c.placement.by,
          `${months[c.month]}-21T10:00:00+07:00`,
        ),
      );
    }
    await store.append(`case-${caseIdOf(i)}`, events);
  }
  await store.append(`outreach-${programmeId}`, [
    newEvent(
      'OutreachConducted',
      {
        programmeId,
        teamId: 'night-team',
        mode: 'night-outreach',
        area: outreachArea,
        shiftStart: '2020-01-05T20:00:00+07:00',
        shiftEnd: '2020-01-06T02:00:00+07:00',
        contacts: [{ sex: 'female', ageBand: '12-17', count: 3 }],
        newChildRefs: world.children.map((_, i) => childRefOf(i)),
        leafletsDistributed: 4,
      },
      staff[0] as string,
    ),
  ]);
  // The trail names children: it must reach no one but case managers with programme scope.
  await auditTo(raw)({
    programmeId,
    principal: { id: staff[3] as string, role: 'case-manager' },
    action: 'consent-override',
    target: childRefOf(0),
    purpose: 'safeguarding-emergency',
  });
  return { raw, store };
};

/** The case-level streams a principal's scope reaches (see docs/privacy.md, "Roles and scopes"). */
const visibleStreams = (world: World, principal: Principal): Set<string> | 'all' => {
  const scope = principal.scope ?? { kind: 'own' };
  if (scope.kind === 'programme') return 'all';
  const team = new Set([principal.id, ...(scope.kind === 'team' ? scope.members : [])]);
  const visible = new Set<string>();
  for (const [i, c] of world.cases.entries()) {
    if ([c.by, c.followUpBy, c.placement?.by].some((by) => by !== undefined && by !== null && team.has(by))) {
      visible.add(`case-${caseIdOf(i)}`);
      visible.add(`child-${childRefOf(c.child)}`);
    }
  }
  for (const [i, child] of world.children.entries()) {
    if (team.has(child.by)) visible.add(`child-${childRefOf(i)}`);
  }
  return visible;
};

const activity = ['programme', 'club', 'outreach', 'aid', 'training'];
const readsByName: Record<Role, string[]> = {
  'field-worker': [...activity, 'case', 'child'],
  'case-manager': [...activity, 'case', 'child'],
  analyst: [...activity, 'case', 'child'],
  donor: [],
  service: activity,
};
const seesProtectedText = (role: Role) => role === 'field-worker' || role === 'case-manager';
const readsAudit = (principal: Principal) =>
  principal.role === 'case-manager' && principal.scope?.kind === 'programme';
const categoryOf = (streamId: string) => streamId.split('-')[0] as string;
/** Area codes: country, province, district, commune (docs/privacy.md, "Roles and scopes"). */
const levelNames = ['country', 'province', 'district', 'commune'];
const levelOf = (area: string) => area.split('-').length - 1;
const serviceAreaLevel = levelNames.indexOf(defaultAccessPolicy.roles.service.childLinkedArea);
const recordedAreas = [...areas, outreachArea];
/** In a case or child stream, or carrying a field that ties it to a child (redacted or not). */
const childLinked = (event: RecordedEvent) =>
  ['case', 'child'].includes(categoryOf(event.streamId)) ||
  defaultAccessPolicy.childLinkFields.some((field) => Object.hasOwn(event.data as object, field));
const reaches = (prefix: string, category: string) =>
  `${category}-`.startsWith(prefix) || prefix.startsWith(`${category}-`);

const subscribeFor = (store: EventStore, prefixes: string[] | undefined): Promise<RecordedEvent[]> =>
  new Promise((resolve, reject) => {
    const seen: RecordedEvent[] = [];
    const subscription = store
      .subscribe(prefixes ? { filter: { streamPrefixes: prefixes } } : {})
      .subscribe({ next: (e) => seen.push(e), error: reject });
    setTimeout(() => {
      subscription.unsubscribe();
      resolve(seen);
    }, 15);
  });

/** Every number released to an audience outside the programme, with where it was found. */
const releasedCounts = (released: unknown): number[] => {
  const numbers: number[] = [];
  JSON.stringify(released, (key, value) => {
    if (key === 'actual' || key === 'cases') {
      const figure = value as { value: unknown; suppressed?: string };
      if (typeof figure?.value === 'number' && figure.suppressed === undefined) numbers.push(figure.value);
    }
    return value;
  });
  return numbers;
};

describe('no role, scope and question yields what the principal may not see', () => {
  it('holds for random programmes, principals and questions', async () => {
    // The rule the feeds are checked against: services get child-linked areas no finer than a district.
    expect(serviceAreaLevel).toBeGreaterThanOrEqual(0);
    expect(serviceAreaLevel).toBeLessThanOrEqual(levelNames.indexOf('district'));
    const indicators = createIndicatorProjection({
      indicators: builtInIndicators,
      timeZone: 'Asia/Phnom_Penh',
    });
    const funnel = createCaseFunnelProjection({ timeZone: 'Asia/Phnom_Penh' });
    await fc.assert(
      fc.asyncProperty(
        worldArbitrary,
        fc.array(fc.tuple(principalArbitrary, queryArbitrary), { minLength: 1, maxLength: 4 }),
        async (world, questions) => {
          const { raw, store } = await build(world);
          const streams = [
            ...world.children.map((_, i) => `child-${childRefOf(i)}`),
            ...world.cases.map((_, i) => `case-${caseIdOf(i)}`),
            `outreach-${programmeId}`,
            `audit-${programmeId}`,
            'case-PP-2020-099',
            `programme-${programmeId}`,
          ];
          let figures: Awaited<ReturnType<typeof loadFigures>> | undefined;
          const loadFigures = async () => {
            const readModels = createMemoryReadModelStore();
            const engine = createProjectionEngine({
              eventStore: raw,
              readModels,
              projections: [indicators, funnel],
            });
            const all = await collect(raw.readAll());
            await engine.start();
            await engine.waitFor((all.at(-1) as RecordedEvent).position);
            await engine.stop();
            return { readModels, data: await loadIndicatorData(readModels, indicators) };
          };
          for (const [principal, query] of questions) {
            const guarded = createGuardedEventStore(store, {
              principal,
              audit: { programmeId, purpose: 'monitoring-evaluation', sink: auditTo(raw) },
            });
            const before = (await auditEntries(raw)).length;
            let output: unknown;
            let error: unknown;
            let expectedEntries: number;
            const role = principal.role;
            const visible = visibleStreams(world, principal);
            const inScope = (streamId: string) => visible === 'all' || visible.has(streamId);

            if (query.kind === 'readStream') {
              const stream = streams[query.stream % streams.length] as string;
              const category = categoryOf(stream);
              output = await collect(guarded.readStream(stream)).catch((e: unknown) => {
                error = e;
                return [];
              });
              const allowed =
                category === 'audit'
                  ? readsAudit(principal)
                  : readsByName[role].includes(category) &&
                    (!['case', 'child'].includes(category) ||
                      inScope(stream) ||
                      !streams.slice(0, -4).includes(stream));
              expectedEntries =
                category === 'audit' || ['case', 'child'].includes(category) || !allowed ? 1 : 0;
              if (!allowed) expect(isAccessDeniedError(error)).toBe(true);
              else if (error) expect(isStreamNotFoundError(error)).toBe(true);
              else {
                // Nothing is held back from a principal who may read the stream.
                const ids = (await collect(raw.readStream(stream))).map((e) => e.id);
                expect((output as RecordedEvent[]).map((e) => e.id)).toEqual(ids);
              }
            } else if (query.kind === 'readAll' || query.kind === 'subscribe') {
              const filter = query.prefixes ? { filter: { streamPrefixes: query.prefixes } } : {};
              output =
                query.kind === 'readAll'
                  ? await collect(
                      guarded.readAll({
                        ...filter,
                        ...(query.maxCount === undefined ? {} : { maxCount: query.maxCount }),
                      }),
                    ).catch((e: unknown) => {
                      error = e;
                      return [];
                    })
                  : await subscribeFor(guarded, query.prefixes).catch((e: unknown) => {
                      error = e;
                      return [];
                    });
              const sensitive = [
                ...(role === 'donor' ? [] : ['case', 'child']),
                ...(readsAudit(principal) ? ['audit'] : []),
              ];
              const audited = sensitive.some(
                (c) => !query.prefixes || query.prefixes.some((p) => reaches(p, c)),
              );
              expectedEntries = role === 'donor' || audited ? 1 : 0;
              if (role === 'donor') expect(isAccessDeniedError(error)).toBe(true);
              else expect(error).toBeUndefined();
            } else {
              const internalAllowed = role !== 'donor' && role !== 'service';
              const allowed =
                query.audience === 'internal'
                  ? internalAllowed
                  : role !== 'service' || query.audience === 'public';
              figures ??= await loadFigures();
              const audit = { sink: auditTo(raw), programmeId, purpose: 'donor-reporting' as const };
              output = await (query.kind === 'indicator'
                ? exportIndicator(indicators, figures.data, {
                    indicator: query.indicator,
                    by: query.by,
                    period: query.period,
                    audience: query.audience,
                    principal,
                    audit,
                  })
                : releaseCaseFunnel(figures.readModels, {
                    period: query.period,
                    audience: query.audience,
                    principal,
                    audit,
                  })
              ).catch((e: unknown) => {
                error = e;
                return undefined;
              });
              if (!allowed) expect(isAccessDeniedError(error)).toBe(true);
              else if (error) expect(isDisclosureError(error)).toBe(true);
              expectedEntries = !allowed || (!error && query.audience !== 'internal') ? 1 : 0;
              if (output !== undefined && query.audience !== 'internal') {
                // Outside the programme, no count from 1 to 4 is ever shown.
                for (const n of releasedCounts(output)) expect(n === 0 || n >= 5).toBe(true);
              }
            }

            // What reached the principal.
            const text = JSON.stringify(output ?? null, (_, v) => (typeof v === 'bigint' ? v.toString() : v));
            for (const i of world.cases.keys()) {
              for (const field of ['narrative', 'contact', 'address']) {
                if (!text.includes(secretOf(i, field))) continue;
                expect(seesProtectedText(role)).toBe(true);
                expect(inScope(`case-${caseIdOf(i)}`)).toBe(true);
              }
            }
            if (role === 'service' || role === 'donor') {
              expect(text).not.toMatch(/ch_0|PP-2020|SECRET/);
            }
            if (query.kind !== 'indicator' && query.kind !== 'funnel') {
              for (const event of output as RecordedEvent[]) {
                const category = categoryOf(event.streamId);
                if (category === 'audit') expect(readsAudit(principal)).toBe(true);
                if (role !== 'service' && (category === 'case' || category === 'child')) {
                  expect(inScope(event.streamId)).toBe(true);
                }
                // A service never gets a child-linked event with an area finer than the policy's
                // level; the area it gets is the recorded one, cut.
                const area = (event.data as { area?: unknown }).area;
                if (role === 'service' && childLinked(event) && area !== undefined) {
                  expect(typeof area).toBe('string');
                  expect(levelOf(area as string)).toBeLessThanOrEqual(serviceAreaLevel);
                  expect(recordedAreas.some((a) => a === area || a.startsWith(`${area as string}-`))).toBe(
                    true,
                  );
                }
              }
            }

            // Exactly the audit entries the rules call for, each naming the principal.
            const entries = (await auditEntries(raw)).slice(before);
            expect(entries).toHaveLength(expectedEntries);
            for (const entry of entries as AuditEntry[]) {
              expect(entry.principal).toEqual({ id: principal.id, role: principal.role });
            }
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
