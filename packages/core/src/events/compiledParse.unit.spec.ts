import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compile, type z } from 'zod';
import { eventCatalog } from './catalog.js';

/**
 * Every event definition parses with zod's own compiled parser (`compile()`), which hands every
 * input it does not pass to the schema's runtime parser. These tests hold the two together on the
 * catalog's schemas: each compiles (so the fast path is really taken), and on valid data, on
 * mutations of it and on arbitrary values both give the same verdict, the same data and the same
 * first issue, so every ValidationError reads as before.
 */

/** True when the compiled and the runtime parser agree; returns whether the value was valid. */
const expectAgreement = (schema: z.ZodType, compiled: z.ZodType, value: unknown): boolean => {
  const runtime = schema.safeParse(value);
  const fast = compiled.safeParse(value);
  expect(fast.success).toBe(runtime.success);
  if (runtime.success && fast.success) {
    expect(isDeepStrictEqual(fast.data, runtime.data)).toBe(true);
    return true;
  }
  const [a, b] = [fast.error?.issues[0], runtime.error?.issues[0]];
  expect({ path: a?.path, message: a?.message }).toEqual({ path: b?.path, message: b?.message });
  return false;
};

// ---------------------------------------------------------------------------------------------
// Every catalog event: fixtures, mutations of them, and arbitrary values

const staff = 'st_00000000000000a1';
const child = 'ch_3f9a1c0b7e2d4a61';
const otherChild = 'ch_00000000000000a2';
const household = 'hh_00000000000000b1';
const agency = 'ag_00000000000000c1';
const sealed = {
  alg: 'A256GCM',
  iv: 'AAECAwQFBgcICQoL',
  tag: 'AAECAwQFBgcICQoLDA0ODw',
  ct: 'c2FsdGVkIGNpcGhlcnRleHQ',
};
const programme = { programmeId: 'psk-phnom-penh' };

