import { RuleViolationError } from '../errors/errors.js';
import {
  CaseClosed,
  CaseDisclosed,
  CaseFollowedUp,
  CaseReferred,
  CaseReopened,
  type CatalogEventData,
  ChildPlacedSafely,
  RiskAssessed,
  ServiceDelivered,
} from '../events/catalog.js';
import type { EventOf } from '../events/defineEvent.js';
import { localDateOf } from '../time/time.js';
import { type Command, type Decider, occurredAtOf, type Stamped, stamp } from './decider.js';
import {
  type ProgrammeWindow,
  requireDateInProgramme,
  requireInstantInProgramme,
  requireSameProgramme,
} from './programmeWindow.js';

/**
 * Stream `case-{caseId}`: one child-protection case from disclosure through risk assessment,
 * referrals, services, safe placement and follow-up to closure (and reopening).
 */

export type CaseEvent =
  | Stamped<EventOf<typeof CaseDisclosed>>
  | EventOf<typeof RiskAssessed>
  | Stamped<EventOf<typeof CaseReferred>>
  | EventOf<typeof ServiceDelivered>
  | EventOf<typeof CaseFollowedUp>
  | Stamped<EventOf<typeof ChildPlacedSafely>>
  | EventOf<typeof CaseClosed>
  | EventOf<typeof CaseReopened>;

export type CaseCommand =
  | Command<'DiscloseCase', CatalogEventData<'CaseDisclosed'>>
  | Command<'AssessRisk', CatalogEventData<'RiskAssessed'>>
  | Command<'ReferCase', CatalogEventData<'CaseReferred'>>
  | Command<'DeliverService', CatalogEventData<'ServiceDelivered'>>
  | Command<'FollowUpCase', CatalogEventData<'CaseFollowedUp'>>
  | Command<'PlaceChildSafely', CatalogEventData<'ChildPlacedSafely'>>
  | Command<'CloseCase', CatalogEventData<'CaseClosed'>>
  | Command<'ReopenCase', CatalogEventData<'CaseReopened'>>;

/** A referral made on the case, by its `referralId`. */
export interface CaseReferral {
  service: CatalogEventData<'CaseReferred'>['service'];
  toAgencyRef: string;
  consentBasis: CatalogEventData<'CaseReferred'>['consentBasis']['kind'];
  /** The referral's date in the programme's time zone. */
  referredOn: string;
  /** ServiceDelivered events recorded against this referral. */
  deliveries: number;
}

/** The child's latest safe placement on the case. */
export interface CasePlacement {
  placementType: CatalogEventData<'ChildPlacedSafely'>['placementType'];
  caregiverRelation: CatalogEventData<'ChildPlacedSafely'>['caregiverRelation'];
  /** The placement's date in the programme's time zone. */
  placedOn: string;
}

export type CaseState =
  | { status: 'none' }
  | {
      status: 'open' | 'closed';
      caseId: string;
      childRef: string;
      /** The disclosure's field instant, with its offset. */
      disclosedAt: string;
      /** The disclosure's date in the programme's time zone. */
      disclosedOn: string;
      /** The level of the latest risk assessment; undefined until the risk is assessed. */
      riskLevel: CatalogEventData<'RiskAssessed'>['level'] | undefined;
      referrals: Readonly<Record<string, CaseReferral>>;
      latestPlacement: CasePlacement | undefined;
      /** Why the case was last closed; undefined while it is open. */
      closureReason: CatalogEventData<'CaseClosed'>['reason'] | undefined;
    };

type OpenedCase = Exclude<CaseState, { status: 'none' }>;

// A referral id may be any slug, including "constructor": never look it up through the prototype.
const referralOf = (state: OpenedCase, referralId: string): CaseReferral | undefined =>
  Object.hasOwn(state.referrals, referralId) ? state.referrals[referralId] : undefined;

const notDisclosed = (caseId: string): RuleViolationError =>
  new RuleViolationError(
    'case-disclosed',
    `Case "${caseId}" has not been disclosed. Record DiscloseCase first.`,
  );

/** Throws when a command's field instant is earlier than the disclosure it acts on. */
const requireInstantAfterDisclosure = (state: OpenedCase, occurredAt: string, what: string): void => {
  if (Date.parse(occurredAt) < Date.parse(state.disclosedAt)) {
    throw new RuleViolationError(
      'after-disclosure',
      `${what} (${occurredAt}) is before case "${state.caseId}" was disclosed (${state.disclosedAt}). Check the time it happened.`,
    );
  }
};

