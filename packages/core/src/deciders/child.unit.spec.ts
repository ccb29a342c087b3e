import { describe, expect, it } from 'vitest';
import { RuleViolationError, ValidationError } from '../errors/errors.js';
import { DeciderSpecification } from '../testing/deciderSpecification.js';
import { type ChildCommand, type ChildEvent, childDecider } from './child.js';
import { foldEvents } from './decider.js';
import type { ProgrammeWindow } from './programmeWindow.js';

const programme: ProgrammeWindow = {
  programmeId: 'psk-phnom-penh',
  plannedStart: '2018-12-01',
  plannedEnd: '2020-11-30',
  timeZone: 'Asia/Phnom_Penh',
  currency: 'USD',
};
const decider = childDecider(programme);
const spec = DeciderSpecification.for(decider);

const staff = 'st_00000000000000a1';
const childRef = 'ch_00000000000000a1';
const shelterRef = 'ag_00000000000000b1';
const clinicRef = 'ag_00000000000000b2';
const at = (occurredAt: string) => ({ occurredAt, recordedBy: staff });
const registeredAt = '2020-03-02T10:00:00+07:00';
const later = at('2020-03-05T09:00:00+07:00');

const fullConsent = { services: true, reporting: true, tracing: true, sharing: [shelterRef, clinicRef] };
const registrationData = {
  programmeId: 'psk-phnom-penh',
  childRef,
  sex: 'female' as const,
  ageBand: '12-17' as const,
  area: 'KH-12-09',
  identifiedVia: 'outreach' as const,
  consent: fullConsent,
  consentGivenBy: 'caregiver' as const,
  legalBasis: 'consent' as const,
};
const registered: ChildEvent = {
  type: 'ChildRegistered',
  data: registrationData,
  metadata: { occurredAt: registeredAt },
};
const register: ChildCommand = { type: 'RegisterChild', data: registrationData, metadata: at(registeredAt) };

type ChangeConsent = Extract<ChildCommand, { type: 'ChangeConsent' }>;
const consentChange = (consent: typeof fullConsent, withdrawn: boolean): ChangeConsent => ({
  type: 'ChangeConsent',
  data: { childRef, consent, withdrawn, consentGivenBy: 'caregiver' },
  metadata: later,
});

const initialData = { childRef, instrument: 'who-5', score: 8, kind: 'initial' as const };
const initialAssessed: ChildEvent = { type: 'WellbeingAssessed', data: initialData };
const assessInitial: ChildCommand = { type: 'AssessWellbeing', data: initialData, metadata: later };
const followUpData = { ...initialData, score: 13, kind: 'follow-up' as const };
const assessFollowUp: ChildCommand = { type: 'AssessWellbeing', data: followUpData, metadata: later };

const erasureData = { childRef, requestedBy: staff, erasedAt: '2020-06-01T09:00:00+07:00' };
const erased: ChildEvent = { type: 'ChildDataErased', data: erasureData };
const erase: ChildCommand = { type: 'EraseChildData', data: erasureData, metadata: at(erasureData.erasedAt) };

/** Every command for a registered child, valid for a child registered at `registeredAt`. */
const workWithTheChild: readonly ChildCommand[] = [
  consentChange({ ...fullConsent, reporting: false }, true),
  assessInitial,
  erase,
];

describe('child decider: registration', () => {
  it('registers a child, stamped with the instant it happened', () => {
    spec.given([]).when(register).then([registered]);
  });

  it('registers a child only once', () => {
    spec.given([registered]).when(register).thenThrows(RuleViolationError, 'already registered');
  });

  it('never registers an erased pseudonym again', () => {
    spec.given([registered, erased]).when(register).thenThrows(RuleViolationError, 'Mint a new pseudonym');
  });

  it('refuses a child of another programme', () => {
    spec
      .given([])
      .when({ ...register, data: { ...registrationData, programmeId: 'other-programme' } })
      .thenThrows(RuleViolationError, 'names programme "other-programme"');
  });

  it('refuses a registration whose data breaks the schema', () => {
    spec
      .given([])
      .when({ ...register, data: { ...registrationData, childRef: 'Sokha 2009-04-01' } })
      .thenThrows(ValidationError, 'data.childRef');
  });

  it('refuses a registration whose field time is not an instant with an offset', () => {
    spec
      .given([])
      .when({ ...register, metadata: at('2020-03-02') })
      .thenThrows(ValidationError, 'metadata.occurredAt');
  });

  it('places the registration in the programme by its date in Phnom Penh', () => {
    spec
      .given([])
      .when({ ...register, metadata: at('2018-12-01T06:00:00+07:00') })
      .then([{ ...registered, metadata: { occurredAt: '2018-12-01T06:00:00+07:00' } }]);
    // 23:30 on 30 November in UTC is already 1 December in Phnom Penh: after the programme ended.
    spec
      .given([])
      .when({ ...register, metadata: at('2020-11-30T23:30:00Z') })
      .thenThrows(RuleViolationError, '(2020-12-01) is outside programme');
  });
});

