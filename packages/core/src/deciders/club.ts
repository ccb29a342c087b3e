import { RuleViolationError } from '../errors/errors.js';
import {
  type CatalogEventData,
  ClubClosed,
  ClubEstablished,
  ClubResumed,
  ClubSessionHeld,
  ClubSuspended,
} from '../events/catalog.js';
import type { EventOf } from '../events/defineEvent.js';
import { localDateOf } from '../time/time.js';
import type { Command, Decider } from './decider.js';
import {
  type ProgrammeWindow,
  requireDateInProgramme,
  requireInstantInProgramme,
  requireSameProgramme,
} from './programmeWindow.js';

/** Stream `club-{clubId}`: a kids' club or Healing Arts group, its sessions and its status. */

export type ClubEvent =
  | EventOf<typeof ClubEstablished>
  | EventOf<typeof ClubSessionHeld>
  | EventOf<typeof ClubSuspended>
  | EventOf<typeof ClubResumed>
  | EventOf<typeof ClubClosed>;

export type ClubCommand =
  | Command<'EstablishClub', CatalogEventData<'ClubEstablished'>>
  | Command<'HoldClubSession', CatalogEventData<'ClubSessionHeld'>>
  | Command<'SuspendClub', CatalogEventData<'ClubSuspended'>>
  | Command<'ResumeClub', CatalogEventData<'ClubResumed'>>
  | Command<'CloseClub', CatalogEventData<'ClubClosed'>>;

export type ClubState =
  | { status: 'none' }
  | {
      status: 'active' | 'suspended' | 'closed';
      clubId: string;
      establishedOn: string;
      sessionsHeld: number;
    };

const notEstablished = (clubId: string): RuleViolationError =>
  new RuleViolationError(
    'club-established',
    `Club "${clubId}" has not been established. Record EstablishClub first.`,
  );

/** The club decider for one programme. */
export const clubDecider = (programme: ProgrammeWindow): Decider<ClubCommand, ClubState, ClubEvent> => ({
  initialState: () => ({ status: 'none' }),

  decide: (command, state) => {
    if (command.type === 'EstablishClub') {
      if (state.status !== 'none') {
        throw new RuleViolationError(
          'club-established-once',
          `Club "${command.data.clubId}" was already established on ${state.establishedOn}; choose another club id.`,
        );
      }
      requireSameProgramme(programme, command.data.programmeId);
      requireDateInProgramme(programme, command.data.establishedOn, 'The club establishment date');
      return [ClubEstablished.create(command.data)];
    }
    if (state.status === 'none') throw notEstablished(command.data.clubId);
    if (command.data.clubId !== state.clubId) {
      throw new RuleViolationError(
        'same-club',
        `This stream holds club "${state.clubId}", not "${command.data.clubId}". Send the command to stream club-${command.data.clubId}.`,
      );
    }
    if (state.status === 'closed') {
      throw new RuleViolationError(
        'club-open',
        `Club "${state.clubId}" is closed; a closed club takes no sessions or status changes. Establish a new club instead.`,
      );
    }
    switch (command.type) {
      case 'HoldClubSession': {
        const session = ClubSessionHeld.create(command.data);
        if (state.status === 'suspended') {
          throw new RuleViolationError(
            'club-not-suspended',
            `Club "${state.clubId}" is suspended and cannot hold sessions. Record ResumeClub when sessions may restart.`,
          );
        }
        if (session.data.heldOn < state.establishedOn) {
          throw new RuleViolationError(
            'session-after-establishment',
            `A session on ${session.data.heldOn} is before club "${state.clubId}" was established (${state.establishedOn}).`,
          );
        }
        requireDateInProgramme(programme, session.data.heldOn, 'The session date');
        if (session.data.attendance.every((cell) => cell.count === 0)) {
          throw new RuleViolationError(
            'session-attendance',
            'A session must have at least one attendee; record the attendance by sex and age band.',
          );
        }
        const attendees = session.data.attendance.reduce((sum, cell) => sum + cell.count, 0);
        if (session.data.attendeeRefs && session.data.attendeeRefs.length > attendees) {
          throw new RuleViolationError(
            'session-attendance',
            `The session lists ${session.data.attendeeRefs.length} attendees by pseudonym but counts only ${attendees}.`,
          );
        }
        return [session];
      }
      case 'SuspendClub':
        if (state.status === 'suspended') {
          throw new RuleViolationError('club-active', `Club "${state.clubId}" is already suspended.`);
        }
        requireInstantInProgramme(programme, command.metadata.occurredAt, 'The suspension');
        return [ClubSuspended.create(command.data)];
      case 'ResumeClub':
        if (state.status !== 'suspended') {
          throw new RuleViolationError(
            'club-suspended',
            `Club "${state.clubId}" is not suspended, so it cannot be resumed.`,
          );
        }
        requireInstantInProgramme(programme, command.metadata.occurredAt, 'The resumption');
        return [ClubResumed.create(command.data)];
      case 'CloseClub': {
        const closedOn = localDateOf(command.metadata.occurredAt, programme.timeZone);
        if (closedOn < state.establishedOn) {
          throw new RuleViolationError(
            'close-after-establishment',
            `Club "${state.clubId}" cannot close on ${closedOn}, before it was established (${state.establishedOn}).`,
          );
        }
        return [ClubClosed.create(command.data)];
      }
      default:
        return [];
    }
  },

  evolve: (state, event) => {
    switch (event.type) {
      case 'ClubEstablished':
        return {
          status: 'active',
          clubId: event.data.clubId,
          establishedOn: event.data.establishedOn,
          sessionsHeld: 0,
        };
      case 'ClubSessionHeld':
        return state.status === 'none' ? state : { ...state, sessionsHeld: state.sessionsHeld + 1 };
      case 'ClubSuspended':
        return state.status === 'none' ? state : { ...state, status: 'suspended' };
      case 'ClubResumed':
        return state.status === 'none' ? state : { ...state, status: 'active' };
      case 'ClubClosed':
        return state.status === 'none' ? state : { ...state, status: 'closed' };
      default:
        return state;
    }
  },
});