/** Valid data of every catalog event type, with and without its optional fields. */
const fixtures: Record<string, readonly unknown[]> = {
  ProgrammeLaunched: [
    {
      ...programme,
      title: 'Safe childhoods in Phnom Penh',
      country: 'KH',
      timeZone: 'Asia/Phnom_Penh',
      plannedStart: '2019-01-01',
      plannedEnd: '2021-12-31',
      currency: 'USD',
      iatiIdentifier: 'KH-COH-123-psk',
    },
    {
      ...programme,
      title: 'Night outreach',
      country: 'KH',
      timeZone: 'Asia/Phnom_Penh',
      plannedStart: '2020-02-29',
      plannedEnd: '2020-02-29',
      currency: 'KHR',
    },
  ],
  ObjectiveDefined: [
    {
      ...programme,
      objectiveId: 'children-safe',
      level: 'outcome',
      parentId: 'impact',
      title: 'Children are safe',
    },
    { ...programme, objectiveId: 'impact', level: 'impact', title: 'Fewer children exploited' },
  ],
  IndicatorDefined: [
    {
      ...programme,
      indicatorId: 'night-contacts',
      objectiveId: 'children-safe',
      title: 'Child contacts on night outreach',
      measure: 'unit',
      ascending: true,
      definition: {
        filter: {
          eventTypes: ['OutreachConducted'],
          where: [
            { field: 'data.mode', op: 'eq', value: 'night-outreach' },
            { field: 'item.ageBand', op: 'in', values: ['0-4', '5-11', 12, true] },
            { field: 'item.count', op: 'gte', value: 1 },
            { field: 'data.area', op: 'exists' },
          ],
        },
        value: { kind: 'sum', field: 'item.count' },
        dateField: 'data.shiftStart',
        dimensions: ['item.sex', 'item.ageBand'],
        unnest: 'data.contacts',
        about: { child: 'item' },
      },
    },
    {
      ...programme,
      indicatorId: 'cases-followed-up',
      objectiveId: 'children-safe',
      title: 'Cases followed up within 7 days',
      measure: 'percentage',
      ascending: false,
      definition: {
        filter: { eventTypes: ['CaseDisclosed', 'CaseFollowedUp'] },
        value: {
          kind: 'linked',
          from: { eventType: 'CaseDisclosed', where: [{ field: 'data.sex', op: 'ne', value: 'male' }] },
          to: { eventType: 'CaseFollowedUp', dateField: 'data.followedUpOn' },
          by: 'data.caseId',
          withinDays: 7,
        },
        about: { case: 'data.caseId' },
      },
    },
    {
      ...programme,
      indicatorId: 'active-clubs',
      objectiveId: 'children-safe',
      title: 'Active kids’ clubs',
      measure: 'unit',
      ascending: true,
      definition: {
        filter: { eventTypes: ['ClubEstablished', 'ClubClosed'] },
        value: {
          kind: 'active',
          opens: {
            eventType: 'ClubEstablished',
            where: [{ field: 'data.kind', op: 'eq', value: 'kids-club' }],
          },
          closes: [{ eventType: 'ClubClosed' }],
          by: 'data.clubId',
        },
      },
    },
  ],
  TargetSet: [
    {
      ...programme,
      indicatorId: 'night-contacts',
      periodStart: '2020-01-01',
      periodEnd: '2020-12-31',
      value: 120,
      baseline: 80,
    },
  ],
  TargetRevised: [
    {
      ...programme,
      indicatorId: 'night-contacts',
      periodStart: '2020-01-01',
      periodEnd: '2020-12-31',
      value: 95.5,
    },
  ],
  BudgetApproved: [
    {
      ...programme,
      periodStart: '2020-01-01',
      periodEnd: '2020-12-31',
      amount: {
        amount: 5_000_000,
        currency: 'USD',
        original: { amount: 4_600_000, currency: 'EUR', rateDate: '2019-12-15' },
      },
      status: 'committed',
    },
    {
      ...programme,
      periodStart: '2021-01-01',
      periodEnd: '2021-06-30',
      amount: { amount: 1, currency: 'USD' },
      status: 'indicative',
    },
  ],
  FundsReceived: [
    {
      ...programme,
      amount: { amount: 1_000_000, currency: 'USD' },
      receivedOn: '2019-01-15',
      donorRef: 'dn_00000000000000d1',
      kind: 'funds',
    },
  ],
  ExpenditureRecorded: [
    {
      ...programme,
      amount: { amount: 25_000, currency: 'USD' },
      spentOn: '2019-02-01',
      category: 'transport',
    },
  ],
  ClubEstablished: [
    {
      ...programme,
      clubId: 'smc-00001',
      name: 'Stung Meanchey kids’ club',
      area: 'KH-12-09',
      kind: 'kids-club',
      establishedOn: '2019-01-10',
    },
  ],
  ClubSessionHeld: [
    {
      clubId: 'smc-00001',
      heldOn: '2020-03-14',
      activity: 'healing-arts',
      attendance: [
        { sex: 'female', ageBand: '5-11', count: 4 },
        { sex: 'male', ageBand: '12-17', count: 2 },
        { sex: 'unknown', ageBand: 'unknown', count: 0 },
      ],
      attendeeRefs: [child, otherChild],
    },
    { clubId: 'smc-00002', heldOn: '2020-03-15', activity: 'play', attendance: [] },
  ],
  ClubSuspended: [{ clubId: 'smc-00001', reason: 'covid-19-restrictions' }],
  ClubResumed: [{ clubId: 'smc-00001', reason: 'restrictions-lifted' }],
  ClubClosed: [{ clubId: 'smc-00001', reason: 'merged' }],
  OutreachConducted: [
    {
      ...programme,
      teamId: 'night-team-1',
      mode: 'night-outreach',
      area: 'KH-12-01',
      shiftStart: '2019-06-01T19:00:00+07:00',
      shiftEnd: '2019-06-01T23:30:00+07:00',
      contacts: [
        { sex: 'female', ageBand: '12-17', count: 3 },
        { sex: 'male', ageBand: '18+', count: 5 },
      ],
      newChildRefs: [child],
      leafletsDistributed: 40,
    },
  ],
  HomeVisitConducted: [
    {
      ...programme,
      householdRef: household,
      childRefs: [child, otherChild],
      reason: 'case-follow-up',
      area: 'KH-12',
    },
  ],
  AwarenessSessionHeld: [
    {
      ...programme,
      audience: 'parents',
      topic: 'child-safety',
      participants: [
        { sex: 'female', count: 12 },
        { sex: 'male', count: 3 },
      ],
      area: 'KH-12-09-03',
    },
  ],
  LiteratureDistributed: [
    { ...programme, material: 'child-rights', quantity: 200, audience: 'community', area: 'KH' },
  ],
  AidDistributed: [
    {
      ...programme,
      distributionId: 'covid-relief-1',
      area: 'KH-12-09',
      householdRef: household,
      items: [
        { item: 'rice', quantity: 25, unit: 'kg' },
        { item: 'soy-sauce', quantity: 1.5, unit: 'litre' },
      ],
      context: 'covid-relief',
    },
  ],
  StaffTrained: [{ ...programme, staffRef: staff, course: 'first-aid', hours: 7.5 }],
  ChildRegistered: [
    {
      ...programme,
      childRef: child,
      sex: 'female',
      ageBand: '12-17',
      area: 'KH-12-09',
      identifiedVia: 'outreach',
      consent: { services: true, reporting: true, tracing: false, sharing: [agency] },
      consentGivenBy: 'caregiver',
      legalBasis: 'consent',
    },
  ],
  ConsentChanged: [
    {
      childRef: child,
      consent: { services: true, reporting: false, tracing: false, sharing: [] },
      withdrawn: true,
      consentGivenBy: 'child',
    },
  ],
  WellbeingAssessed: [{ childRef: child, instrument: 'who-5', score: 13.5, kind: 'initial' }],
  ChildDataErased: [{ childRef: child, requestedBy: staff, erasedAt: '2020-05-31T23:30:00+07:00' }],
  CaseDisclosed: [
    {
      ...programme,
      caseId: 'PP-2020-014',
      childRef: child,
      sex: 'female',
      ageBand: '5-11',
      area: 'KH-12-09',
      concerns: ['sexual-abuse', 'neglect'],
      disclosedVia: 'home-visit',
      perpetratorRelation: 'relative',
      narrative: sealed,
    },
    {
      ...programme,
      caseId: 'PP-2020-015',
      childRef: otherChild,
      sex: 'male',
      ageBand: '12-17',
      area: 'KH-12',
      concerns: ['trafficking'],
      disclosedVia: 'outreach',
    },
  ],
  RiskAssessed: [{ caseId: 'PP-2020-014', level: 'high', concerns: ['trafficking', 'neglect'] }],
  CaseReferred: [
    {
      caseId: 'PP-2020-014',
      referralId: 'ref-1',
      service: 'shelter',
      toAgencyRef: agency,
      consentBasis: { kind: 'overridden', reason: 'imminent-danger' },
    },
    {
      caseId: 'PP-2020-014',
      referralId: 'ref-2',
      service: 'legal',
      toAgencyRef: agency,
      consentBasis: { kind: 'given' },
    },
  ],
  ServiceDelivered: [
    { caseId: 'PP-2020-014', referralId: 'ref-1', service: 'medical', deliveredOn: '2020-06-02' },
    { caseId: 'PP-2020-014', service: 'counselling', deliveredOn: '2020-06-03' },
  ],
  CaseFollowedUp: [
    { caseId: 'PP-2020-014', followedUpOn: '2020-07-01', kind: 'home-visit', placementStable: true },
  ],
  ChildPlacedSafely: [
    {
      caseId: 'PP-2020-014',
      childRef: child,
      placementType: 'kinship',
      caregiverRelation: 'grandparent',
      caregiverContact: sealed,
      placementAddress: sealed,
    },
    { caseId: 'PP-2020-014', childRef: child, placementType: 'parent', caregiverRelation: 'mother' },
  ],
  CaseClosed: [{ caseId: 'PP-2020-014', reason: 'goals-met' }],
  CaseReopened: [{ caseId: 'PP-2020-014', reason: 'returned' }],
  AuditRecorded: [
    {
      ...programme,
      principal: { id: staff, role: 'case-manager' },
      action: 'access-denied',
      target: 'case-PP-2020-014',
      purpose: 'case-management',
      reference: 'REQ-2020-17',
      refused: 'case-read',
    },
    {
      ...programme,
      principal: { id: 'svc-sync-server', role: 'service' },
      action: 'export',
      target: '$all',
      purpose: 'reporting',
    },
  ],
};

