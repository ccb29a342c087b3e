import { z } from 'zod';
import { principalIdProblem, roles } from '../privacy/access.js';
import { protectedText } from '../privacy/protectedFields.js';
import { addYears, instantIsAfter } from '../time/time.js';
import {
  ageBand,
  agencyRef,
  areaCode,
  caseId,
  childRef,
  currencyCode,
  donorRef,
  householdRef,
  instant,
  localDate,
  money,
  nonNegativeCount,
  positiveCount,
  sex,
  sexAgeCounts,
  sexCounts,
  slugId,
  staffRef,
  timeZone,
  uniqueList,
} from './common.js';
import { defineEvent, type EventData, type EventOf } from './defineEvent.js';
import { indicatorDefinition } from './indicatorDefinition.js';

/**
 * The event catalog: every fact Lantern records, each defined once. Streams follow
 * category-id naming: `programme-{id}`, `club-{id}`, `case-{id}`, `child-{ref}`,
 * `outreach-{programmeId}`, `aid-{programmeId}`, `training-{programmeId}`.
 */

const programmeId = slugId;
/** A short title written by staff about the programme itself, never about a child. */
const title = z.string().trim().min(1, 'must not be empty').max(120, 'must be at most 120 characters');

// ---------------------------------------------------------------------------------------------
// Programme: plan, results framework, money

export const ProgrammeLaunched = defineEvent({
  type: 'ProgrammeLaunched',
  schema: z
    .strictObject({
      programmeId,
      title,
      country: z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166 country code such as KH'),
      timeZone,
      plannedStart: localDate,
      plannedEnd: localDate,
      currency: currencyCode,
      iatiIdentifier: z
        .string()
        .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*-[A-Za-z0-9._-]+$/, 'must be an IATI activity identifier')
        .optional(),
    })
    .refine((p) => p.plannedEnd >= p.plannedStart, {
      path: ['plannedEnd'],
      message: 'must not be before plannedStart',
    }),
});

export const objectiveLevels = ['impact', 'outcome', 'output'] as const;
export const ObjectiveDefined = defineEvent({
  type: 'ObjectiveDefined',
  schema: z.strictObject({
    programmeId,
    objectiveId: slugId,
    level: z.enum(objectiveLevels),
    parentId: slugId.optional(),
    title,
  }),
});

export const IndicatorDefined = defineEvent({
  type: 'IndicatorDefined',
  schema: z.strictObject({
    programmeId,
    indicatorId: slugId,
    objectiveId: slugId,
    title,
    measure: z.enum(['unit', 'percentage']),
    /** True when a higher value is better. */
    ascending: z.boolean(),
    definition: indicatorDefinition,
  }),
});

const targetData = z
  .strictObject({
    programmeId,
    indicatorId: slugId,
    periodStart: localDate,
    periodEnd: localDate,
    value: z.number().nonnegative('cannot be negative'),
    baseline: z.number().nonnegative('cannot be negative').optional(),
  })
  .refine((t) => t.periodEnd >= t.periodStart, {
    path: ['periodEnd'],
    message: 'must not be before periodStart',
  });

export const TargetSet = defineEvent({ type: 'TargetSet', schema: targetData });
export const TargetRevised = defineEvent({ type: 'TargetRevised', schema: targetData });

const isCalendarDate = (value: unknown): value is string =>
  typeof value === 'string' && localDate.safeParse(value).success;

export const BudgetApproved = defineEvent({
  type: 'BudgetApproved',
  schema: z
    .strictObject({
      programmeId,
      periodStart: localDate,
      periodEnd: localDate,
      amount: money,
      status: z.enum(['indicative', 'committed']),
    })
    .refine((b) => b.periodEnd >= b.periodStart, {
      path: ['periodEnd'],
      message: 'must not be before periodStart',
    })
    // IATI: a budget period is at most a year. zod runs this even when periodStart itself failed:
    // a date that does not parse is left to that field's own error.
    .refine((b) => !isCalendarDate(b.periodStart) || b.periodEnd < addYears(b.periodStart, 1), {
      path: ['periodEnd'],
      message:
        'must fall before the same date a year after periodStart: a budget period is at most a year, as IATI requires; split the budget into yearly periods',
    }),
});

