import { RuleViolationError } from '../errors/errors.js';
import {
  type CatalogEventData,
  ChildDataErased,
  ChildRegistered,
  type Consent,
  ConsentChanged,
  WellbeingAssessed,
} from '../events/catalog.js';
import type { EventOf } from '../events/defineEvent.js';
import { type Command, type Decider, occurredAtOf, type Stamped, stamp } from './decider.js';
import { type ProgrammeWindow, requireInstantInProgramme, requireSameProgramme } from './programmeWindow.js';

/**
 * Stream `child-{childRef}`: a registered child's consent, wellbeing assessments and, at the
 * child's or caregiver's request, the erasure of the child's data.
 */

export type ChildEvent =
  | Stamped<EventOf<typeof ChildRegistered>>
  | EventOf<typeof ConsentChanged>
  | EventOf<typeof WellbeingAssessed>
  | EventOf<typeof ChildDataErased>;

export type ChildCommand =
  | Command<'RegisterChild', CatalogEventData<'ChildRegistered'>>
  | Command<'ChangeConsent', CatalogEventData<'ConsentChanged'>>
  | Command<'AssessWellbeing', CatalogEventData<'WellbeingAssessed'>>
  | Command<'EraseChildData', CatalogEventData<'ChildDataErased'>>;

/** Scores of one wellbeing instrument: the initial assessment and the latest one. */
export interface WellbeingScores {
  initial: number;
  latest: number;
}

type Registration = CatalogEventData<'ChildRegistered'>;

export type ChildState =
  | { status: 'none' }
  | {
      status: 'registered';
      childRef: string;
      sex: Registration['sex'];
      ageBand: Registration['ageBand'];
      area: string;
      /** The registration's field instant, with its offset. */
      registeredAt: string;
      /** The consent in force now. */
      consent: Consent;
      consentGivenBy: Registration['consentGivenBy'];
      /** By instrument (e.g. `who-5`). */
      wellbeing: Readonly<Record<string, WellbeingScores>>;
    }
  | {
      /** Erasure is final: nothing of the child is kept but the pseudonym and the dates. */
      status: 'erased';
      childRef: string;
      registeredAt: string;
      erasedAt: string;
    };

type RegisteredChild = Extract<ChildState, { status: 'registered' }>;

// An instrument may be any slug, including "constructor": never look it up through the prototype.
const scoresOf = (state: RegisteredChild, instrument: string): WellbeingScores | undefined =>
  Object.hasOwn(state.wellbeing, instrument) ? state.wellbeing[instrument] : undefined;

const requireAfterRegistration = (state: RegisteredChild, at: string, what: string): void => {
  if (Date.parse(at) < Date.parse(state.registeredAt)) {
    throw new RuleViolationError(
      'after-registration',
      `${what} (${at}) is before child ${state.childRef} was registered (${state.registeredAt}). Check the time.`,
    );
  }
};

/** What a consent change takes away: flags that go from true to false, and agencies removed. */
const withdrawalsIn = (before: Consent, after: Consent): string[] => [
  ...(['services', 'reporting', 'tracing'] as const).filter((flag) => before[flag] && !after[flag]),
  ...before.sharing
    .filter((agency) => !after.sharing.includes(agency))
    .map((agency) => `sharing with ${agency}`),
];

const sameConsent = (a: Consent, b: Consent): boolean =>
  a.services === b.services &&
  a.reporting === b.reporting &&
  a.tracing === b.tracing &&
  a.sharing.length === b.sharing.length &&
  a.sharing.every((agency) => b.sharing.includes(agency));

