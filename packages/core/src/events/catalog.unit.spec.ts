import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors/errors.js';
import { eventCatalog } from './catalog.js';
import { caseId, childRef, householdRef } from './common.js';
import { defaultEventRegistry } from './defaultRegistry.js';

/** The catalog named by DESIGN.md, every type of it. */
const designCatalog = [
  'ClubEstablished',
  'OutreachConducted',
  'CaseDisclosed',
  'ChildPlacedSafely',
  'AidDistributed',
  'ProgrammeLaunched',
  'ObjectiveDefined',
  'IndicatorDefined',
  'TargetSet',
  'TargetRevised',
  'BudgetApproved',
  'FundsReceived',
  'ExpenditureRecorded',
  'StaffTrained',
  'ChildRegistered',
  'ConsentChanged',
  'ClubSessionHeld',
  'ClubSuspended',
  'ClubResumed',
  'ClubClosed',
  'HomeVisitConducted',
  'AwarenessSessionHeld',
  'LiteratureDistributed',
  'RiskAssessed',
  'CaseReferred',
  'ServiceDelivered',
  'CaseFollowedUp',
  'WellbeingAssessed',
  'CaseClosed',
  'CaseReopened',
  'ChildDataErased',
  // Not in DESIGN.md's table: the audit trail its privacy section asks for.
  'AuditRecorded',
];

const disclosure = {
  programmeId: 'psk-phnom-penh',
  caseId: 'PP-2020-014',
  childRef: 'ch_3f9a1c0b7e2d4a61',
  sex: 'female',
  ageBand: '5-11',
  area: 'KH-12-09',
  concerns: ['sexual-abuse'],
  disclosedVia: 'home-visit',
};

