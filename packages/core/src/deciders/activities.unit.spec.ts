import { describe, expect, it } from 'vitest';
import { RuleViolationError, ValidationError } from '../errors/errors.js';
import type { CatalogEventData } from '../events/catalog.js';
import type { NewEvent } from '../events/envelope.js';
import { DeciderSpecification } from '../testing/deciderSpecification.js';
import {
  type AidCommand,
  type AidEvent,
  aidDecider,
  type OutreachCommand,
  type OutreachEvent,
  outreachDecider,
  type TrainingCommand,
  type TrainingEvent,
  trainingDecider,
} from './activities.js';
import { foldEvents } from './decider.js';
import type { ProgrammeWindow } from './programmeWindow.js';

const programme: ProgrammeWindow = {
  programmeId: 'psk-phnom-penh',
  plannedStart: '2018-12-01',
  plannedEnd: '2020-11-30',
  timeZone: 'Asia/Phnom_Penh',
  currency: 'USD',
};
const programmeId = programme.programmeId;
const recordedBy = 'st_00000000000000a1';
const metadata = { occurredAt: '2020-06-10T10:00:00+07:00', recordedBy };

describe('outreach decider', () => {
  const spec = DeciderSpecification.for(outreachDecider(programme));

  const shift: CatalogEventData<'OutreachConducted'> = {
    programmeId,
    teamId: 'night-team',
    mode: 'night-outreach',
    area: 'KH-12-02-01',
    shiftStart: '2019-03-04T19:00:00+07:00',
    shiftEnd: '2019-03-04T23:30:00+07:00',
    contacts: [
      { sex: 'female', ageBand: '5-11', count: 3 },
      { sex: 'male', ageBand: '12-17', count: 2 },
    ],
    newChildRefs: ['ch_00000000000000c1', 'ch_00000000000000c2'],
    leafletsDistributed: 20,
  };
  const conducted: OutreachEvent = { type: 'OutreachConducted', data: shift };
  const conduct = (data: Partial<CatalogEventData<'OutreachConducted'>>): OutreachCommand => ({
    type: 'ConductOutreach',
    data: { ...shift, ...data },
    metadata: { ...metadata, occurredAt: data.shiftStart ?? shift.shiftStart },
  });
  const accepted = (data: Partial<CatalogEventData<'OutreachConducted'>>): void =>
    spec
      .given([])
      .when(conduct(data))
      .then([{ type: 'OutreachConducted', data: { ...shift, ...data } }]);

  it('records a night-outreach shift', () => {
    spec.given([]).when(conduct({})).then([conducted]);
  });

  it('refuses a shift of another programme', () => {
    spec
      .given([])
      .when(conduct({ programmeId: 'other-programme' }))
      .thenThrows(RuleViolationError, 'names programme');
  });

  it('refuses a shift whose data breaks the schema', () => {
    spec
      .given([])
      .when(conduct({ area: 'Red-light district' }))
      .thenThrows(ValidationError, 'data.area');
    spec
      .given([])
      .when(conduct({ shiftEnd: '2019-03-04T18:00:00+07:00' }))
      .thenThrows(ValidationError, 'data.shiftEnd');
  });

  it('accepts a night shift at 23:30 on 31 May, which is May in Phnom Penh', () => {
    accepted({ shiftStart: '2020-05-31T23:30:00+07:00', shiftEnd: '2020-06-01T02:30:00+07:00' });
  });

  it('places a shift in the programme by its local date, not its UTC date', () => {
    // 05:00 on 1 December 2018 in Phnom Penh is still 30 November in UTC.
    accepted({ shiftStart: '2018-12-01T05:00:00+07:00', shiftEnd: '2018-12-01T07:00:00+07:00' });
    // 23:30 on 30 November 2020 in Phnom Penh is the programme's last day.
    accepted({ shiftStart: '2020-11-30T23:30:00+07:00', shiftEnd: '2020-12-01T03:00:00+07:00' });
  });

  it('refuses a shift that starts outside the programme', () => {
    spec
      .given([])
      .when(conduct({ shiftStart: '2018-11-30T20:00:00+07:00', shiftEnd: '2018-11-30T23:00:00+07:00' }))
      .thenThrows(RuleViolationError, 'The shift start (2018-11-30) is outside programme');
    // 00:30 on 1 December 2020 in Phnom Penh, though still 30 November in UTC.
    spec
      .given([])
      .when(conduct({ shiftStart: '2020-11-30T17:30:00Z', shiftEnd: '2020-11-30T21:00:00Z' }))
      .thenThrows(RuleViolationError, 'The shift start (2020-12-01) is outside programme');
  });

  it('accepts a shift of 16 hours and refuses a longer one', () => {
    accepted({
      mode: 'street',
      shiftStart: '2019-03-04T06:00:00+07:00',
      shiftEnd: '2019-03-04T22:00:00+07:00',
    });
    spec
      .given([])
      .when(conduct({ shiftStart: '2019-03-04T18:00:00+07:00', shiftEnd: '2019-03-05T10:01:00+07:00' }))
      .thenThrows(RuleViolationError, 'at most 16 hours');
  });

  it('accepts night outreach starting from 17:00 until 05:59 local time', () => {
    accepted({ shiftStart: '2019-03-04T17:00:00+07:00', shiftEnd: '2019-03-04T21:00:00+07:00' });
    accepted({ shiftStart: '2019-03-05T05:59:00+07:00', shiftEnd: '2019-03-05T07:00:00+07:00' });
    // 17:00 in Phnom Penh, written in UTC.
    accepted({ shiftStart: '2019-03-04T10:00:00Z', shiftEnd: '2019-03-04T14:00:00Z' });
  });

  it('refuses night outreach that starts in the day, and says why', () => {
    spec
      .given([])
      .when(conduct({ shiftStart: '2019-03-04T16:59:00+07:00', shiftEnd: '2019-03-04T21:00:00+07:00' }))
      .thenThrows(RuleViolationError, 'must start between 17:00 and 05:59 local time (Asia/Phnom_Penh)');
    // 23:00 UTC is 06:00 the next morning in Phnom Penh: too late for a night shift.
    spec
      .given([])
      .when(conduct({ shiftStart: '2019-03-04T23:00:00Z', shiftEnd: '2019-03-05T02:00:00Z' }))
      .thenThrows(RuleViolationError, 'starts at 06:00');
  });

  it('lets street outreach run in the day', () => {
    accepted({
      mode: 'street',
      shiftStart: '2019-03-04T09:00:00+07:00',
      shiftEnd: '2019-03-04T12:00:00+07:00',
    });
  });

  it('refuses more new children than contacts', () => {
    spec
      .given([])
      .when(conduct({ contacts: [{ sex: 'female', ageBand: '5-11', count: 1 }] }))
      .thenThrows(RuleViolationError, 'names 2 new children but counts only 1 contacts');
  });

  it('refuses a child recorded as new twice', () => {
    spec
      .given([conducted])
      .when(
        conduct({
          shiftStart: '2019-03-06T19:00:00+07:00',
          shiftEnd: '2019-03-06T23:00:00+07:00',
          newChildRefs: ['ch_00000000000000c2', 'ch_00000000000000c3'],
        }),
      )
      .thenThrows(RuleViolationError, 'ch_00000000000000c2 was already recorded as new');
    spec
      .given([conducted])
      .when(conduct({ newChildRefs: ['ch_00000000000000c3'] }))
      .then([{ type: 'OutreachConducted', data: { ...shift, newChildRefs: ['ch_00000000000000c3'] } }]);
  });

  const homeVisit: CatalogEventData<'HomeVisitConducted'> = {
    programmeId,
    householdRef: 'hh_00000000000000d1',
    childRefs: ['ch_00000000000000c1'],
    reason: 'club-substitute',
    area: 'KH-12-06-01',
  };
  const visit = (data: Partial<CatalogEventData<'HomeVisitConducted'>>, occurredAt = metadata.occurredAt) =>
    ({
      type: 'ConductHomeVisit',
      data: { ...homeVisit, ...data },
      metadata: { ...metadata, occurredAt },
    }) satisfies OutreachCommand;

  it('records a home visit in place of a club', () => {
    spec
      .given([])
      .when(visit({}))
      .then([{ type: 'HomeVisitConducted', data: homeVisit }]);
  });

  it('refuses a home visit of another programme or outside it', () => {
    spec
      .given([])
      .when(visit({ programmeId: 'other' }))
      .thenThrows(RuleViolationError, 'names programme');
    spec
      .given([])
      .when(visit({}, '2020-12-01T09:00:00+07:00'))
      .thenThrows(RuleViolationError, 'The home visit (2020-12-01) is outside programme');
  });

  it('refuses a command whose occurredAt is not an instant with an offset', () => {
    spec.given([]).when(visit({}, '2020-06-10 10:00')).thenThrows(ValidationError, 'metadata.occurredAt');
  });

  it('refuses a club-substitute visit that names no child, but not a case follow-up', () => {
    spec
      .given([])
      .when(visit({ childRefs: [] }))
      .thenThrows(RuleViolationError, 'name at least one child');
    spec
      .given([])
      .when(visit({ childRefs: [], reason: 'case-follow-up' }))
      .then([
        { type: 'HomeVisitConducted', data: { ...homeVisit, childRefs: [], reason: 'case-follow-up' } },
      ]);
  });

  const awareness: CatalogEventData<'AwarenessSessionHeld'> = {
    programmeId,
    audience: 'parents',
    topic: 'trafficking-law',
    participants: [
      { sex: 'female', count: 18 },
      { sex: 'male', count: 6 },
    ],
    area: 'KH-12-06',
  };
  const hold = (data: Partial<CatalogEventData<'AwarenessSessionHeld'>>, occurredAt = metadata.occurredAt) =>
    ({
      type: 'HoldAwarenessSession',
      data: { ...awareness, ...data },
      metadata: { ...metadata, occurredAt },
    }) satisfies OutreachCommand;

  it('holds an awareness session with participants', () => {
    spec
      .given([])
      .when(hold({}))
      .then([{ type: 'AwarenessSessionHeld', data: awareness }]);
  });

  it('refuses an awareness session with no participant', () => {
    spec
      .given([])
      .when(hold({ participants: [{ sex: 'female', count: 0 }] }))
      .thenThrows(RuleViolationError, 'at least one participant');
    spec
      .given([])
      .when(hold({ participants: [] }))
      .thenThrows(RuleViolationError, 'at least one participant');
  });

  it('refuses an awareness session of another programme or outside it', () => {
    spec
      .given([])
      .when(hold({ programmeId: 'other' }))
      .thenThrows(RuleViolationError, 'names programme');
    spec
      .given([])
      .when(hold({}, '2018-11-30T18:00:00+07:00'))
      .thenThrows(RuleViolationError, 'The awareness session (2018-11-30) is outside programme');
  });

  const literature: CatalogEventData<'LiteratureDistributed'> = {
    programmeId,
    material: 'anti-trafficking-leaflet',
    quantity: 40,
    audience: 'community',
    area: 'KH-12-06-02',
  };
  const distribute = (
    data: Partial<CatalogEventData<'LiteratureDistributed'>>,
    occurredAt = metadata.occurredAt,
  ) =>
    ({
      type: 'DistributeLiterature',
      data: { ...literature, ...data },
      metadata: { ...metadata, occurredAt },
    }) satisfies OutreachCommand;

  it('distributes literature inside the programme', () => {
    spec
      .given([])
      .when(distribute({}))
      .then([{ type: 'LiteratureDistributed', data: literature }]);
    spec
      .given([])
      .when(distribute({ programmeId: 'other' }))
      .thenThrows(RuleViolationError, 'names programme');
    spec
      .given([])
      .when(distribute({}, '2021-01-05T09:00:00+07:00'))
      .thenThrows(RuleViolationError, 'outside programme');
    spec
      .given([])
      .when(distribute({ quantity: 0 }))
      .thenThrows(ValidationError, 'data.quantity');
  });

  it('counts each activity and remembers the children met for the first time', () => {
    const state = foldEvents(outreachDecider(programme), [
      conducted,
      { type: 'HomeVisitConducted', data: homeVisit },
      { type: 'HomeVisitConducted', data: homeVisit },
      { type: 'AwarenessSessionHeld', data: awareness },
      { type: 'LiteratureDistributed', data: literature },
    ]);
    expect(state).toEqual({
      outreachShifts: 1,
      homeVisits: 2,
      awarenessSessions: 1,
      literatureDistributions: 1,
      newChildRefs: new Set(['ch_00000000000000c1', 'ch_00000000000000c2']),
    });
  });
});