type Json = unknown;
type Path = readonly number[];

/** Every enum value and literal of the catalog, and every key of its objects: near misses to try. */
const catalogWords = (() => {
  const values = new Set<unknown>();
  const keys = new Set<string>();
  const seen = new Set<unknown>();
  const walk = (node: unknown): void => {
    if (typeof node !== 'object' || node === null || seen.has(node)) return;
    seen.add(node);
    const zod = (node as { _zod?: { def?: Record<string, unknown>; values?: unknown } })._zod;
    if (!zod?.def) return;
    if (zod.values instanceof Set) for (const value of zod.values) values.add(value);
    const def = zod.def;
    if (def.type === 'object') {
      for (const [key, child] of Object.entries(def.shape as object)) {
        keys.add(key);
        walk(child);
      }
    }
    for (const field of ['element', 'innerType']) walk(def[field]);
    if (Array.isArray(def.options)) for (const option of def.options) walk(option);
  };
  for (const definition of Object.values(eventCatalog)) walk(definition.schema);
  return { values: [...values], keys: [...keys] };
})();

/** Values that sit on the edge of some rule of the catalog, or break every one. */
const oddValue: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(
    -0,
    0,
    1,
    -1,
    0.5,
    1.5,
    1000,
    1000.5,
    4000,
    1e21,
    2 ** 53,
    2 ** 53 - 1,
    -(2 ** 53),
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    null,
    undefined,
    true,
    false,
    [],
    {},
    '',
    ' ',
    '\u00a0',
    '\t',
    '2020-02-29',
    '2019-02-29',
    '2020-13-01',
    '2020-05-31T23:30:00+07:00',
    '2020-05-31T23:30:00Z',
    '2020-05-31T23:30:00',
    '2020-05-31T24:00:00+07:00',
    '2020-05-31T23:30:00.123+07:00',
    'KH',
    'KH-12-09-03-01',
    'USD',
    'A256GCM',
    'Asia/Phnom_Penh',
    'Mars/Olympus_Mons',
    'PP-2020-014',
    'PP-NOTE',
    child,
    child.toUpperCase(),
    `${child}0`,
    staff,
    'svc-sync-server',
    '😀',
    '😀'.repeat(61),
    'x'.repeat(120),
    'x'.repeat(121),
    '__proto__',
  ),
  fc.constantFrom(...catalogWords.values),
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.integer(),
  fc.double(),
  fc.jsonValue({ maxDepth: 2 }),
);