describe('event catalog', () => {
  it('exports every event type DESIGN.md lists, and nothing twice', () => {
    expect(Object.keys(eventCatalog).sort()).toEqual([...designCatalog].sort());
    expect(defaultEventRegistry.types).toHaveLength(designCatalog.length);
  });

  it.each(Object.values(eventCatalog).map((d) => [d.type, d] as const))(
    '%s has a PascalCase name, a schema version and a schema that rejects {}',
    (type, definition) => {
      expect(type).toMatch(/^[A-Z][a-z]+[A-Za-z]*$/);
      expect(definition.schemaVersion).toBeGreaterThanOrEqual(1);
      expect(() => definition.parse({})).toThrow(ValidationError);
    },
  );

  it('names the event, the field path and the rule when data is wrong', () => {
    try {
      eventCatalog.CaseDisclosed.parse({ ...disclosure, ageBand: '9' });
      expect.unreachable('an invalid age band must be refused');
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      const e = error as ValidationError;
      expect(e.eventType).toBe('CaseDisclosed');
      expect(e.path).toBe('data.ageBand');
      expect(e.rule).toMatch(/0-4|option|expected/i);
      expect(e.message).toContain('CaseDisclosed');
    }
  });

  it('reports a malformed budget date as a ValidationError of that field, not a crash', () => {
    const budget = {
      programmeId: 'psk-phnom-penh',
      periodStart: '2020-1-01',
      periodEnd: '2020-11-30',
      amount: { amount: 3_800_000, currency: 'USD' },
      status: 'committed',
    };
    expect(() => eventCatalog.BudgetApproved.parse(budget)).toThrow(ValidationError);
    expect(() => eventCatalog.BudgetApproved.parse(budget)).toThrow(/periodStart/);
  });

  it('refuses a name where a child pseudonym belongs', () => {
    for (const childRef of ['Lisa', 'Srey Noy', '2011-04-02', 'ch_lisa', 'ch_20110402']) {
      expect(() => eventCatalog.CaseDisclosed.parse({ ...disclosure, childRef })).toThrow(/childRef/);
    }
  });

  it('refuses a field the schema does not know (no free text slips in)', () => {
    expect(() => eventCatalog.CaseDisclosed.parse({ ...disclosure, notes: 'her name is Lisa' })).toThrow(
      ValidationError,
    );
  });

  it('keeps money in positive integer minor units', () => {
    const funds = {
      programmeId: 'psk-phnom-penh',
      receivedOn: '2019-01-15',
      donorRef: 'dn_00000000000000d1',
      kind: 'funds',
    };
    expect(() =>
      eventCatalog.FundsReceived.parse({ ...funds, amount: { amount: 1_000_000, currency: 'USD' } }),
    ).not.toThrow();
    for (const amount of [0, -5, 10.5]) {
      expect(() =>
        eventCatalog.FundsReceived.parse({ ...funds, amount: { amount, currency: 'USD' } }),
      ).toThrow(/data\.amount\.amount/);
    }
  });

  it('upcasts OutreachConducted v1 (one head count) to v2 (contacts by sex and age band)', () => {
    const v1 = {
      programmeId: 'psk-phnom-penh',
      teamId: 'night-team-1',
      mode: 'night-outreach',
      area: 'KH-12-01',
      shiftStart: '2019-06-01T19:00:00+07:00',
      shiftEnd: '2019-06-01T23:30:00+07:00',
      childrenReached: 23,
      leafletsDistributed: 40,
    };
    expect(eventCatalog.OutreachConducted.schemaVersion).toBe(2);
    expect(eventCatalog.OutreachConducted.upcast(v1, 1)).toEqual({
      programmeId: 'psk-phnom-penh',
      teamId: 'night-team-1',
      mode: 'night-outreach',
      area: 'KH-12-01',
      shiftStart: '2019-06-01T19:00:00+07:00',
      shiftEnd: '2019-06-01T23:30:00+07:00',
      contacts: [{ sex: 'unknown', ageBand: 'unknown', count: 23 }],
      newChildRefs: [],
      leafletsDistributed: 40,
    });
    expect(() => eventCatalog.OutreachConducted.upcast({ ...v1, childrenReached: -1 }, 1)).toThrow(
      /childrenReached/,
    );
    expect(() => eventCatalog.OutreachConducted.upcast(v1, 3)).toThrow(/upgrade Lantern/);
  });

  it('parsing is idempotent: parse(parse(x)) equals parse(x) for any valid counts', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.record({
            sex: fc.constantFrom('female', 'male', 'other', 'unknown'),
            ageBand: fc.constantFrom('0-4', '5-11', '12-17', '18+', 'unknown'),
            count: fc.nat(500),
          }),
          { selector: (c) => `${c.sex}|${c.ageBand}` },
        ),
        (contacts) => {
          const data = {
            programmeId: 'psk-phnom-penh',
            teamId: 'night-team-1',
            mode: 'street',
            area: 'KH-12',
            shiftStart: '2019-06-01T19:00:00+07:00',
            shiftEnd: '2019-06-01T21:00:00+07:00',
            contacts,
            newChildRefs: [],
            leafletsDistributed: 0,
          };
          const once = eventCatalog.OutreachConducted.parse(data);
          expect(eventCatalog.OutreachConducted.parse(once)).toEqual(once);
          expect(JSON.parse(JSON.stringify(once))).toEqual(once);
        },
      ),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// No free text about a child outside protected fields

type SchemaDef = { readonly type?: string; readonly [key: string]: unknown };
const defOf = (schema: unknown): SchemaDef => (schema as { _zod: { def: SchemaDef } })._zod.def;

/** A string schema that is an enum, a literal, a format (date, uuid…) or matches a pattern. */
const isConstrainedString = (def: SchemaDef): boolean =>
  typeof def.format === 'string' ||
  (Array.isArray(def.checks) && def.checks.some((check) => defOf(check).check === 'string_format'));

/** Every path of an event's data that takes a free string, e.g. `ClubEstablished.name`. */
const freeTextPaths = (type: string, schema: unknown, skip: readonly string[]): string[] => {
  const found: string[] = [];
  const walk = (node: unknown, path: string): void => {
    const def = defOf(node);
    if (def.type === 'string') {
      if (!isConstrainedString(def)) found.push(path);
    } else if (def.type === 'object') {
      for (const [key, child] of Object.entries(def.shape as Record<string, unknown>)) {
        if (!(path === type && skip.includes(key))) walk(child, `${path}.${key}`);
      }
    } else if (def.type === 'array') {
      walk(def.element, `${path}[]`);
    } else if (def.type === 'optional' || def.type === 'nullable') {
      walk(def.innerType, path);
    } else if (def.type === 'union') {
      for (const option of def.options as unknown[]) walk(option, path);
    } else if (def.type === 'record') {
      walk(def.keyType, `${path}{key}`);
      walk(def.valueType, `${path}{}`);
    } else if (def.type === 'pipe') {
      walk(def.in, path);
      walk(def.out, path);
    } else if (def.type === 'any' || def.type === 'unknown' || def.type === 'custom') {
      // Takes anything, free text included.
      found.push(path);
    }
  };
  walk(schema, type);
  return found;
};

/** Strings that name a child, a household or a case tie an event to a child. */
const patternsOf = (schema: unknown): string[] =>
  ((defOf(schema).checks as unknown[] | undefined) ?? [])
    .map((check) => defOf(check).pattern)
    .filter((pattern): pattern is RegExp => pattern instanceof RegExp)
    .map((pattern) => pattern.source);
const childLinks = new Set([childRef, householdRef, caseId].flatMap(patternsOf));
const isChildLinked = (schema: unknown): boolean => {
  let linked = false;
  const walk = (node: unknown): void => {
    const def = defOf(node);
    if (def.type === 'string' && Array.isArray(def.checks)) {
      for (const check of def.checks) {
        const pattern = defOf(check).pattern;
        if (pattern instanceof RegExp && childLinks.has(pattern.source)) linked = true;
      }
    }
    if (def.type === 'object') for (const child of Object.values(def.shape as object)) walk(child);
    if (def.type === 'array') walk(def.element);
    if (def.type === 'optional' || def.type === 'nullable') walk(def.innerType);
    if (def.type === 'union') for (const option of def.options as unknown[]) walk(option);
  };
  walk(schema);
  return linked;
};

/**
 * Free strings the catalog allows, each about the programme itself and never about a child:
 * titles and names staff give to the programme's own things, the programme's time zone (checked
 * against the IANA list), the values an indicator definition compares fields with, and the
 * audit principal's id (checked against the role's pseudonym pattern).
 */
const allowedFreeText = [
  'ProgrammeLaunched.title',
  'ProgrammeLaunched.timeZone',
  'ObjectiveDefined.title',
  'IndicatorDefined.title',
  'ClubEstablished.name',
  /^IndicatorDefined\.definition\..*\.value(s\[\])?$/,
  'AuditRecorded.principal.id',
];
const isAllowed = (path: string): boolean =>
  allowedFreeText.some((allowed) => (typeof allowed === 'string' ? allowed === path : allowed.test(path)));

describe('free text in the catalog', () => {
  const definitions = Object.values(eventCatalog);

  it('holds no free-text string outside protected fields, but for programme-level titles', () => {
    const offending = definitions.flatMap((definition) =>
      freeTextPaths(definition.type, definition.schema, definition.protection?.fields ?? []).filter(
        (path) => !isAllowed(path),
      ),
    );
    expect(offending).toEqual([]);
  });

  it('allows no free text at all in child-linked events, outside their protected fields', () => {
    const linked = definitions.filter((definition) => isChildLinked(definition.schema));
    expect(linked.map((d) => d.type)).toEqual(
      expect.arrayContaining(['CaseDisclosed', 'ChildPlacedSafely', 'ChildRegistered', 'HomeVisitConducted']),
    );
    const offending = linked.flatMap((definition) =>
      freeTextPaths(definition.type, definition.schema, definition.protection?.fields ?? []),
    );
    expect(offending).toEqual([]);
  });

  it('finds free text where there is some (the scan itself works)', () => {
    expect(freeTextPaths('ClubEstablished', eventCatalog.ClubEstablished.schema, [])).toEqual([
      'ClubEstablished.name',
    ]);
  });

  it('protects every free-text field a child-linked event carries, with the child as its subject', () => {
    for (const definition of definitions.filter((d) => d.protection)) {
      expect(definition.protection?.subject).toBe('childRef');
    }
    expect(eventCatalog.CaseDisclosed.protection?.fields).toEqual(['narrative']);
    expect(eventCatalog.ChildPlacedSafely.protection?.fields).toEqual([
      'caregiverContact',
      'placementAddress',
    ]);
  });
});
