import { RuleViolationError } from '../errors/errors.js';
import {
  AidDistributed,
  AwarenessSessionHeld,
  type CatalogEventData,
  HomeVisitConducted,
  LiteratureDistributed,
  OutreachConducted,
  StaffTrained,
} from '../events/catalog.js';
import type { EventOf } from '../events/defineEvent.js';
import { localDateOf, localTimeOf } from '../time/time.js';
import { type Command, type Decider, occurredAtOf, type Stamped, stamp } from './decider.js';
import { type ProgrammeWindow, requireInstantInProgramme, requireSameProgramme } from './programmeWindow.js';

/**
 * The activity streams of a programme: `outreach-{programmeId}` (night outreach, street work,
 * home visits, awareness sessions, literature), `aid-{programmeId}` and `training-{programmeId}`.
 */

/** The longest shift a team may record. */
const MAX_SHIFT_HOURS = 16;
/** A night-outreach shift starts from this hour (local time) … */
const NIGHT_STARTS_AT_HOUR = 17;
/** … up to the minute before this hour the next morning. */
const NIGHT_ENDS_BEFORE_HOUR = 6;
const HOUR_MS = 3_600_000;

/** The calendar date, in the programme's time zone, on which the command happened in the field. */
const occurredOn = (
  programme: ProgrammeWindow,
  command: Command,
  eventType: string,
  what: string,
): string => {
  const occurredAt = occurredAtOf(command, eventType);
  requireInstantInProgramme(programme, occurredAt, what);
  return localDateOf(occurredAt, programme.timeZone);
};

const total = (cells: readonly { count: number }[]): number => cells.reduce((sum, c) => sum + c.count, 0);

/** For callers without the types: a command sent to the wrong stream is refused, not ignored. */
const unknownCommand = (stream: string, command: { readonly type: string }): RuleViolationError =>
  new RuleViolationError('known-command', `The ${stream} stream takes no command "${command.type}".`);

// ---------------------------------------------------------------------------------------------
// Outreach: stream `outreach-{programmeId}`

export type OutreachEvent =
  | EventOf<typeof OutreachConducted>
  | EventOf<typeof HomeVisitConducted>
  | EventOf<typeof AwarenessSessionHeld>
  | EventOf<typeof LiteratureDistributed>;

export type OutreachCommand =
  | Command<'ConductOutreach', CatalogEventData<'OutreachConducted'>>
  | Command<'ConductHomeVisit', CatalogEventData<'HomeVisitConducted'>>
  | Command<'HoldAwarenessSession', CatalogEventData<'AwarenessSessionHeld'>>
  | Command<'DistributeLiterature', CatalogEventData<'LiteratureDistributed'>>;

export interface OutreachState {
  /** Outreach shifts conducted (night outreach, street work, home-visit rounds). */
  readonly outreachShifts: number;
  readonly homeVisits: number;
  readonly awarenessSessions: number;
  readonly literatureDistributions: number;
  /** Children already recorded as met for the first time: a child is new to the programme once. */
  readonly newChildRefs: ReadonlySet<string>;
}

/** The outreach decider for one programme. */
export const outreachDecider = (
  programme: ProgrammeWindow,
): Decider<OutreachCommand, OutreachState, OutreachEvent> => ({
  initialState: () => ({
    outreachShifts: 0,
    homeVisits: 0,
    awarenessSessions: 0,
    literatureDistributions: 0,
    newChildRefs: new Set(),
  }),

  decide: (command, state) => {
    switch (command.type) {
      case 'ConductOutreach': {
        const event = OutreachConducted.create(command.data);
        const shift = event.data;
        requireSameProgramme(programme, shift.programmeId);
        // The shift, not the moment it was recorded, places the outreach in the programme.
        requireInstantInProgramme(programme, shift.shiftStart, 'The shift start');
        const hours = (Date.parse(shift.shiftEnd) - Date.parse(shift.shiftStart)) / HOUR_MS;
        if (hours > MAX_SHIFT_HOURS) {
          throw new RuleViolationError(
            'shift-length',
            `A shift lasts at most ${MAX_SHIFT_HOURS} hours, but this one runs ${Number(hours.toFixed(2))} hours (${shift.shiftStart} to ${shift.shiftEnd}). Check shiftEnd, or record the work as separate shifts.`,
          );
        }
        if (shift.mode === 'night-outreach') {
          const start = localTimeOf(shift.shiftStart, programme.timeZone);
          if (start.hour < NIGHT_STARTS_AT_HOUR && start.hour >= NIGHT_ENDS_BEFORE_HOUR) {
            throw new RuleViolationError(
              'night-shift-hours',
              `A night-outreach shift must start between 17:00 and 05:59 local time (${programme.timeZone}), when children are on the streets at night; this one starts at ${start.text}. Check shiftStart and its offset, or record a daytime shift with mode "street".`,
            );
          }
        }
        const contacts = total(shift.contacts);
        if (shift.newChildRefs.length > contacts) {
          throw new RuleViolationError(
            'new-children-counted',
            `The shift names ${shift.newChildRefs.length} new children but counts only ${contacts} contacts. Every new child is also a contact: add them to the contacts by sex and age band.`,
          );
        }
        const repeated = shift.newChildRefs.filter((ref) => state.newChildRefs.has(ref));
        if (repeated.length > 0) {
          throw new RuleViolationError(
            'child-new-once',
            `${repeated.join(', ')} ${repeated.length === 1 ? 'was' : 'were'} already recorded as new on an earlier shift; a child is new to the programme only once. Remove them from newChildRefs and count them among the contacts.`,
          );
        }
        return [event];
      }

      case 'ConductHomeVisit': {
        const event = HomeVisitConducted.create(command.data);
        requireSameProgramme(programme, event.data.programmeId);
        occurredOn(programme, command, event.type, 'The home visit');
        if (event.data.reason === 'club-substitute' && event.data.childRefs.length === 0) {
          throw new RuleViolationError(
            'home-visit-children',
            "A home visit in place of a kids' club is a visit to the children: name at least one child met in childRefs.",
          );
        }
        return [event];
      }

      case 'HoldAwarenessSession': {
        const event = AwarenessSessionHeld.create(command.data);
        requireSameProgramme(programme, event.data.programmeId);
        occurredOn(programme, command, event.type, 'The awareness session');
        if (total(event.data.participants) === 0) {
          throw new RuleViolationError(
            'awareness-participants',
            'An awareness session must have at least one participant; record the participants by sex.',
          );
        }
        return [event];
      }

      case 'DistributeLiterature': {
        const event = LiteratureDistributed.create(command.data);
        requireSameProgramme(programme, event.data.programmeId);
        occurredOn(programme, command, event.type, 'The literature distribution');
        return [event];
      }

      default: {
        const unknown: never = command;
        throw unknownCommand(`outreach-${programme.programmeId}`, unknown);
      }
    }
  },

  evolve: (state, event) => {
    switch (event.type) {
      case 'OutreachConducted': {
        const newChildRefs = new Set(state.newChildRefs);
        for (const ref of event.data.newChildRefs) newChildRefs.add(ref);
        return { ...state, outreachShifts: state.outreachShifts + 1, newChildRefs };
      }
      case 'HomeVisitConducted':
        return { ...state, homeVisits: state.homeVisits + 1 };
      case 'AwarenessSessionHeld':
        return { ...state, awarenessSessions: state.awarenessSessions + 1 };
      case 'LiteratureDistributed':
        return { ...state, literatureDistributions: state.literatureDistributions + 1 };
      default:
        return state;
    }
  },
});

