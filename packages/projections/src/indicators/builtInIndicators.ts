import type { Indicator } from './compileIndicator.js';

/**
 * The built-in results framework (DESIGN.md, "Indicators"), each indicator defined exactly once,
 * as data. Programmes use them as they are, leave some out, or add their own beside them.
 *
 * Choices worth knowing:
 * - Night outreach counts contacts under 18 (a crowd's adults are not the programme's children);
 *   the counts are anonymous head counts, so consent does not apply to them.
 * - Leaflets handed out on an outreach shift (OutreachConducted) and in a distribution
 *   (LiteratureDistributed) are two indicators: one event records one or the other, never both.
 * - Indicators about a named child (a ref, or a case number) count only children whose latest
 *   consent allows reporting.
 */

const sexAgeArea = ['data.sex', 'data.ageBand', 'data.area'];
const familyBasedCare = ['parent', 'kinship', 'foster', 'adoptive'];

export const builtInIndicators: readonly Indicator[] = [
  {
    id: 'active-kids-clubs',
    protect: false,
    title: "Active kids' clubs",
    unit: 'clubs',
    measure: 'unit',
    ascending: true,
    note: 'Kids’ clubs established and not closed at the end of the period (a suspended club stays active).',
    definition: {
      filter: { eventTypes: ['ClubEstablished', 'ClubClosed'] },
      value: {
        kind: 'active',
        by: 'data.clubId',
        opens: {
          eventType: 'ClubEstablished',
          where: [{ field: 'data.kind', op: 'eq', value: 'kids-club' }],
          dateField: 'data.establishedOn',
        },
        closes: [{ eventType: 'ClubClosed' }],
      },
      dimensions: ['data.area'],
    },
  },
  {
    id: 'children-in-clubs',
    title: 'Unique children attending clubs',
    unit: 'children',
    measure: 'unit',
    ascending: true,
    definition: {
      filter: { eventTypes: ['ClubSessionHeld'] },
      unnest: 'data.attendeeRefs',
      value: { kind: 'distinct', field: 'item' },
      dateField: 'data.heldOn',
      about: { child: 'item' },
    },
  },
  {
    id: 'children-reached-night-outreach',
    title: 'Child contacts on night outreach',
    unit: 'contacts',
    measure: 'unit',
    ascending: true,
    note: 'Contacts, not unique children: a child met on two shifts counts twice. Adults are left out.',
    definition: {
      filter: {
        eventTypes: ['OutreachConducted'],
        where: [
          { field: 'data.mode', op: 'eq', value: 'night-outreach' },
          { field: 'item.ageBand', op: 'ne', value: '18+' },
        ],
      },
      unnest: 'data.contacts',
      value: { kind: 'sum', field: 'item.count' },
      dateField: 'data.shiftStart',
      dimensions: ['item.sex', 'item.ageBand', 'data.area'],
    },
  },
  {
    id: 'cases-disclosed',
    title: 'New cases disclosed',
    unit: 'cases',
    measure: 'unit',
    ascending: true,
    definition: {
      filter: { eventTypes: ['CaseDisclosed'] },
      value: { kind: 'count' },
      dimensions: sexAgeArea,
      about: { child: 'data.childRef' },
    },
  },
  {
    id: 'cases-disclosed-by-concern',
    title: 'New cases disclosed, by concern',
    unit: 'cases',
    measure: 'unit',
    ascending: true,
    note: 'A case with two concerns counts under each: the concerns add up to more than the cases.',
    definition: {
      filter: { eventTypes: ['CaseDisclosed'] },
      unnest: 'data.concerns',
      value: { kind: 'count' },
      dimensions: ['item'],
      about: { child: 'data.childRef' },
    },
  },
  {
    id: 'cases-followed-up-within-7-days',
    title: 'Cases followed up within 7 days of disclosure',
    unit: 'cases',
    measure: 'unit',
    ascending: true,
    definition: {
      filter: { eventTypes: ['CaseDisclosed', 'CaseFollowedUp'] },
      value: {
        kind: 'linked',
        by: 'data.caseId',
        from: { eventType: 'CaseDisclosed' },
        to: { eventType: 'CaseFollowedUp', dateField: 'data.followedUpOn' },
        withinDays: 7,
      },
      dimensions: sexAgeArea,
      about: { child: 'data.childRef' },
    },
  },
  {
    id: 'pct-cases-followed-up-within-7-days',
    title: '% of cases followed up within 7 days',
    unit: '%',
    measure: 'percentage',
    ascending: true,
    definition: {
      filter: { eventTypes: ['CaseDisclosed'] },
      value: {
        kind: 'ratio',
        numerator: 'cases-followed-up-within-7-days',
        denominator: 'cases-disclosed',
        scale: 100,
      },
    },
  },
  {
    id: 'referrals-made',
    title: 'Referrals made',
    unit: 'referrals',
    measure: 'unit',
    ascending: true,
    definition: {
      filter: { eventTypes: ['CaseReferred'] },
      value: { kind: 'count' },
      dimensions: ['data.service'],
      about: { case: 'data.caseId' },
    },
  },
  {
    id: 'referrals-completed',
    title: 'Referrals completed (service delivered)',
    unit: 'referrals',
    measure: 'unit',
    ascending: true,
    definition: {
      filter: { eventTypes: ['CaseReferred', 'ServiceDelivered'] },
      value: {
        kind: 'linked',
        by: 'data.referralId',
        from: { eventType: 'CaseReferred' },
        to: { eventType: 'ServiceDelivered', dateField: 'data.deliveredOn' },
      },
      dimensions: ['data.service'],
      about: { case: 'data.caseId' },
    },
  },
  {
    id: 'pct-referrals-completed',
    title: '% of referrals completed',
    unit: '%',
    measure: 'percentage',
    ascending: true,
    definition: {
      filter: { eventTypes: ['CaseReferred'] },
      value: { kind: 'ratio', numerator: 'referrals-completed', denominator: 'referrals-made', scale: 100 },
    },
  },
  {
    id: 'children-placed-family-care',
    title: 'Children placed in family-based care',
    unit: 'children',
    measure: 'unit',
    ascending: true,
    note: 'Placements with a parent, kin, a foster or an adoptive family; residential care is not counted.',
    definition: {
      filter: {
        eventTypes: ['ChildPlacedSafely'],
        where: [{ field: 'data.placementType', op: 'in', values: familyBasedCare }],
      },
      value: { kind: 'count' },
      dimensions: ['data.placementType'],
      about: { child: 'data.childRef' },
    },
  },
  {
    id: 'median-days-disclosure-to-placement',
    title: 'Median days from disclosure to safe placement',
    unit: 'days',
    measure: 'unit',
    ascending: false,
    definition: {
      filter: { eventTypes: ['CaseDisclosed', 'ChildPlacedSafely'] },
      value: {
        kind: 'medianDays',
        by: 'data.caseId',
        from: { eventType: 'CaseDisclosed' },
        to: { eventType: 'ChildPlacedSafely' },
      },
      about: { child: 'data.childRef' },
    },
  },
  {
    id: 'cases-closed',
    title: 'Cases closed',
    unit: 'cases',
    measure: 'unit',
    ascending: true,
    definition: {
      filter: { eventTypes: ['CaseClosed'] },
      value: { kind: 'count' },
      dimensions: ['data.reason'],
      about: { case: 'data.caseId' },
    },
  },
  {
    id: 'cases-closed-goals-met',
    title: 'Cases closed with goals met',
    unit: 'cases',
    measure: 'unit',
    ascending: true,
    definition: {
      filter: { eventTypes: ['CaseClosed'], where: [{ field: 'data.reason', op: 'eq', value: 'goals-met' }] },
      value: { kind: 'count' },
      about: { case: 'data.caseId' },
    },
  },
  {
    id: 'pct-cases-closed-goals-met',
    title: '% of cases closed with goals met',
    unit: '%',
    measure: 'percentage',
    ascending: true,
    definition: {
      filter: { eventTypes: ['CaseClosed'] },
      value: { kind: 'ratio', numerator: 'cases-closed-goals-met', denominator: 'cases-closed', scale: 100 },
    },
  },
  {
    id: 'children-wellbeing-reassessed',
    title: 'Children assessed at the start and again later',
    unit: 'children',
    measure: 'unit',
    ascending: true,
    definition: {
      filter: { eventTypes: ['WellbeingAssessed'] },
      value: {
        kind: 'change',
        by: 'data.childRef',
        field: 'data.score',
        from: { eventType: 'WellbeingAssessed', where: [{ field: 'data.kind', op: 'eq', value: 'initial' }] },
        to: { eventType: 'WellbeingAssessed', where: [{ field: 'data.kind', op: 'eq', value: 'follow-up' }] },
      },
      about: { child: 'data.childRef' },
    },
  },
  {
    id: 'children-wellbeing-improved',
    title: 'Children whose wellbeing improved (latest minus initial score ≥ 3)',
    unit: 'children',
    measure: 'unit',
    ascending: true,
    definition: {
      filter: { eventTypes: ['WellbeingAssessed'] },
      value: {
        kind: 'change',
        by: 'data.childRef',
        field: 'data.score',
        atLeast: 3,
        from: { eventType: 'WellbeingAssessed', where: [{ field: 'data.kind', op: 'eq', value: 'initial' }] },
        to: { eventType: 'WellbeingAssessed', where: [{ field: 'data.kind', op: 'eq', value: 'follow-up' }] },
      },
      about: { child: 'data.childRef' },
    },
  },
  {
    id: 'pct-wellbeing-improved',
    title: '% of children with improved wellbeing',
    unit: '%',
    measure: 'percentage',
    ascending: true,
    definition: {
      filter: { eventTypes: ['WellbeingAssessed'] },
      value: {
        kind: 'ratio',
        numerator: 'children-wellbeing-improved',
        denominator: 'children-wellbeing-reassessed',
        scale: 100,
      },
    },
  },
  {
    id: 'households-food-aid',
    title: 'Households receiving food aid',
    unit: 'households',
    measure: 'unit',
    ascending: true,
    definition: {
      filter: { eventTypes: ['AidDistributed'] },
      value: { kind: 'distinct', field: 'data.householdRef' },
      dimensions: ['data.area'],
    },
  },
  {
    id: 'food-aid-quantity',
    protect: false,
    title: 'Food aid handed out, by item',
    unit: 'quantity',
    measure: 'unit',
    ascending: true,
    note: 'Quantities are in each item’s own unit (kg, bottle, can…): break down by item.unit to read them.',
    definition: {
      filter: { eventTypes: ['AidDistributed'] },
      unnest: 'data.items',
      value: { kind: 'sum', field: 'item.quantity' },
      dimensions: ['item.item', 'item.unit', 'data.area'],
    },
  },
  {
    id: 'home-visits',
    title: 'Home visits',
    unit: 'visits',
    measure: 'unit',
    ascending: true,
    definition: {
      filter: { eventTypes: ['HomeVisitConducted'] },
      value: { kind: 'count' },
      dimensions: ['data.reason', 'data.area'],
    },
  },
  {
    id: 'parents-reached-awareness',
    title: 'Parents reached by awareness sessions',
    unit: 'participants',
    measure: 'unit',
    ascending: true,
    definition: {
      filter: {
        eventTypes: ['AwarenessSessionHeld'],
        where: [{ field: 'data.audience', op: 'eq', value: 'parents' }],
      },
      unnest: 'data.participants',
      value: { kind: 'sum', field: 'item.count' },
      dimensions: ['item.sex', 'data.area'],
    },
  },
  {
    id: 'leaflets-distributed',
    protect: false,
    title: 'Leaflets and guides distributed',
    unit: 'copies',
    measure: 'unit',
    ascending: true,
    definition: {
      filter: { eventTypes: ['LiteratureDistributed'] },
      value: { kind: 'sum', field: 'data.quantity' },
      dimensions: ['data.material', 'data.area'],
    },
  },
  {
    id: 'leaflets-on-outreach',
    protect: false,
    title: 'Leaflets handed out on outreach shifts',
    unit: 'copies',
    measure: 'unit',
    ascending: true,
    definition: {
      filter: { eventTypes: ['OutreachConducted'] },
      value: { kind: 'sum', field: 'data.leafletsDistributed' },
      dateField: 'data.shiftStart',
      dimensions: ['data.area'],
    },
  },
  {
    id: 'staff-trained',
    title: 'Staff trained',
    unit: 'staff',
    measure: 'unit',
    ascending: true,
    definition: {
      filter: { eventTypes: ['StaffTrained'] },
      value: { kind: 'distinct', field: 'data.staffRef' },
      dimensions: ['data.course'],
    },
  },
];