export const FundsReceived = defineEvent({
  type: 'FundsReceived',
  schema: z.strictObject({
    programmeId,
    amount: money,
    receivedOn: localDate,
    donorRef,
    kind: z.enum(['pledge', 'commitment', 'funds']),
  }),
});

export const expenditureCategories = [
  'staff',
  'activities',
  'aid',
  'training',
  'transport',
  'premises',
  'administration',
  'other',
] as const;
export const ExpenditureRecorded = defineEvent({
  type: 'ExpenditureRecorded',
  schema: z.strictObject({
    programmeId,
    amount: money,
    spentOn: localDate,
    category: z.enum(expenditureCategories),
  }),
});

// ---------------------------------------------------------------------------------------------
// Clubs

export const clubKinds = ['kids-club', 'healing-arts'] as const;
export const ClubEstablished = defineEvent({
  type: 'ClubEstablished',
  schema: z.strictObject({
    programmeId,
    clubId: slugId,
    name: title,
    area: areaCode,
    kind: z.enum(clubKinds),
    establishedOn: localDate,
  }),
});

export const clubActivities = ['healing-arts', 'education', 'awareness', 'play'] as const;
export const ClubSessionHeld = defineEvent({
  type: 'ClubSessionHeld',
  schema: z.strictObject({
    clubId: slugId,
    heldOn: localDate,
    activity: z.enum(clubActivities),
    attendance: sexAgeCounts,
    attendeeRefs: uniqueList(childRef).optional(),
  }),
});

export const clubStatusReasons = [
  'covid-19-restrictions',
  'government-order',
  'safety',
  'premises',
  'staffing',
  'funding',
  'merged',
  'restrictions-lifted',
  'other',
] as const;
const clubStatusChange = z.strictObject({
  clubId: slugId,
  reason: z.enum(clubStatusReasons),
});
export const ClubSuspended = defineEvent({ type: 'ClubSuspended', schema: clubStatusChange });
export const ClubResumed = defineEvent({ type: 'ClubResumed', schema: clubStatusChange });
export const ClubClosed = defineEvent({ type: 'ClubClosed', schema: clubStatusChange });

// ---------------------------------------------------------------------------------------------
// Outreach and other activities (streams `outreach-{programmeId}`, `aid-…`, `training-…`)

export const outreachModes = ['night-outreach', 'home-visit', 'street'] as const;

const outreachV2 = z
  .strictObject({
    programmeId,
    teamId: slugId,
    mode: z.enum(outreachModes),
    area: areaCode,
    shiftStart: instant,
    shiftEnd: instant,
    /** People met on the shift, by sex × age band. */
    contacts: sexAgeCounts,
    /** Children met for the first time and given a pseudonym on this shift. */
    newChildRefs: uniqueList(childRef),
    leafletsDistributed: nonNegativeCount,
  })
  .refine((o) => instantIsAfter(o.shiftEnd, o.shiftStart), {
    path: ['shiftEnd'],
    message: 'must be after shiftStart',
  });

/** Version 1 recorded a single head count for the shift. */
const outreachV1 = z.strictObject({
  programmeId,
  teamId: slugId,
  mode: z.enum(outreachModes),
  area: areaCode,
  shiftStart: instant,
  shiftEnd: instant,
  childrenReached: nonNegativeCount,
  leafletsDistributed: nonNegativeCount,
});

export const OutreachConducted = defineEvent({
  type: 'OutreachConducted',
  schema: outreachV2,
  upcasters: [
    {
      fromVersion: 1,
      schema: outreachV1,
      // A v1 head count had no breakdown: it becomes one cell of unknown sex and age band.
      up: ({ childrenReached, ...rest }: z.infer<typeof outreachV1>) => ({
        ...rest,
        contacts: childrenReached > 0 ? [{ sex: 'unknown', ageBand: 'unknown', count: childrenReached }] : [],
        newChildRefs: [],
      }),
    },
  ],
});

export const HomeVisitConducted = defineEvent({
  type: 'HomeVisitConducted',
  schema: z.strictObject({
    programmeId,
    householdRef,
    childRefs: uniqueList(childRef),
    reason: z.enum(['club-substitute', 'case-follow-up']),
    area: areaCode,
  }),
});