/** Throws when a calendar date is before the disclosure date or after the day it was recorded. */
const requireDateSinceDisclosure = (
  state: OpenedCase,
  date: string,
  recordedOn: string,
  what: string,
): void => {
  if (date < state.disclosedOn) {
    throw new RuleViolationError(
      'after-disclosure',
      `${what} (${date}) is before case "${state.caseId}" was disclosed (${state.disclosedOn}). Check the date.`,
    );
  }
  if (date > recordedOn) {
    throw new RuleViolationError(
      'not-in-future',
      `${what} (${date}) is after the day it is recorded (${recordedOn}). Record it once it has happened.`,
    );
  }
};

/** The case decider for one programme. */
export const caseDecider = (programme: ProgrammeWindow): Decider<CaseCommand, CaseState, CaseEvent> => ({
  initialState: () => ({ status: 'none' }),

  decide: (command, state) => {
    if (command.type === 'DiscloseCase') {
      if (state.status !== 'none') {
        throw new RuleViolationError(
          'case-disclosed-once',
          `Case "${command.data.caseId}" was already disclosed on ${state.disclosedOn}. Record new concerns with AssessRisk, or give a new case its own case number.`,
        );
      }
      const disclosure = CaseDisclosed.create(command.data);
      const occurredAt = occurredAtOf(command, 'CaseDisclosed');
      requireSameProgramme(programme, disclosure.data.programmeId);
      requireInstantInProgramme(programme, occurredAt, 'The disclosure');
      return [stamp(disclosure, occurredAt)];
    }
    if (state.status === 'none') throw notDisclosed(command.data.caseId);
    if (command.data.caseId !== state.caseId) {
      throw new RuleViolationError(
        'same-case',
        `This stream holds case "${state.caseId}", not "${command.data.caseId}". Send the command to stream case-${command.data.caseId}.`,
      );
    }
    if (state.status === 'closed' && command.type === 'CloseCase') {
      throw new RuleViolationError(
        'case-closed-once',
        `Case "${state.caseId}" is already closed (${state.closureReason}). Record ReopenCase first if it must be closed again for another reason.`,
      );
    }
    if (state.status === 'closed' && command.type !== 'ReopenCase') {
      throw new RuleViolationError(
        'case-open',
        `Case "${state.caseId}" is closed and takes no further work. Record ReopenCase first if work on it resumes.`,
      );
    }
    switch (command.type) {
      case 'AssessRisk': {
        const assessment = RiskAssessed.create(command.data);
        const occurredAt = occurredAtOf(command, 'RiskAssessed');
        requireInstantAfterDisclosure(state, occurredAt, 'The risk assessment');
        requireInstantInProgramme(programme, occurredAt, 'The risk assessment');
        return [assessment];
      }
      case 'ReferCase': {
        const referral = CaseReferred.create(command.data);
        const occurredAt = occurredAtOf(command, 'CaseReferred');
        const existing = referralOf(state, referral.data.referralId);
        if (existing) {
          throw new RuleViolationError(
            'referral-unique',
            `Case "${state.caseId}" already has referral "${referral.data.referralId}" (${existing.service}, ${existing.referredOn}). Give this referral its own id.`,
          );
        }
        requireInstantAfterDisclosure(state, occurredAt, 'The referral');
        requireInstantInProgramme(programme, occurredAt, 'The referral');
        // An overridden consent basis is allowed here: the schema demands its reason, and the
        // check against the child's recorded consent belongs to the process that sees both streams.
        return [stamp(referral, occurredAt)];
      }
      case 'DeliverService': {
        const delivery = ServiceDelivered.create(command.data);
        const recordedOn = localDateOf(occurredAtOf(command, 'ServiceDelivered'), programme.timeZone);
        const { deliveredOn, referralId, service } = delivery.data;
        requireDateSinceDisclosure(state, deliveredOn, recordedOn, 'The service delivery date');
        requireDateInProgramme(programme, deliveredOn, 'The service delivery date');
        if (referralId !== undefined) {
          const referral = referralOf(state, referralId);
          if (!referral) {
            throw new RuleViolationError(
              'referral-exists',
              `Case "${state.caseId}" has no referral "${referralId}". Record ReferCase first, or leave referralId out for a service the programme delivered itself.`,
            );
          }
          if (referral.service !== service) {
            throw new RuleViolationError(
              'referral-service',
              `Referral "${referralId}" on case "${state.caseId}" is for ${referral.service}, not ${service}. Record the service under the matching referral, or refer the case for ${service} first.`,
            );
          }
          if (deliveredOn < referral.referredOn) {
            throw new RuleViolationError(
              'delivery-after-referral',
              `The service delivery date (${deliveredOn}) is before referral "${referralId}" was made (${referral.referredOn}). Check the date.`,
            );
          }
        }
        return [delivery];
      }
      case 'FollowUpCase': {
        const followUp = CaseFollowedUp.create(command.data);
        const recordedOn = localDateOf(occurredAtOf(command, 'CaseFollowedUp'), programme.timeZone);
        const { followedUpOn, placementStable } = followUp.data;
        requireDateSinceDisclosure(state, followedUpOn, recordedOn, 'The follow-up date');
        requireDateInProgramme(programme, followedUpOn, 'The follow-up date');
        if (placementStable !== undefined) {
          if (!state.latestPlacement) {
            throw new RuleViolationError(
              'placement-before-follow-up',
              `Case "${state.caseId}" has no safe placement whose stability could be followed up. Record PlaceChildSafely first, or leave placementStable out.`,
            );
          }
          if (followedUpOn < state.latestPlacement.placedOn) {
            throw new RuleViolationError(
              'placement-before-follow-up',
              `The follow-up date (${followedUpOn}) is before the child was placed (${state.latestPlacement.placedOn}), so it cannot say whether the placement is stable. Check the date, or leave placementStable out.`,
            );
          }
        }
        return [followUp];
      }
      case 'PlaceChildSafely': {
        const placement = ChildPlacedSafely.create(command.data);
        const occurredAt = occurredAtOf(command, 'ChildPlacedSafely');
        if (placement.data.childRef !== state.childRef) {
          throw new RuleViolationError(
            'same-child',
            `Case "${state.caseId}" is about child ${state.childRef}, not ${placement.data.childRef}. Place a child through that child's own case.`,
          );
        }
        requireInstantAfterDisclosure(state, occurredAt, 'The placement');
        requireInstantInProgramme(programme, occurredAt, 'The placement');
        return [stamp(placement, occurredAt)];
      }
      case 'CloseCase': {
        const closure = CaseClosed.create(command.data);
        // A case may be closed after the programme ends (handed over, say), but not before it began.
        requireInstantAfterDisclosure(state, occurredAtOf(command, 'CaseClosed'), 'The closure');
        return [closure];
      }
      case 'ReopenCase': {
        if (state.status !== 'closed') {
          throw new RuleViolationError(
            'case-closed',
            `Case "${state.caseId}" is open; only a closed case can be reopened. Record the new work on the open case.`,
          );
        }
        const reopening = CaseReopened.create(command.data);
        const occurredAt = occurredAtOf(command, 'CaseReopened');
        if (reopening.data.reason === 'placement-broke-down' && !state.latestPlacement) {
          throw new RuleViolationError(
            'reopen-reason',
            `Case "${state.caseId}" never recorded a safe placement, so a placement cannot have broken down. Choose the reason that applies (e.g. new-concern).`,
          );
        }
        requireInstantAfterDisclosure(state, occurredAt, 'The reopening');
        requireInstantInProgramme(programme, occurredAt, 'The reopening');
        return [reopening];
      }
      default:
        return [];
    }
  },

  evolve: (state, event) => {
    if (event.type === 'CaseDisclosed') {
      return {
        status: 'open',
        caseId: event.data.caseId,
        childRef: event.data.childRef,
        disclosedAt: event.metadata.occurredAt,
        disclosedOn: localDateOf(event.metadata.occurredAt, programme.timeZone),
        riskLevel: undefined,
        referrals: {},
        latestPlacement: undefined,
        closureReason: undefined,
      };
    }
    if (state.status === 'none') return state;
    switch (event.type) {
      case 'RiskAssessed':
        return { ...state, riskLevel: event.data.level };
      case 'CaseReferred':
        return {
          ...state,
          referrals: {
            ...state.referrals,
            [event.data.referralId]: {
              service: event.data.service,
              toAgencyRef: event.data.toAgencyRef,
              consentBasis: event.data.consentBasis.kind,
              referredOn: localDateOf(event.metadata.occurredAt, programme.timeZone),
              deliveries: 0,
            },
          },
        };
      case 'ServiceDelivered': {
        const { referralId } = event.data;
        const referral = referralId === undefined ? undefined : referralOf(state, referralId);
        if (referralId === undefined || !referral) return state;
        return {
          ...state,
          referrals: {
            ...state.referrals,
            [referralId]: { ...referral, deliveries: referral.deliveries + 1 },
          },
        };
      }
      case 'ChildPlacedSafely':
        return {
          ...state,
          latestPlacement: {
            placementType: event.data.placementType,
            caregiverRelation: event.data.caregiverRelation,
            placedOn: localDateOf(event.metadata.occurredAt, programme.timeZone),
          },
        };
      case 'CaseClosed':
        return { ...state, status: 'closed', closureReason: event.data.reason };
      case 'CaseReopened':
        return { ...state, status: 'open', closureReason: undefined };
      default:
        return state;
    }
  },
});
