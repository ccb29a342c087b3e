import { RuleViolationError } from '../errors/errors.js';
import { localDateOf } from '../time/time.js';

/**
 * What the club, case, child and activity deciders need to know of their programme: its
 * dates, time zone and currency. Build it from the programme's state with `programmeWindowOf`.
 */
export interface ProgrammeWindow {
  readonly programmeId: string;
  readonly plannedStart: string;
  readonly plannedEnd: string;
  readonly timeZone: string;
  readonly currency: string;
}

/** Throws unless the calendar date lies inside the programme. */
export const requireDateInProgramme = (programme: ProgrammeWindow, date: string, what: string): void => {
  if (date < programme.plannedStart || date > programme.plannedEnd) {
    throw new RuleViolationError(
      'date-inside-programme',
      `${what} (${date}) is outside programme "${programme.programmeId}", which runs ${programme.plannedStart} to ${programme.plannedEnd}. Check the date, or extend the programme first.`,
    );
  }
};

/** Throws unless the instant falls, in the programme's time zone, on a date inside the programme. */
export const requireInstantInProgramme = (programme: ProgrammeWindow, instant: string, what: string): void =>
  requireDateInProgramme(programme, localDateOf(instant, programme.timeZone), what);

/** Throws unless the command is for this programme. */
export const requireSameProgramme = (programme: ProgrammeWindow, programmeId: string): void => {
  if (programmeId !== programme.programmeId) {
    throw new RuleViolationError(
      'same-programme',
      `This command names programme "${programmeId}" but is handled for "${programme.programmeId}". Use the decider made for that programme.`,
    );
  }
};