export const awarenessAudiences = ['parents', 'community', 'children'] as const;
export const AwarenessSessionHeld = defineEvent({
  type: 'AwarenessSessionHeld',
  schema: z.strictObject({
    programmeId,
    audience: z.enum(awarenessAudiences),
    topic: z.enum(['trafficking-law', 'covid-19-facts', 'hygiene', 'child-safety', 'parenting']),
    participants: sexCounts,
    area: areaCode,
  }),
});

export const LiteratureDistributed = defineEvent({
  type: 'LiteratureDistributed',
  schema: z.strictObject({
    programmeId,
    material: z.enum(['anti-trafficking-leaflet', 'covid-19-facts', 'hygiene-guide', 'child-rights']),
    quantity: positiveCount,
    audience: z.enum(awarenessAudiences),
    area: areaCode,
  }),
});

export const aidUnits = ['kg', 'litre', 'bottle', 'pack', 'can', 'box', 'piece', 'kit'] as const;
export const AidDistributed = defineEvent({
  type: 'AidDistributed',
  schema: z.strictObject({
    programmeId,
    distributionId: slugId,
    area: areaCode,
    householdRef,
    items: z
      .array(
        z.strictObject({
          /** What was handed out, as a slug: rice, soy-sauce, fish, noodles, soup, … */
          item: slugId,
          quantity: z.number().positive('must be more than zero'),
          unit: z.enum(aidUnits),
        }),
      )
      .min(1, 'must list at least one item')
      .refine(
        (items) => new Set(items.map((i) => `${i.item}|${i.unit}`)).size === items.length,
        'lists the same item and unit twice',
      ),
    context: z.enum(['covid-relief', 'club', 'emergency']),
  }),
});

export const trainingCourses = [
  'healing-arts',
  'child-safeguarding',
  'trauma-informed-care',
  'case-management',
  'first-aid',
] as const;
export const StaffTrained = defineEvent({
  type: 'StaffTrained',
  schema: z.strictObject({
    programmeId,
    staffRef,
    course: z.enum(trainingCourses),
    hours: z.number().positive('must be more than zero').max(1000, 'must be at most 1000'),
  }),
});

// ---------------------------------------------------------------------------------------------
// Children (stream `child-{ref}`)

export const identificationRoutes = ['outreach', 'club', 'home-visit', 'referral', 'self'] as const;
export const consent = z.strictObject({
  /** The child may receive services (and be referred for them). */
  services: z.boolean(),
  /** The child may be counted in reports. */
  reporting: z.boolean(),
  /** The child's family may be traced. */
  tracing: z.boolean(),
  /** Agencies the child's data may be shared with. */
  sharing: uniqueList(agencyRef),
});
export type Consent = z.infer<typeof consent>;
const consentGivenBy = z.enum(['child', 'caregiver']);

export const ChildRegistered = defineEvent({
  type: 'ChildRegistered',
  schema: z.strictObject({
    programmeId,
    childRef,
    sex,
    ageBand,
    area: areaCode,
    identifiedVia: z.enum(identificationRoutes),
    consent,
    consentGivenBy,
    legalBasis: z.enum(['consent', 'vital-interests', 'legal-obligation', 'public-task']),
  }),
});

export const ConsentChanged = defineEvent({
  type: 'ConsentChanged',
  schema: z.strictObject({
    childRef,
    consent,
    /** True when the child or caregiver withdrew consent given before. */
    withdrawn: z.boolean(),
    consentGivenBy,
  }),
});

export const WellbeingAssessed = defineEvent({
  type: 'WellbeingAssessed',
  schema: z.strictObject({
    childRef,
    /** The assessment tool, as a slug (e.g. who-5, sdq). */
    instrument: slugId,
    score: z.number().finite(),
    kind: z.enum(['initial', 'follow-up']),
  }),
});

export const ChildDataErased = defineEvent({
  type: 'ChildDataErased',
  schema: z.strictObject({
    childRef,
    requestedBy: staffRef,
    erasedAt: instant,
  }),
});

// ---------------------------------------------------------------------------------------------
// Cases (stream `case-{caseId}`)