/** A change to one spot of a value: where (a path of child indices) and what. */
type Mutation = { path: Path; op: number; value: Json; key: string; n: number };

const mutation: fc.Arbitrary<Mutation> = fc.record({
  path: fc.array(fc.nat(), { maxLength: 5 }),
  op: fc.nat(9),
  value: oddValue,
  key: fc.oneof(
    fc.constantFrom(...catalogWords.keys),
    fc.constantFrom('__proto__', 'constructor', 'notes', ''),
  ),
  n: fc.nat(),
});

const childrenOf = (node: Json): [string | number, Json][] =>
  Array.isArray(node)
    ? Array.from(node, (item, i): [number, Json] => [i, item])
    : typeof node === 'object' && node !== null
      ? Object.entries(node)
      : [];

/** Changes one spot of a (cloned) value; returns the new value. */
const mutate = (root: Json, { path, op, value, key, n }: Mutation): Json => {
  const at = (node: Json, rest: Path): Json => {
    const [step, ...deeper] = rest;
    const children = childrenOf(node);
    if (step === undefined || children.length === 0) return change(node);
    const [name, child] = children[step % children.length] as [string | number, Json];
    (node as Record<string | number, Json>)[name] = at(child, deeper);
    return node;
  };
  const change = (node: Json): Json => {
    if (Array.isArray(node)) {
      const item = node[n % Math.max(1, node.length)];
      switch (op % 5) {
        case 0:
          return node.slice(0, -1);
        case 1:
          return [...node, node.length > 0 ? structuredClone(item) : value];
        case 2:
          // A long list with repeats.
          return Array.from({ length: 40 + (n % 40) }, () => structuredClone(item ?? value));
        case 3: {
          const holey = [...node];
          holey.length += 1;
          return holey;
        }
        default:
          return value;
      }
    }
    if (typeof node === 'object' && node !== null) {
      const record = node as Record<string, Json>;
      const keys = Object.keys(record);
      const some = keys[n % Math.max(1, keys.length)];
      switch (op % 5) {
        case 0:
          if (some !== undefined) delete record[some];
          return record;
        case 1:
          // Own keys only, even `__proto__`, as JSON.parse makes them.
          Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
          return record;
        case 2:
          if (some !== undefined) record[some] = undefined;
          return record;
        case 3:
          // The same keys in another order.
          return Object.fromEntries(Object.entries(record).reverse());
        default:
          return value;
      }
    }
    if (typeof node === 'string') {
      switch (op % 6) {
        case 0:
          return ` ${node}`;
        case 1:
          return `${node} `;
        case 2:
          return node.toUpperCase();
        case 3:
          return node.slice(0, -1);
        case 4:
          return `${node}${node.at(-1) ?? 'x'}`;
        default:
          return value;
      }
    }
    if (typeof node === 'number') {
      switch (op % 5) {
        case 0:
          return -node;
        case 1:
          return node + 0.5;
        case 2:
          return node * 1e21;
        case 3:
          return -0;
        default:
          return value;
      }
    }
    return value;
  };
  return at(root, path);
};