describe('aid decider', () => {
  const spec = DeciderSpecification.for(aidDecider(programme));
  const aid: CatalogEventData<'AidDistributed'> = {
    programmeId,
    distributionId: 'covid-2020-06-10-hh-d1',
    area: 'KH-12-06-01',
    householdRef: 'hh_00000000000000d1',
    items: [
      { item: 'rice', quantity: 10, unit: 'kg' },
      { item: 'soy-sauce', quantity: 1, unit: 'bottle' },
    ],
    context: 'covid-relief',
  };
  const distributed: AidEvent = { type: 'AidDistributed', data: aid };
  const distribute = (data: Partial<CatalogEventData<'AidDistributed'>>, occurredAt = metadata.occurredAt) =>
    ({
      type: 'DistributeAid',
      data: { ...aid, ...data },
      metadata: { ...metadata, occurredAt },
    }) satisfies AidCommand;

  it('distributes aid to a household', () => {
    spec.given([]).when(distribute({})).then([distributed]);
  });

  it('refuses aid of another programme', () => {
    spec
      .given([])
      .when(distribute({ programmeId: 'other' }))
      .thenThrows(RuleViolationError, 'names programme');
  });

  it('refuses aid handed out outside the programme', () => {
    spec
      .given([])
      .when(distribute({}, '2020-12-02T09:00:00+07:00'))
      .thenThrows(RuleViolationError, 'The aid distribution (2020-12-02) is outside programme');
  });

  it('refuses a distribution id used before, and accepts a new one', () => {
    spec.given([distributed]).when(distribute({})).thenThrows(RuleViolationError, 'already recorded');
    spec
      .given([distributed])
      .when(distribute({ distributionId: 'covid-2020-06-10-hh-d2', householdRef: 'hh_00000000000000d2' }))
      .then([
        {
          type: 'AidDistributed',
          data: { ...aid, distributionId: 'covid-2020-06-10-hh-d2', householdRef: 'hh_00000000000000d2' },
        },
      ]);
  });

  it('refuses a household named instead of a pseudonym', () => {
    spec
      .given([])
      .when(distribute({ householdRef: 'Sok family' }))
      .thenThrows(ValidationError, 'data.householdRef');
  });

  it('keeps the count and the ids of distributions', () => {
    expect(foldEvents(aidDecider(programme), [distributed])).toEqual({
      distributions: 1,
      distributionIds: new Set(['covid-2020-06-10-hh-d1']),
    });
  });
});

