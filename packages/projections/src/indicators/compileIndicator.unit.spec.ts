import {
  CaseDisclosed,
  ClubSessionHeld,
  childRef,
  createEventRegistry,
  defineEvent,
  eventCatalog,
  householdRef,
  isValidationError,
  type ValidationError,
} from '@lantern/core';
import { describe, expect, it } from 'vitest';
import { builtInIndicators } from './builtInIndicators.js';
import { type CompileOptions, compileIndicators, type Indicator } from './compileIndicator.js';

const indicator = (definition: Indicator['definition'], id = 'test-indicator'): Indicator => ({
  id,
  title: 'Test',
  unit: 'things',
  measure: 'unit',
  ascending: true,
  definition,
});

const refusal = (indicators: Indicator[], options: CompileOptions = {}): Error => {
  try {
    compileIndicators(indicators, options);
  } catch (error) {
    return error as Error;
  }
  throw new Error('the definitions were accepted');
};

describe('indicator definitions are checked before any event is read', () => {
  it('accepts the built-in set', () => {
    expect(compileIndicators(builtInIndicators).size).toBe(builtInIndicators.length);
  });

  it('refuses an unknown event type, naming it', () => {
    const error = refusal([indicator({ filter: { eventTypes: ['ClubOpened'] }, value: { kind: 'count' } })]);
    expect(isValidationError(error)).toBe(true);
    expect(error.message).toMatch(/ClubOpened.*unknown event type/);
    // It speaks of the definition, not of an event sent to be stored.
    expect(error.message).toMatch(/Fix the definition and build the projection again; no event was read\.$/);
    expect(error.message).not.toMatch(/send the event again/);
  });

  it('refuses a field the event type does not have, in a condition, a dimension, a sum or a date', () => {
    const cases: Indicator['definition'][] = [
      {
        filter: { eventTypes: ['ClubSessionHeld'], where: [{ field: 'data.club', op: 'eq', value: 'x' }] },
        value: { kind: 'count' },
      },
      { filter: { eventTypes: ['ClubSessionHeld'] }, value: { kind: 'count' }, dimensions: ['data.area'] },
      { filter: { eventTypes: ['AidDistributed'] }, value: { kind: 'sum', field: 'data.quantity' } },
      { filter: { eventTypes: ['CaseDisclosed'] }, value: { kind: 'count' }, dateField: 'data.disclosedOn' },
      {
        filter: { eventTypes: ['CaseDisclosed'] },
        value: { kind: 'count' },
        dimensions: ['metadata.author'],
      },
    ];
    for (const definition of cases) {
      const error = refusal([indicator(definition)]);
      expect(isValidationError(error), error.message).toBe(true);
      expect(error.message).toMatch(/is not a (metadata )?field/);
    }
  });

  it('refuses a sum or a change of a field that holds no number, which would read as nothing', () => {
    const cases: [Indicator['definition'], string][] = [
      [{ filter: { eventTypes: ['CaseDisclosed'] }, value: { kind: 'sum', field: 'data.sex' } }, 'data.sex'],
      [
        {
          filter: { eventTypes: ['OutreachConducted'] },
          unnest: 'data.contacts',
          value: { kind: 'sum', field: 'item.sex' },
        },
        'item.sex',
      ],
      [
        {
          filter: { eventTypes: ['WellbeingAssessed'] },
          value: {
            kind: 'change',
            by: 'data.childRef',
            field: 'data.childRef',
            from: { eventType: 'WellbeingAssessed' },
            to: { eventType: 'WellbeingAssessed' },
          },
        },
        'data.childRef',
      ],
    ];
    for (const [definition, path] of cases) {
      const error = refusal([indicator(definition)]);
      expect(isValidationError(error), error.message).toBe(true);
      expect(error.message).toContain(`"${path}" does not hold a number`);
      expect(error.message).toMatch(/name a numeric field/);
    }
  });

  it('checks element fields against the array it unnests', () => {
    expect(
      compileIndicators([
        indicator({
          filter: { eventTypes: ['OutreachConducted'] },
          unnest: 'data.contacts',
          value: { kind: 'sum', field: 'item.count' },
          dimensions: ['item.sex'],
        }),
      ]).size,
    ).toBe(1);
    expect(
      refusal([
        indicator({
          filter: { eventTypes: ['OutreachConducted'] },
          unnest: 'data.contacts',
          value: { kind: 'sum', field: 'item.quantity' },
        }),
      ]).message,
    ).toMatch(/item.quantity.*not a field of the elements of data.contacts/);
    expect(
      refusal([
        indicator({
          filter: { eventTypes: ['OutreachConducted'] },
          unnest: 'data.area',
          value: { kind: 'count' },
        }),
      ]).message,
    ).toMatch(/unnest must name an array field/);
    expect(
      refusal([
        indicator({
          filter: { eventTypes: ['OutreachConducted'] },
          value: { kind: 'sum', field: 'item.count' },
        }),
      ]).message,
    ).toMatch(/unnests no array/);
  });

  it('refuses a ratio of an indicator that is not defined, and a stage outside the filter', () => {
    expect(
      refusal([
        indicator({
          filter: { eventTypes: ['CaseClosed'] },
          value: { kind: 'ratio', numerator: 'cases-closed', denominator: 'nothing-here' },
        }),
      ]).message,
    ).toMatch(/names indicator "cases-closed", which is not defined/);
    expect(
      refusal([
        indicator({
          filter: { eventTypes: ['CaseDisclosed'] },
          value: {
            kind: 'medianDays',
            by: 'data.caseId',
            from: { eventType: 'CaseDisclosed' },
            to: { eventType: 'ChildPlacedSafely' },
          },
        }),
      ]).message,
    ).toMatch(/reads ChildPlacedSafely, which filter.eventTypes does not list/);
  });

  it('refuses a definition of the wrong shape, and an indicator defined twice', () => {
    expect(
      refusal([
        indicator({ filter: { eventTypes: [] }, value: { kind: 'count' } } as Indicator['definition']),
      ]).message,
    ).toMatch(/at least one event type/);
    const twice = indicator({ filter: { eventTypes: ['CaseClosed'] }, value: { kind: 'count' } });
    expect(refusal([twice, twice]).message).toMatch(/defined twice/);
  });
});

