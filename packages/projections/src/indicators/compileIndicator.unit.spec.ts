import { isValidationError } from '@lantern/core';
import { describe, expect, it } from 'vitest';
import { builtInIndicators } from './builtInIndicators.js';
import { compileIndicators, type Indicator } from './compileIndicator.js';

const indicator = (definition: Indicator['definition'], id = 'test-indicator'): Indicator => ({
  id,
  title: 'Test',
  unit: 'things',
  measure: 'unit',
  ascending: true,
  definition,
});

const refusal = (indicators: Indicator[]): Error => {
  try {
    compileIndicators(indicators);
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