describe('training decider', () => {
  const spec = DeciderSpecification.for(trainingDecider(programme));
  const trainedData: CatalogEventData<'StaffTrained'> = {
    programmeId,
    staffRef: 'st_00000000000000a1',
    course: 'child-safeguarding',
    hours: 16,
  };
  const onTrainingDay = '2019-01-14T09:00:00+07:00';
  /** As the decider produces it: stamped with the field instant, since the data holds no date. */
  const trained: TrainingEvent = {
    type: 'StaffTrained',
    data: trainedData,
    metadata: { occurredAt: onTrainingDay },
  };
  /** As the store returns it, with the whole envelope. */
  const storedTraining: NewEvent<'StaffTrained', CatalogEventData<'StaffTrained'>> = {
    id: '0190c1d2-0000-7000-8000-000000000001',
    type: 'StaffTrained',
    data: trainedData,
    metadata: { occurredAt: onTrainingDay, recordedBy, schemaVersion: 1 },
  };
  const stamped = (data: CatalogEventData<'StaffTrained'>, occurredAt = onTrainingDay): TrainingEvent => ({
    type: 'StaffTrained',
    data,
    metadata: { occurredAt },
  });
  const train = (data: Partial<CatalogEventData<'StaffTrained'>>, occurredAt = onTrainingDay) =>
    ({
      type: 'TrainStaff',
      data: { ...trainedData, ...data },
      metadata: { ...metadata, occurredAt },
    }) satisfies TrainingCommand;

  it('records staff trained', () => {
    spec.given([]).when(train({})).then([trained]);
  });

  it('refuses training of another programme', () => {
    spec
      .given([])
      .when(train({ programmeId: 'other' }))
      .thenThrows(RuleViolationError, 'names programme');
  });

  it('refuses training outside the programme', () => {
    spec
      .given([])
      .when(train({}, '2018-11-20T09:00:00+07:00'))
      .thenThrows(RuleViolationError, 'The training (2018-11-20) is outside programme');
  });

  it('refuses the same staff member trained on the same course twice on one local date', () => {
    spec
      .given([storedTraining])
      .when(train({ hours: 4 }, '2019-01-14T15:00:00+07:00'))
      .thenThrows(RuleViolationError, 'already recorded trained in child-safeguarding on 2019-01-14');
    // 23:00 UTC on 13 January is 06:00 on 14 January in Phnom Penh.
    spec
      .given([storedTraining])
      .when(train({}, '2019-01-13T23:00:00Z'))
      .thenThrows(RuleViolationError, 'on 2019-01-14');
  });

  it('accepts another day, another course or another staff member', () => {
    spec
      .given([storedTraining])
      .when(train({}, '2019-01-15T09:00:00+07:00'))
      .then([stamped(trainedData, '2019-01-15T09:00:00+07:00')]);
    spec
      .given([storedTraining])
      .when(train({ course: 'healing-arts', hours: 40 }))
      .then([stamped({ ...trainedData, course: 'healing-arts', hours: 40 })]);
    spec
      .given([storedTraining])
      .when(train({ staffRef: 'st_00000000000000a2' }))
      .then([stamped({ ...trainedData, staffRef: 'st_00000000000000a2' })]);
  });

  it('refuses a staff member named instead of a pseudonym', () => {
    spec
      .given([])
      .when(train({ staffRef: 'Sophea' }))
      .thenThrows(ValidationError, 'data.staffRef');
  });

  it('refuses a second training the same day after one just decided, as well as one stored', () => {
    spec
      .given([trained])
      .when(train({}, '2019-01-14T16:00:00+07:00'))
      .thenThrows(RuleViolationError, 'already recorded trained');
  });

  it('keeps the count and the dated trainings', () => {
    expect(
      foldEvents(trainingDecider(programme), [
        storedTraining,
        stamped({ ...trainedData, course: 'healing-arts' }, '2019-03-17T23:30:00Z'),
      ]),
    ).toEqual({
      trainings: 2,
      trained: new Set([
        'st_00000000000000a1|child-safeguarding|2019-01-14',
        'st_00000000000000a1|healing-arts|2019-03-18',
      ]),
    });
  });
});