const mutatedFrom = (valid: readonly unknown[]): fc.Arbitrary<Json> =>
  fc
    .tuple(fc.constantFrom(...valid), fc.array(mutation, { minLength: 1, maxLength: 3 }))
    .map(([fixture, mutations]) => mutations.reduce(mutate, structuredClone(fixture)));

describe("zod's compiled parser on every catalog event", () => {
  const definitions = Object.values(eventCatalog);

  it('compiles every schema of the catalog, and valid fixtures of every type parse', () => {
    for (const definition of definitions) {
      const valid = fixtures[definition.type];
      expect(valid, `add valid ${definition.type} data to the fixtures above`).toBeDefined();
      // strict: a schema the fast path cannot model throws here instead of quietly running slowly.
      const compiled = compile(definition.schema as z.ZodType, { strict: true });
      for (const data of valid ?? []) {
        expect(compiled.safeParse(data).success, `${definition.type} fixture is valid`).toBe(true);
        expect(definition.parse(data)).toEqual(data);
      }
    }
  });

  it.each(definitions.map((definition) => [definition.type, definition] as const))(
    '%s: compiled and runtime parsers agree on mutations of valid data',
    (type, definition) => {
      const compiled = compile(definition.schema as z.ZodType);
      let passed = 0;
      fc.assert(
        fc.property(mutatedFrom(fixtures[type] ?? [{}]), (data) => {
          if (expectAgreement(definition.schema as z.ZodType, compiled, data)) passed++;
        }),
        { numRuns: 250 },
      );
      // Some mutations keep the data valid (reordered keys, a repeated enum value…): both sides are reached.
      expect(passed).toBeGreaterThan(0);
    },
  );

  it('agrees with the runtime parser on arbitrary values, for every event type', () => {
    const pairs = definitions.map(
      (definition) => [definition.schema as z.ZodType, compile(definition.schema as z.ZodType)] as const,
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          fc.anything({ withNullPrototype: true, withSparseArray: true, withBoxedValues: true }),
        ),
        (value) => {
          for (const [schema, compiled] of pairs) expectAgreement(schema, compiled, value);
        },
      ),
      { numRuns: 400 },
    );
  });
});