describe('child decider: commands for a registered child', () => {
  it('refuses any command for a child never registered', () => {
    for (const command of workWithTheChild) {
      spec.given([]).when(command).thenThrows(RuleViolationError, 'Record RegisterChild first');
    }
  });

  it('refuses commands sent to another child stream', () => {
    const other = 'ch_00000000000000a2';
    for (const command of workWithTheChild) {
      spec
        .given([registered])
        .when({ ...command, data: { ...command.data, childRef: other } } as ChildCommand)
        .thenThrows(RuleViolationError, `stream child-${other}`);
    }
  });

  it('takes no command after the child data was erased', () => {
    for (const command of workWithTheChild.filter((c) => c.type !== 'EraseChildData')) {
      spec.given([registered, erased]).when(command).thenThrows(RuleViolationError, 'erasure is final');
    }
  });
});

describe('child decider: consent', () => {
  it('records a withdrawal of consent', () => {
    const command = consentChange({ ...fullConsent, reporting: false }, true);
    spec
      .given([registered])
      .when(command)
      .then([{ type: 'ConsentChanged', data: command.data }]);
  });

  it('counts an agency removed from sharing as a withdrawal', () => {
    const command = consentChange({ ...fullConsent, sharing: [shelterRef] }, true);
    spec
      .given([registered])
      .when(command)
      .then([{ type: 'ConsentChanged', data: command.data }]);
    spec
      .given([registered])
      .when(consentChange({ ...fullConsent, sharing: [shelterRef] }, false))
      .thenThrows(RuleViolationError, `takes away sharing with ${clinicRef} but is not marked withdrawn`);
  });

  it('records consent given again after a withdrawal', () => {
    const withdrawal = consentChange({ ...fullConsent, tracing: false }, true);
    const givenAgain = consentChange(fullConsent, false);
    spec
      .given([registered, { type: 'ConsentChanged', data: withdrawal.data }])
      .when(givenAgain)
      .then([{ type: 'ConsentChanged', data: givenAgain.data }]);
  });

  it('refuses a withdrawal that takes nothing away', () => {
    const withdrawal = consentChange({ ...fullConsent, tracing: false }, true);
    spec
      .given([registered, { type: 'ConsentChanged', data: withdrawal.data }])
      .when(consentChange(fullConsent, true))
      .thenThrows(RuleViolationError, 'marked withdrawn but takes nothing away');
  });

  it('refuses a change that takes consent away without being marked withdrawn', () => {
    spec
      .given([registered])
      .when(consentChange({ ...fullConsent, services: false }, false))
      .thenThrows(RuleViolationError, 'takes away services but is not marked withdrawn');
  });

  it('refuses a consent change that changes nothing', () => {
    spec
      .given([registered])
      .when(consentChange({ ...fullConsent, sharing: [clinicRef, shelterRef] }, false))
      .thenThrows(RuleViolationError, 'changes nothing');
  });

  it('records a change of who gives consent even when the consent stays the same', () => {
    const command: ChildCommand = {
      type: 'ChangeConsent',
      data: { childRef, consent: fullConsent, withdrawn: false, consentGivenBy: 'child' },
      metadata: later,
    };
    spec
      .given([registered])
      .when(command)
      .then([{ type: 'ConsentChanged', data: command.data }]);
  });

  it('records a withdrawal after the programme ended', () => {
    const command = {
      ...consentChange({ ...fullConsent, reporting: false }, true),
      metadata: at('2021-02-01T09:00:00+07:00'),
    };
    spec
      .given([registered])
      .when(command)
      .then([{ type: 'ConsentChanged', data: command.data }]);
  });

  it('refuses a consent change dated before the registration', () => {
    spec
      .given([registered])
      .when({
        ...consentChange({ ...fullConsent, reporting: false }, true),
        metadata: at('2020-03-02T09:00:00+07:00'),
      })
      .thenThrows(RuleViolationError, 'before child ch_00000000000000a1 was registered');
  });
});