// ---------------------------------------------------------------------------------------------
// Aid: stream `aid-{programmeId}`

export type AidEvent = EventOf<typeof AidDistributed>;
export type AidCommand = Command<'DistributeAid', CatalogEventData<'AidDistributed'>>;

export interface AidState {
  readonly distributions: number;
  /** Distribution ids already used: each hand-out is recorded once. */
  readonly distributionIds: ReadonlySet<string>;
}

/** The aid decider for one programme. */
export const aidDecider = (programme: ProgrammeWindow): Decider<AidCommand, AidState, AidEvent> => ({
  initialState: () => ({ distributions: 0, distributionIds: new Set() }),

  decide: (command, state) => {
    if (command.type !== 'DistributeAid') throw unknownCommand(`aid-${programme.programmeId}`, command);
    const event = AidDistributed.create(command.data);
    requireSameProgramme(programme, event.data.programmeId);
    occurredOn(programme, command, event.type, 'The aid distribution');
    if (state.distributionIds.has(event.data.distributionId)) {
      throw new RuleViolationError(
        'distribution-unique',
        `Distribution "${event.data.distributionId}" is already recorded in programme "${programme.programmeId}". Give another hand-out its own distributionId; a resent command is recognised by its commandId.`,
      );
    }
    return [event];
  },

  evolve: (state, event) =>
    event.type === 'AidDistributed'
      ? {
          distributions: state.distributions + 1,
          distributionIds: new Set(state.distributionIds).add(event.data.distributionId),
        }
      : state,
});

// ---------------------------------------------------------------------------------------------
// Training: stream `training-{programmeId}`

/**
 * StaffTrained carries no date of its own: its date is the field instant it happened at. Events
 * read from the store carry it in their metadata; the decider stamps the event it produces, so
 * `evolve` always knows the training's date.
 */
export type TrainingEvent = Stamped<EventOf<typeof StaffTrained>>;
export type TrainingCommand = Command<'TrainStaff', CatalogEventData<'StaffTrained'>>;

export interface TrainingState {
  readonly trainings: number;
  /** `staffRef|course|date` of each training, the date local to the programme's time zone. */
  readonly trained: ReadonlySet<string>;
}

const trainingKey = (staffRef: string, course: string, date: string): string =>
  `${staffRef}|${course}|${date}`;

/** The training decider for one programme. */
export const trainingDecider = (
  programme: ProgrammeWindow,
): Decider<TrainingCommand, TrainingState, TrainingEvent> => ({
  initialState: () => ({ trainings: 0, trained: new Set() }),

  decide: (command, state) => {
    if (command.type !== 'TrainStaff') throw unknownCommand(`training-${programme.programmeId}`, command);
    const event = StaffTrained.create(command.data);
    requireSameProgramme(programme, event.data.programmeId);
    const date = occurredOn(programme, command, event.type, 'The training');
    if (state.trained.has(trainingKey(event.data.staffRef, event.data.course, date))) {
      throw new RuleViolationError(
        'training-once-a-day',
        `Staff member ${event.data.staffRef} is already recorded trained in ${event.data.course} on ${date}. Record a day's training once, with all its hours.`,
      );
    }
    return [stamp(event, command.metadata.occurredAt)];
  },

  evolve: (state, event) => {
    if (event.type !== 'StaffTrained') return state;
    const date = localDateOf(event.metadata.occurredAt, programme.timeZone);
    return {
      trainings: state.trainings + 1,
      trained: new Set(state.trained).add(trainingKey(event.data.staffRef, event.data.course, date)),
    };
  },
});