export const concerns = [
  'sexual-exploitation',
  'sexual-abuse',
  'trafficking',
  'physical-abuse',
  'emotional-abuse',
  'neglect',
  'begging-exploitation',
  'child-labour',
  'exposure-to-pornography',
  'abandonment',
  'substance-abuse',
] as const;
const concernList = uniqueList(z.enum(concerns)).refine(
  (list) => list.length > 0,
  'must name at least one concern',
);

export const CaseDisclosed = defineEvent({
  type: 'CaseDisclosed',
  schema: z.strictObject({
    programmeId,
    caseId,
    childRef,
    sex,
    ageBand,
    area: areaCode,
    concerns: concernList,
    disclosedVia: z.enum(identificationRoutes),
    /** A category only; never the person's identity. */
    perpetratorRelation: z
      .enum([
        'parent',
        'relative',
        'caregiver',
        'acquaintance',
        'stranger',
        'employer',
        'person-in-authority',
        'trafficker',
        'unknown',
      ])
      .optional(),
    /** What the child told, in the worker's words. Protected: sealed with the child's key. */
    narrative: protectedText({ max: 4000 }).optional(),
  }),
  protection: { subject: 'childRef', fields: ['narrative'] },
});

export const RiskAssessed = defineEvent({
  type: 'RiskAssessed',
  schema: z.strictObject({
    caseId,
    level: z.enum(['high', 'medium', 'low']),
    concerns: concernList,
  }),
});

export const services = [
  'shelter',
  'medical',
  'legal',
  'police',
  'counselling',
  'family-tracing',
  'education',
  'food',
  'rehabilitation',
] as const;
export const CaseReferred = defineEvent({
  type: 'CaseReferred',
  schema: z.strictObject({
    caseId,
    referralId: slugId,
    service: z.enum(services),
    toAgencyRef: agencyRef,
    consentBasis: z.discriminatedUnion('kind', [
      z.strictObject({ kind: z.literal('given') }),
      z.strictObject({
        kind: z.literal('overridden'),
        reason: z.enum(['imminent-danger', 'legal-duty', 'child-cannot-consent', 'court-order']),
      }),
    ]),
  }),
});

export const ServiceDelivered = defineEvent({
  type: 'ServiceDelivered',
  schema: z.strictObject({
    caseId,
    referralId: slugId.optional(),
    service: z.enum(services),
    deliveredOn: localDate,
  }),
});

export const CaseFollowedUp = defineEvent({
  type: 'CaseFollowedUp',
  schema: z.strictObject({
    caseId,
    followedUpOn: localDate,
    kind: z.enum(['home-visit', 'phone', 'office', 'club', 'school']),
    placementStable: z.boolean().optional(),
  }),
});

export const placementTypes = [
  'parent',
  'kinship',
  'foster',
  'adoptive',
  'residential',
  'independent',
] as const;
export const ChildPlacedSafely = defineEvent({
  type: 'ChildPlacedSafely',
  schema: z.strictObject({
    caseId,
    childRef,
    placementType: z.enum(placementTypes),
    caregiverRelation: z.enum([
      'mother',
      'father',
      'grandparent',
      'sibling',
      'aunt-uncle',
      'other-relative',
      'foster-carer',
      'adoptive-parent',
      'residential-staff',
      'none',
    ]),
    /** How to reach the caregiver (a phone number, a contact person). Protected: sealed with the child's key. */
    caregiverContact: protectedText({ max: 200 }).optional(),
    /** Where the child lives now. Protected: sealed with the child's key. */
    placementAddress: protectedText({ max: 300 }).optional(),
  }),
  protection: { subject: 'childRef', fields: ['caregiverContact', 'placementAddress'] },
});

export const caseClosureReasons = [
  'goals-met',
  'transferred',
  'lost-contact',
  'declined-services',
  'aged-out',
  'duplicate',
] as const;
export const CaseClosed = defineEvent({
  type: 'CaseClosed',
  schema: z.strictObject({ caseId, reason: z.enum(caseClosureReasons) }),
});

export const CaseReopened = defineEvent({
  type: 'CaseReopened',
  schema: z.strictObject({
    caseId,
    reason: z.enum(['new-concern', 'placement-broke-down', 'closed-in-error', 'returned']),
  }),
});