describe('child decider: wellbeing', () => {
  it('records an initial assessment, then follow-ups', () => {
    spec.given([registered]).when(assessInitial).then([initialAssessed]);
    spec
      .given([registered, initialAssessed])
      .when(assessFollowUp)
      .then([{ type: 'WellbeingAssessed', data: followUpData }]);
  });

  it('refuses a follow-up without an initial assessment with the same instrument', () => {
    spec
      .given([registered])
      .when(assessFollowUp)
      .thenThrows(RuleViolationError, 'no initial who-5 assessment');
    spec
      .given([registered, initialAssessed])
      .when({ ...assessFollowUp, data: { ...followUpData, instrument: 'sdq' } })
      .thenThrows(RuleViolationError, 'no initial sdq assessment');
  });

  it('takes one initial assessment per instrument', () => {
    spec
      .given([registered, initialAssessed])
      .when(assessInitial)
      .thenThrows(RuleViolationError, 'already has an initial who-5 assessment');
    const sdq = { ...initialData, instrument: 'sdq' };
    spec
      .given([registered, initialAssessed])
      .when({ ...assessInitial, data: sdq })
      .then([{ type: 'WellbeingAssessed', data: sdq }]);
  });

  it('treats an instrument named like an object key like any other', () => {
    const odd = { ...initialData, instrument: 'constructor' };
    spec
      .given([registered])
      .when({ ...assessInitial, data: odd })
      .then([{ type: 'WellbeingAssessed', data: odd }]);
  });

  it('refuses an assessment after the programme ended', () => {
    spec
      .given([registered])
      .when({ ...assessInitial, metadata: at('2020-12-01T09:00:00+07:00') })
      .thenThrows(RuleViolationError, 'outside programme');
  });

  it('refuses an assessment before the registration', () => {
    spec
      .given([registered])
      .when({ ...assessInitial, metadata: at('2020-03-01T09:00:00+07:00') })
      .thenThrows(RuleViolationError, 'before child ch_00000000000000a1 was registered');
  });
});

describe('child decider: erasure', () => {
  it('erases a child data, also after the programme ended', () => {
    spec.given([registered, initialAssessed]).when(erase).then([erased]);
    const afterEnd = { ...erasureData, erasedAt: '2021-05-01T09:00:00+07:00' };
    spec
      .given([registered])
      .when({ ...erase, data: afterEnd })
      .then([{ type: 'ChildDataErased', data: afterEnd }]);
  });

  it('refuses to erase twice', () => {
    spec.given([registered, erased]).when(erase).thenThrows(RuleViolationError, 'already erased');
  });

  it('refuses an erasure time before the registration', () => {
    spec
      .given([registered])
      .when({ ...erase, data: { ...erasureData, erasedAt: '2020-03-02T02:59:00Z' } })
      .thenThrows(RuleViolationError, 'before child ch_00000000000000a1 was registered');
  });
});

describe('child decider: state', () => {
  it('keeps current consent, registration and wellbeing scores', () => {
    const withdrawal = consentChange({ ...fullConsent, reporting: false }, true);
    const state = foldEvents(decider, [
      registered,
      { type: 'ConsentChanged', data: withdrawal.data },
      initialAssessed,
      { type: 'WellbeingAssessed', data: followUpData },
      { type: 'WellbeingAssessed', data: { ...followUpData, score: 15 } },
    ]);
    expect(state).toEqual({
      status: 'registered',
      childRef,
      sex: 'female',
      ageBand: '12-17',
      area: 'KH-12-09',
      registeredAt,
      consent: { ...fullConsent, reporting: false },
      consentGivenBy: 'caregiver',
      wellbeing: { 'who-5': { initial: 8, latest: 15 } },
    });
  });

  it('keeps nothing of an erased child but the pseudonym and the dates', () => {
    expect(foldEvents(decider, [registered, initialAssessed, erased])).toEqual({
      status: 'erased',
      childRef,
      registeredAt,
      erasedAt: erasureData.erasedAt,
    });
  });
});
