import { z } from 'zod';
import { slugId } from './common.js';

/**
 * An indicator is data, not code (as DHIS2 programme indicators and IATI results are): which
 * events it reads, what it measures, which date places an event in a period, and how it can
 * be broken down. The projections package evaluates these definitions.
 */

const fieldPath = z
  .string()
  .regex(/^[a-zA-Z][a-zA-Z0-9]*(\.[a-zA-Z0-9]+)*$/, 'must be a dotted field path such as data.area');

const eventTypeName = z.string().regex(/^[A-Z][A-Za-z0-9]+$/, 'must be an event type name');

const scalar = z.union([z.string(), z.number(), z.boolean()]);

export const indicatorCondition = z.discriminatedUnion('op', [
  z.strictObject({ field: fieldPath, op: z.literal('eq'), value: scalar }),
  z.strictObject({ field: fieldPath, op: z.literal('ne'), value: scalar }),
  z.strictObject({ field: fieldPath, op: z.literal('in'), values: z.array(scalar).min(1) }),
  /** The field is an array that contains the value. */
  z.strictObject({ field: fieldPath, op: z.literal('includes'), value: scalar }),
  z.strictObject({ field: fieldPath, op: z.literal('gte'), value: z.number() }),
  z.strictObject({ field: fieldPath, op: z.literal('lte'), value: z.number() }),
  z.strictObject({ field: fieldPath, op: z.literal('exists') }),
]);
export type IndicatorCondition = z.infer<typeof indicatorCondition>;

export const indicatorFilter = z.strictObject({
  eventTypes: z.array(eventTypeName).min(1, 'must name at least one event type'),
  where: z.array(indicatorCondition).optional(),
});
export type IndicatorFilter = z.infer<typeof indicatorFilter>;

/** One step of a pair of events tied by a key (disclosed → placed), with the date that places it. */
const stage = z.strictObject({
  eventType: eventTypeName,
  where: z.array(indicatorCondition).optional(),
  /** Defaults to metadata.occurredAt. */
  dateField: fieldPath.optional(),
});
export type IndicatorStage = z.infer<typeof stage>;

export const indicatorValue = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('count') }),
  z.strictObject({ kind: z.literal('distinct'), field: fieldPath }),
  z.strictObject({ kind: z.literal('sum'), field: fieldPath }),
  z.strictObject({
    kind: z.literal('ratio'),
    numerator: slugId,
    denominator: slugId,
    /** 100 for a percentage. */
    scale: z.number().positive().optional(),
  }),
  z.strictObject({
    kind: z.literal('medianDays'),
    from: stage,
    to: stage,
    /** The field that ties the two events together, e.g. data.caseId. */
    by: fieldPath,
  }),
  /**
   * Keys (e.g. cases) whose `from` event was followed by a `to` event, within `withinDays` when
   * given; placed in the period of the `from` event. "Followed up within 7 days".
   */
  z.strictObject({
    kind: z.literal('linked'),
    from: stage,
    to: stage,
    by: fieldPath,
    withinDays: z.number().int().nonnegative().optional(),
  }),
  /**
   * Keys (e.g. children) with a `from` and a later `to` measurement whose latest `to` value minus
   * the first `from` value is at least `atLeast` (every key with both when omitted); placed in
   * the period of the latest `to` event. "Wellbeing improved by 3 or more".
   */
  z.strictObject({
    kind: z.literal('change'),
    from: stage,
    to: stage,
    by: fieldPath,
    field: fieldPath,
    atLeast: z.number().optional(),
  }),
  /**
   * A stock, not a flow: keys opened by an `opens` event and not closed by a `closes` event as
   * of the end of each period. "Active kids' clubs".
   */
  z.strictObject({
    kind: z.literal('active'),
    opens: stage,
    closes: z.array(stage),
    by: fieldPath,
  }),
]);
export type IndicatorValue = z.infer<typeof indicatorValue>;

export const indicatorDefinition = z.strictObject({
  filter: indicatorFilter,
  value: indicatorValue,
  /** The field holding the date that places an event in a period; defaults to metadata.occurredAt. */
  dateField: fieldPath.optional(),
  /** Fields an indicator may be broken down by, e.g. data.sex, data.ageBand, data.area. */
  dimensions: z.array(fieldPath).optional(),
  /**
   * An array field whose elements are counted one by one (e.g. data.contacts); `item` and
   * `item.count` then name an element and its fields.
   */
  unnest: fieldPath.optional(),
  /**
   * Whom each counted value is about, when it is a child: the field holding the child's ref
   * (`{ child: 'data.childRef' }`, or `item` when unnesting refs) or a case number whose child
   * it is (`{ case: 'data.caseId' }`). Only children whose consent allows reporting are counted.
   */
  about: z.union([z.strictObject({ child: fieldPath }), z.strictObject({ case: fieldPath })]).optional(),
});
export type IndicatorDefinition = z.infer<typeof indicatorDefinition>;