// ---------------------------------------------------------------------------------------------
// Audit (stream `audit-{programmeId}`, appended by Lantern itself, never through a guarded store)

/** What an audit entry records a principal doing. */
export const auditActions = [
  'case-read',
  'stream-read',
  'subscription',
  'export',
  'consent-override',
  'erasure',
  'access-denied',
] as const;
export type AuditAction = (typeof auditActions)[number];

/** What an `access-denied` entry says was refused: any other action, or an append. */
export const refusableActions = [
  'case-read',
  'stream-read',
  'subscription',
  'export',
  'consent-override',
  'erasure',
  'append',
] as const;
export type RefusableAction = (typeof refusableActions)[number];

/** Why the principal did it: a fixed list, so no free text about a child reaches the audit trail. */
export const auditPurposes = [
  'case-management',
  'supervision',
  'service-delivery',
  'reporting',
  'donor-reporting',
  'monitoring-evaluation',
  'safeguarding-emergency',
  'legal-duty',
  'erasure-request',
  'audit-review',
] as const;
export type AuditPurpose = (typeof auditPurposes)[number];

/**
 * What was acted on: a stream name (`case-PP-2020-014`), a query name (`indicator/new-cases`),
 * a childRef or `$all`. Letters, digits and `$ _ . : / -` only: no spaces, so no sentence.
 */
export const auditTarget = z
  .string()
  .regex(
    /^[$A-Za-z0-9][A-Za-z0-9$_.:/-]{0,127}$/,
    'must be a stream name, a query name or a childRef (at most 128 letters, digits and $ _ . : / -)',
  );

export const AuditRecorded = defineEvent({
  type: 'AuditRecorded',
  schema: z
    .strictObject({
      programmeId,
      principal: z.strictObject({ id: z.string(), role: z.enum(roles) }).superRefine((principal, context) => {
        const problem = principalIdProblem(principal);
        if (problem) context.addIssue({ code: 'custom', path: ['id'], message: problem });
      }),
      action: z.enum(auditActions),
      target: auditTarget,
      purpose: z.enum(auditPurposes),
      /** A ticket or request number; it must hold a digit, so that a name can never pass as one. */
      reference: z
        .string()
        .regex(
          /^(?=.*[0-9])[A-Za-z0-9][A-Za-z0-9-]{0,39}$/,
          'must be a short reference of letters, digits and hyphens with at least one digit, e.g. REQ-2020-17',
        )
        .optional(),
      /** For `access-denied` only: what the principal tried to do. */
      refused: z.enum(refusableActions).optional(),
    })
    .refine((entry) => (entry.action === 'access-denied') === (entry.refused !== undefined), {
      path: ['refused'],
      message: 'must be given with action access-denied (what was refused), and only then',
    }),
});

// ---------------------------------------------------------------------------------------------

/** Every event type Lantern defines, by name. */
export const eventCatalog = {
  ProgrammeLaunched,
  ObjectiveDefined,
  IndicatorDefined,
  TargetSet,
  TargetRevised,
  BudgetApproved,
  FundsReceived,
  ExpenditureRecorded,
  ClubEstablished,
  ClubSessionHeld,
  ClubSuspended,
  ClubResumed,
  ClubClosed,
  OutreachConducted,
  HomeVisitConducted,
  AwarenessSessionHeld,
  LiteratureDistributed,
  AidDistributed,
  StaffTrained,
  ChildRegistered,
  ConsentChanged,
  WellbeingAssessed,
  ChildDataErased,
  CaseDisclosed,
  RiskAssessed,
  CaseReferred,
  ServiceDelivered,
  CaseFollowedUp,
  ChildPlacedSafely,
  CaseClosed,
  CaseReopened,
  AuditRecorded,
} as const;

export type EventCatalog = typeof eventCatalog;
export type CatalogEventType = keyof EventCatalog;
/** Any event of the catalog, discriminated by `type`. */
export type CatalogEvent = { [K in CatalogEventType]: EventOf<EventCatalog[K]> }[CatalogEventType];
/** The data of a catalog event type, e.g. `CatalogEventData<'CaseDisclosed'>`. */
export type CatalogEventData<K extends CatalogEventType> = EventData<EventCatalog[K]>;