/** The child decider for one programme. */
export const childDecider = (programme: ProgrammeWindow): Decider<ChildCommand, ChildState, ChildEvent> => ({
  initialState: () => ({ status: 'none' }),

  decide: (command, state) => {
    if (command.type === 'RegisterChild') {
      if (state.status === 'registered') {
        throw new RuleViolationError(
          'child-registered-once',
          `Child ${command.data.childRef} was already registered (at ${state.registeredAt}). Record consent changes with ChangeConsent instead.`,
        );
      }
      if (state.status === 'erased') {
        throw new RuleViolationError(
          'child-registered-once',
          `Child ${command.data.childRef}'s data was erased on ${state.erasedAt}; a pseudonym is never reused. Mint a new pseudonym to register the child again.`,
        );
      }
      const registration = ChildRegistered.create(command.data);
      const occurredAt = occurredAtOf(command, 'ChildRegistered');
      requireSameProgramme(programme, registration.data.programmeId);
      requireInstantInProgramme(programme, occurredAt, 'The registration');
      return [stamp(registration, occurredAt)];
    }
    if (state.status === 'none') {
      throw new RuleViolationError(
        'child-registered',
        `Child ${command.data.childRef} has not been registered. Record RegisterChild first.`,
      );
    }
    if (command.data.childRef !== state.childRef) {
      throw new RuleViolationError(
        'same-child',
        `This stream holds child ${state.childRef}, not ${command.data.childRef}. Send the command to stream child-${command.data.childRef}.`,
      );
    }
    if (state.status === 'erased') {
      throw new RuleViolationError(
        'child-erased',
        command.type === 'EraseChildData'
          ? `Child ${state.childRef}'s data was already erased on ${state.erasedAt}; there is nothing left to erase.`
          : `Child ${state.childRef}'s data was erased on ${state.erasedAt}; erasure is final and the child takes no further commands. Register the child under a new pseudonym if the programme works with them again.`,
      );
    }
    switch (command.type) {
      case 'ChangeConsent': {
        const change = ConsentChanged.create(command.data);
        // Withdrawal must be honoured at any time, even after the programme ends: no window check.
        requireAfterRegistration(state, occurredAtOf(command, 'ConsentChanged'), 'The consent change');
        const { consent, withdrawn, consentGivenBy } = change.data;
        const withdrawals = withdrawalsIn(state.consent, consent);
        if (withdrawn && withdrawals.length === 0) {
          throw new RuleViolationError(
            'consent-withdrawal',
            `This consent change for child ${state.childRef} is marked withdrawn but takes nothing away. Set withdrawn to false when consent is only given or widened.`,
          );
        }
        if (!withdrawn && withdrawals.length > 0) {
          throw new RuleViolationError(
            'consent-withdrawal',
            `This consent change for child ${state.childRef} takes away ${withdrawals.join(', ')} but is not marked withdrawn. Set withdrawn to true.`,
          );
        }
        if (sameConsent(state.consent, consent) && consentGivenBy === state.consentGivenBy) {
          throw new RuleViolationError(
            'consent-changes',
            `This consent change for child ${state.childRef} changes nothing. Record it only when the consent changes.`,
          );
        }
        return [change];
      }
      case 'AssessWellbeing': {
        const assessment = WellbeingAssessed.create(command.data);
        const occurredAt = occurredAtOf(command, 'WellbeingAssessed');
        const { instrument, kind } = assessment.data;
        const scores = scoresOf(state, instrument);
        if (kind === 'initial' && scores) {
          throw new RuleViolationError(
            'wellbeing-initial-once',
            `Child ${state.childRef} already has an initial ${instrument} assessment (score ${scores.initial}). Record this one as a follow-up.`,
          );
        }
        if (kind === 'follow-up' && !scores) {
          throw new RuleViolationError(
            'wellbeing-initial-first',
            `Child ${state.childRef} has no initial ${instrument} assessment to follow up. Record the first ${instrument} assessment as initial.`,
          );
        }
        requireAfterRegistration(state, occurredAt, 'The wellbeing assessment');
        requireInstantInProgramme(programme, occurredAt, 'The wellbeing assessment');
        return [assessment];
      }
      case 'EraseChildData': {
        const erasure = ChildDataErased.create(command.data);
        // The right to erasure outlives the programme: no window check.
        if (Date.parse(erasure.data.erasedAt) < Date.parse(state.registeredAt)) {
          throw new RuleViolationError(
            'erasure-after-registration',
            `The erasure time (${erasure.data.erasedAt}) is before child ${state.childRef} was registered (${state.registeredAt}). Check erasedAt.`,
          );
        }
        return [erasure];
      }
      default:
        return [];
    }
  },

  evolve: (state, event) => {
    if (event.type === 'ChildRegistered') {
      return {
        status: 'registered',
        childRef: event.data.childRef,
        sex: event.data.sex,
        ageBand: event.data.ageBand,
        area: event.data.area,
        registeredAt: event.metadata.occurredAt,
        consent: event.data.consent,
        consentGivenBy: event.data.consentGivenBy,
        wellbeing: {},
      };
    }
    if (state.status !== 'registered') return state;
    switch (event.type) {
      case 'ConsentChanged':
        return { ...state, consent: event.data.consent, consentGivenBy: event.data.consentGivenBy };
      case 'WellbeingAssessed': {
        const { instrument, score, kind } = event.data;
        const scores = scoresOf(state, instrument);
        const next: WellbeingScores | undefined =
          kind === 'initial' ? { initial: score, latest: score } : scores && { ...scores, latest: score };
        return next ? { ...state, wellbeing: { ...state.wellbeing, [instrument]: next } } : state;
      }
      case 'ChildDataErased':
        return {
          status: 'erased',
          childRef: state.childRef,
          registeredAt: state.registeredAt,
          erasedAt: event.data.erasedAt,
        };
      default:
        return state;
    }
  },
});