describe('indicators cannot read protected fields', () => {
  const protectedRefusal =
    /names "\w+", a protected field of \w+.*may never be counted, broken down or filtered on/;

  const expectRefused = (definition: Indicator['definition'], path: string, options: CompileOptions = {}) => {
    const error = refusal([indicator(definition)], options);
    expect(isValidationError(error), error.message).toBe(true);
    expect(error.message).toMatch(protectedRefusal);
    expect((error as ValidationError).path).toBe(path);
  };

  it('refuses a protected field in a condition, even one that asks only whether it is there', () => {
    expectRefused(
      {
        filter: { eventTypes: ['CaseDisclosed'], where: [{ field: 'data.narrative', op: 'exists' }] },
        value: { kind: 'count' },
      },
      'data.narrative',
    );
    expectRefused(
      {
        filter: {
          eventTypes: ['ChildPlacedSafely'],
          where: [{ field: 'data.caregiverContact', op: 'eq', value: 'x' }],
        },
        value: { kind: 'count' },
      },
      'data.caregiverContact',
    );
  });

  it('refuses a protected field as a value, a dimension, a date, an unnest or a subject', () => {
    const cases: [Indicator['definition'], string][] = [
      [
        {
          filter: { eventTypes: ['ChildPlacedSafely'] },
          value: { kind: 'distinct', field: 'data.placementAddress' },
        },
        'data.placementAddress',
      ],
      [
        { filter: { eventTypes: ['CaseDisclosed'] }, value: { kind: 'sum', field: 'data.narrative' } },
        'data.narrative',
      ],
      [
        {
          filter: { eventTypes: ['CaseDisclosed'] },
          value: { kind: 'count' },
          dimensions: ['data.area', 'data.narrative'],
        },
        'data.narrative',
      ],
      [
        { filter: { eventTypes: ['CaseDisclosed'] }, value: { kind: 'count' }, dateField: 'data.narrative' },
        'data.narrative',
      ],
      [
        { filter: { eventTypes: ['CaseDisclosed'] }, value: { kind: 'count' }, unnest: 'data.narrative' },
        'data.narrative',
      ],
      [
        {
          filter: { eventTypes: ['CaseDisclosed'] },
          value: { kind: 'count' },
          about: { child: 'data.narrative' },
        },
        'data.narrative',
      ],
      // A part of the sealed value is the field all the same.
      [
        {
          filter: { eventTypes: ['CaseDisclosed'] },
          value: { kind: 'count' },
          dimensions: ['data.narrative.ct'],
        },
        'data.narrative.ct',
      ],
    ];
    for (const [definition, path] of cases) expectRefused(definition, path);
  });

  it('refuses a protected field in the stages, key or measured field of a keyed indicator', () => {
    const pair = { eventTypes: ['CaseDisclosed', 'ChildPlacedSafely'] };
    expectRefused(
      {
        filter: pair,
        value: {
          kind: 'medianDays',
          by: 'data.caseId',
          from: { eventType: 'CaseDisclosed', where: [{ field: 'data.narrative', op: 'exists' }] },
          to: { eventType: 'ChildPlacedSafely' },
        },
      },
      'data.narrative',
    );
    expectRefused(
      {
        filter: pair,
        value: {
          kind: 'linked',
          by: 'data.caseId',
          from: { eventType: 'CaseDisclosed' },
          to: { eventType: 'ChildPlacedSafely', dateField: 'data.placementAddress' },
        },
      },
      'data.placementAddress',
    );
    expectRefused(
      {
        filter: { eventTypes: ['ChildPlacedSafely'] },
        value: {
          kind: 'active',
          by: 'data.caregiverContact',
          opens: { eventType: 'ChildPlacedSafely' },
          closes: [],
        },
      },
      'data.caregiverContact',
    );
    expectRefused(
      {
        filter: pair,
        value: {
          kind: 'change',
          by: 'data.caseId',
          field: 'data.narrative',
          from: { eventType: 'CaseDisclosed' },
          to: { eventType: 'CaseDisclosed' },
        },
      },
      'data.narrative',
    );
  });

  it('refuses before any other check: the protected field is named even when the rest is wrong too', () => {
    // ChildPlacedSafely has no narrative; the refusal is still about CaseDisclosed's.
    expectRefused(
      {
        filter: { eventTypes: ['ChildPlacedSafely', 'CaseDisclosed'] },
        value: { kind: 'count' },
        dimensions: ['data.narrative'],
      },
      'data.narrative',
    );
  });

  it('marks the dimensions whose values name someone one by one, from the schema and by name', () => {
    // A custom type: a session's fields, and a subject that is a child's or a household's pseudonym.
    const base = ClubSessionHeld.schema as unknown as {
      extend(shape: Record<string, unknown>): typeof ClubSessionHeld.schema;
    };
    const ChildServed = defineEvent({
      type: 'ChildServed',
      schema: base.extend({
        subject: childRef.or(householdRef),
        piped: childRef.transform((ref) => ref),
        caught: childRef.catch('ch_0000000000000000'),
      }),
    });
    const registry = createEventRegistry([...Object.values(eventCatalog), ChildServed]);
    const countBy = (id: string, eventType: string, dimension: string, unnest?: string): Indicator => ({
      ...indicator(
        {
          filter: { eventTypes: [eventType] },
          ...(unnest === undefined ? {} : { unnest }),
          value: { kind: 'count' },
          dimensions: [dimension],
        },
        id,
      ),
    });
    const compiled = compileIndicators(
      [
        countBy('by-referral', 'CaseReferred', 'data.referralId'),
        countBy('by-auditor', 'AuditRecorded', 'data.principal.id'),
        countBy('by-subject', 'ChildServed', 'data.subject'),
        countBy('by-piped', 'ChildServed', 'data.piped'),
        countBy('by-caught', 'ChildServed', 'data.caught'),
        countBy('by-audit-target', 'AuditRecorded', 'data.target'),
        countBy('by-attendee', 'ClubSessionHeld', 'item', 'data.attendeeRefs'),
        countBy('by-worker', 'CaseDisclosed', 'metadata.recordedBy'),
        countBy('by-service', 'CaseReferred', 'data.service'),
        countBy('by-club', 'ClubSessionHeld', 'data.clubId'),
      ],
      { registry },
    );
    const identifies = (id: string) => compiled.get(id)?.dimensions[0]?.identifies;
    expect(identifies('by-referral')).toBe('a reference that ties it to a child');
    expect(identifies('by-auditor')).toBe('a staff or donor pseudonym');
    expect(identifies('by-subject')).toBe('a child pseudonym');
    expect(identifies('by-piped')).toBe('a child pseudonym');
    expect(identifies('by-caught')).toBe('a child pseudonym');
    expect(identifies('by-audit-target')).toBe('a case or a child read');
    expect(identifies('by-attendee')).toBe('a child pseudonym');
    expect(identifies('by-worker')).toBe('a staff pseudonym');
    // What describes: a service, a club.
    expect(identifies('by-service')).toBeUndefined();
    expect(identifies('by-club')).toBeUndefined();
  });

  it('reads the protection from the registry, for custom event types too', () => {
    const DisclosureReviewed = defineEvent({
      type: 'DisclosureReviewed',
      schema: CaseDisclosed.schema,
      protection: { subject: 'childRef', fields: ['narrative'] },
    });
    const registry = createEventRegistry([...Object.values(eventCatalog), DisclosureReviewed]);
    expectRefused(
      {
        filter: { eventTypes: ['DisclosureReviewed'], where: [{ field: 'data.narrative', op: 'exists' }] },
        value: { kind: 'count' },
      },
      'data.narrative',
      { registry },
    );
    // The same type's other fields are counted as usual.
    expect(
      compileIndicators(
        [
          indicator({
            filter: { eventTypes: ['DisclosureReviewed'] },
            value: { kind: 'distinct', field: 'data.childRef' },
            dimensions: ['data.sex', 'data.area'],
          }),
        ],
        { registry },
      ).size,
    ).toBe(1);
  });
});
