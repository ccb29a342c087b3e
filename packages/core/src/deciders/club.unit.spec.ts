import { describe, it } from 'vitest';
import { RuleViolationError, ValidationError } from '../errors/errors.js';
import { DeciderSpecification } from '../testing/deciderSpecification.js';
import { type ClubCommand, type ClubEvent, clubDecider } from './club.js';
import type { ProgrammeWindow } from './programmeWindow.js';

const programme: ProgrammeWindow = {
  programmeId: 'psk-phnom-penh',
  plannedStart: '2018-12-01',
  plannedEnd: '2020-11-30',
  timeZone: 'Asia/Phnom_Penh',
  currency: 'USD',
};
const spec = DeciderSpecification.for(clubDecider(programme));
const metadata = { occurredAt: '2019-03-01T16:00:00+07:00', recordedBy: 'st_00000000000000a1' };

const established: ClubEvent = {
  type: 'ClubEstablished',
  data: {
    programmeId: 'psk-phnom-penh',
    clubId: 'club-01',
    name: 'Stung Mean Chey Kids Club 1',
    area: 'KH-12-09',
    kind: 'kids-club',
    establishedOn: '2019-02-01',
  },
};
const establish: ClubCommand = { type: 'EstablishClub', data: established.data, metadata };
const sessionData = {
  clubId: 'club-01',
  heldOn: '2019-03-01',
  activity: 'play' as const,
  attendance: [{ sex: 'female' as const, ageBand: '5-11' as const, count: 7 }],
};
const holdSession: ClubCommand = { type: 'HoldClubSession', data: sessionData, metadata };
const suspended: ClubEvent = {
  type: 'ClubSuspended',
  data: { clubId: 'club-01', reason: 'covid-19-restrictions' },
};
const closed: ClubEvent = { type: 'ClubClosed', data: { clubId: 'club-01', reason: 'merged' } };

describe('club decider', () => {
  it('establishes a club', () => {
    spec.given([]).when(establish).then([established]);
  });

  it('establishes a club only once', () => {
    spec.given([established]).when(establish).thenThrows(RuleViolationError, 'already established');
  });

  it('refuses a club established outside the programme dates', () => {
    spec
      .given([])
      .when({ ...establish, data: { ...established.data, establishedOn: '2021-01-10' } })
      .thenThrows(RuleViolationError, 'outside programme');
  });

  it('refuses a club of another programme', () => {
    spec
      .given([])
      .when({ ...establish, data: { ...established.data, programmeId: 'other' } })
      .thenThrows(RuleViolationError, 'names programme');
  });

  it('refuses a club whose data breaks the schema', () => {
    spec
      .given([])
      .when({ ...establish, data: { ...established.data, area: 'Phnom Penh' } })
      .thenThrows(ValidationError, 'data.area');
  });

  it('holds a session in an active club', () => {
    spec
      .given([established])
      .when(holdSession)
      .then([{ type: 'ClubSessionHeld', data: sessionData }]);
  });

  it('refuses a session in a club never established', () => {
    spec.given([]).when(holdSession).thenThrows(RuleViolationError, 'has not been established');
  });

  it('refuses a session for another club', () => {
    spec
      .given([established])
      .when({ ...holdSession, data: { ...sessionData, clubId: 'club-02' } })
      .thenThrows(RuleViolationError, 'stream club-club-02');
  });

  it('refuses a session while the club is suspended', () => {
    spec.given([established, suspended]).when(holdSession).thenThrows(RuleViolationError, 'suspended');
  });

  it('holds sessions again once resumed', () => {
    spec
      .given([
        established,
        suspended,
        { type: 'ClubResumed', data: { clubId: 'club-01', reason: 'restrictions-lifted' } },
      ])
      .when(holdSession)
      .then([{ type: 'ClubSessionHeld', data: sessionData }]);
  });

  it('refuses a session in a closed club', () => {
    spec.given([established, closed]).when(holdSession).thenThrows(RuleViolationError, 'closed');
  });

  it('refuses a session before the club was established', () => {
    spec
      .given([established])
      .when({ ...holdSession, data: { ...sessionData, heldOn: '2019-01-15' } })
      .thenThrows(RuleViolationError, 'before club');
  });

  it('refuses a session after the programme ended', () => {
    spec
      .given([established])
      .when({ ...holdSession, data: { ...sessionData, heldOn: '2020-12-01' } })
      .thenThrows(RuleViolationError, 'outside programme');
  });

  it('refuses a session with nobody attending', () => {
    spec
      .given([established])
      .when({ ...holdSession, data: { ...sessionData, attendance: [] } })
      .thenThrows(RuleViolationError, 'at least one attendee');
  });

  it('refuses more named attendees than were counted', () => {
    spec
      .given([established])
      .when({
        ...holdSession,
        data: {
          ...sessionData,
          attendance: [{ sex: 'male', ageBand: '5-11', count: 1 }],
          attendeeRefs: ['ch_00000000000000a1', 'ch_00000000000000a2'],
        },
      })
      .thenThrows(RuleViolationError, 'counts only 1');
  });

  it('suspends an active club and refuses to suspend it twice', () => {
    const suspend: ClubCommand = { type: 'SuspendClub', data: suspended.data, metadata };
    spec.given([established]).when(suspend).then([suspended]);
    spec.given([established, suspended]).when(suspend).thenThrows(RuleViolationError, 'already suspended');
  });

  it('resumes only a suspended club', () => {
    const resume: ClubCommand = {
      type: 'ResumeClub',
      data: { clubId: 'club-01', reason: 'restrictions-lifted' },
      metadata,
    };
    spec.given([established]).when(resume).thenThrows(RuleViolationError, 'not suspended');
  });

  it('closes a club once, and not before it was established', () => {
    const close: ClubCommand = { type: 'CloseClub', data: closed.data, metadata };
    spec.given([established]).when(close).then([closed]);
    spec.given([established, closed]).when(close).thenThrows(RuleViolationError, 'is closed');
    spec
      .given([established])
      .when({ ...close, metadata: { ...metadata, occurredAt: '2019-01-20T09:00:00+07:00' } })
      .thenThrows(RuleViolationError, 'before it was established');
  });
});
