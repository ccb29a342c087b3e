import { describe, expect, it } from 'vitest';
import { RuleViolationError, ValidationError } from '../errors/errors.js';
import { DeciderSpecification } from '../testing/deciderSpecification.js';
import { type CaseCommand, type CaseEvent, caseDecider } from './case.js';
import { foldEvents } from './decider.js';
import type { ProgrammeWindow } from './programmeWindow.js';

const programme: ProgrammeWindow = {
  programmeId: 'psk-phnom-penh',
  plannedStart: '2018-12-01',
  plannedEnd: '2020-11-30',
  timeZone: 'Asia/Phnom_Penh',
  currency: 'USD',
};
const decider = caseDecider(programme);
const spec = DeciderSpecification.for(decider);

const staff = 'st_00000000000000a1';
const childRef = 'ch_00000000000000a1';
const caseId = 'PP-2020-014';
const shelterRef = 'ag_00000000000000b1';
const at = (occurredAt: string) => ({ occurredAt, recordedBy: staff });
const disclosedAt = '2020-03-02T10:00:00+07:00';
const later = at('2020-03-05T09:00:00+07:00');

const disclosureData = {
  programmeId: 'psk-phnom-penh',
  caseId,
  childRef,
  sex: 'female' as const,
  ageBand: '12-17' as const,
  area: 'KH-12-09',
  concerns: ['sexual-exploitation' as const],
  disclosedVia: 'outreach' as const,
};
const disclosed: CaseEvent = {
  type: 'CaseDisclosed',
  data: disclosureData,
  metadata: { occurredAt: disclosedAt },
};
const disclose: CaseCommand = { type: 'DiscloseCase', data: disclosureData, metadata: at(disclosedAt) };

const riskAssessed: CaseEvent = {
  type: 'RiskAssessed',
  data: { caseId, level: 'high', concerns: ['sexual-exploitation', 'trafficking'] },
};
const assessRisk: CaseCommand = { type: 'AssessRisk', data: riskAssessed.data, metadata: later };

const referralData = {
  caseId,
  referralId: 'ref-1',
  service: 'shelter' as const,
  toAgencyRef: shelterRef,
  consentBasis: { kind: 'given' as const },
};
const referredAt = '2020-03-03T14:00:00+07:00';
const referred: CaseEvent = {
  type: 'CaseReferred',
  data: referralData,
  metadata: { occurredAt: referredAt },
};
const refer: CaseCommand = { type: 'ReferCase', data: referralData, metadata: at(referredAt) };

const deliveryData = { caseId, referralId: 'ref-1', service: 'shelter' as const, deliveredOn: '2020-03-04' };
const deliver: CaseCommand = { type: 'DeliverService', data: deliveryData, metadata: later };

const placementData = {
  caseId,
  childRef,
  placementType: 'kinship' as const,
  caregiverRelation: 'grandparent' as const,
};
const placedAt = '2020-03-10T10:00:00+07:00';
const placed: CaseEvent = {
  type: 'ChildPlacedSafely',
  data: placementData,
  metadata: { occurredAt: placedAt },
};
const place: CaseCommand = { type: 'PlaceChildSafely', data: placementData, metadata: at(placedAt) };

const followUpData = { caseId, followedUpOn: '2020-03-05', kind: 'home-visit' as const };
const followUp: CaseCommand = { type: 'FollowUpCase', data: followUpData, metadata: later };

const closed: CaseEvent = { type: 'CaseClosed', data: { caseId, reason: 'goals-met' } };
const close: CaseCommand = { type: 'CloseCase', data: closed.data, metadata: later };
const reopened: CaseEvent = { type: 'CaseReopened', data: { caseId, reason: 'new-concern' } };
const reopen: CaseCommand = { type: 'ReopenCase', data: reopened.data, metadata: later };

/** Every command that acts on a disclosed case, valid for a case disclosed at `disclosedAt`. */
const workOnTheCase: readonly CaseCommand[] = [assessRisk, refer, deliver, followUp, place, close, reopen];

describe('case decider: disclosure', () => {
  it('discloses a case, stamped with the instant it happened', () => {
    spec.given([]).when(disclose).then([disclosed]);
  });

  it('discloses a case only once', () => {
    spec.given([disclosed]).when(disclose).thenThrows(RuleViolationError, 'already disclosed on 2020-03-02');
  });

  it('refuses a case of another programme', () => {
    spec
      .given([])
      .when({ ...disclose, data: { ...disclosureData, programmeId: 'other-programme' } })
      .thenThrows(RuleViolationError, 'names programme "other-programme"');
  });

  it('refuses a disclosure whose data breaks the schema', () => {
    spec
      .given([])
      .when({ ...disclose, data: { ...disclosureData, childRef: 'Sokha' } })
      .thenThrows(ValidationError, 'data.childRef');
  });

  it('refuses a disclosure whose field time is not an instant with an offset', () => {
    spec
      .given([])
      .when({ ...disclose, metadata: at('2 March 2020') })
      .thenThrows(ValidationError, 'metadata.occurredAt');
  });

  it('refuses a disclosure before the programme started', () => {
    spec
      .given([])
      .when({ ...disclose, metadata: at('2018-11-20T10:00:00+07:00') })
      .thenThrows(RuleViolationError, 'outside programme');
  });

  it('places the disclosure in the programme by its date in Phnom Penh, not in UTC', () => {
    // 23:30 on the programme's last day in Phnom Penh is 16:30 UTC on the same day: inside.
    const lastEvening = '2020-11-30T23:30:00+07:00';
    spec
      .given([])
      .when({ ...disclose, metadata: at(lastEvening) })
      .then([{ ...disclosed, metadata: { occurredAt: lastEvening } }]);
    // 00:30 on 1 December in Phnom Penh is still 30 November in UTC, but the programme has ended.
    spec
      .given([])
      .when({ ...disclose, metadata: at('2020-12-01T00:30:00+07:00') })
      .thenThrows(RuleViolationError, '(2020-12-01) is outside programme');
  });
});

describe('case decider: work on a disclosed case', () => {
  it('refuses any work on a case that was never disclosed', () => {
    for (const command of workOnTheCase) {
      spec.given([]).when(command).thenThrows(RuleViolationError, 'has not been disclosed');
    }
  });

  it('refuses work sent to another case stream', () => {
    for (const command of workOnTheCase) {
      spec
        .given([disclosed])
        .when({ ...command, data: { ...command.data, caseId: 'PP-2020-015' } } as CaseCommand)
        .thenThrows(RuleViolationError, 'stream case-PP-2020-015');
    }
  });

  it('refuses work recorded before the case was disclosed', () => {
    const earlier = at('2020-03-02T08:00:00+07:00');
    for (const command of [assessRisk, refer, place, close]) {
      spec
        .given([disclosed])
        .when({ ...command, metadata: earlier })
        .thenThrows(RuleViolationError, 'before case "PP-2020-014" was disclosed');
    }
  });

  it('refuses every command but ReopenCase on a closed case', () => {
    for (const command of [assessRisk, refer, deliver, followUp, place]) {
      spec.given([disclosed, closed]).when(command).thenThrows(RuleViolationError, 'Record ReopenCase first');
    }
  });
});

describe('case decider: risk assessment', () => {
  it('assesses the risk of an open case', () => {
    spec.given([disclosed]).when(assessRisk).then([riskAssessed]);
  });

  it('refuses a risk assessment after the programme ended', () => {
    spec
      .given([disclosed])
      .when({ ...assessRisk, metadata: at('2020-12-02T09:00:00+07:00') })
      .thenThrows(RuleViolationError, 'outside programme');
  });

  it('refuses a risk assessment without a concern', () => {
    spec
      .given([disclosed])
      .when({ ...assessRisk, data: { ...riskAssessed.data, concerns: [] } } as CaseCommand)
      .thenThrows(ValidationError, 'data.concerns');
  });
});

describe('case decider: referrals', () => {
  it('refers a case, stamped with the instant it happened', () => {
    spec.given([disclosed]).when(refer).then([referred]);
  });

  it('accepts a referral whose consent was overridden with a reason', () => {
    const overridden = {
      ...referralData,
      consentBasis: { kind: 'overridden' as const, reason: 'imminent-danger' as const },
    };
    spec
      .given([disclosed])
      .when({ ...refer, data: overridden })
      .then([{ ...referred, data: overridden }]);
  });

  it('refuses an overridden consent without its reason', () => {
    spec
      .given([disclosed])
      .when({
        ...refer,
        data: { ...referralData, consentBasis: { kind: 'overridden' } },
      } as unknown as CaseCommand)
      .thenThrows(ValidationError, 'data.consentBasis');
  });

  it('refuses a second referral with the same id', () => {
    spec
      .given([disclosed, referred])
      .when({ ...refer, data: { ...referralData, service: 'medical' } })
      .thenThrows(RuleViolationError, 'already has referral "ref-1"');
  });

  it('refuses a referral after the programme ended', () => {
    spec
      .given([disclosed])
      .when({ ...refer, metadata: at('2020-12-01T08:00:00+07:00') })
      .thenThrows(RuleViolationError, 'outside programme');
  });

  it('treats a referral id that is also an object key like any other id', () => {
    const constructorReferral = { ...referralData, referralId: 'constructor' };
    spec
      .given([disclosed])
      .when({ ...refer, data: constructorReferral })
      .then([{ ...referred, data: constructorReferral }]);
  });
});

describe('case decider: services', () => {
  it('delivers the service of a referral', () => {
    spec
      .given([disclosed, referred])
      .when(deliver)
      .then([{ type: 'ServiceDelivered', data: deliveryData }]);
  });

  it('delivers a service without a referral', () => {
    const counselling = { caseId, service: 'counselling' as const, deliveredOn: '2020-03-02' };
    spec
      .given([disclosed])
      .when({ ...deliver, data: counselling })
      .then([{ type: 'ServiceDelivered', data: counselling }]);
  });

  it('refuses a service for a referral that does not exist', () => {
    spec.given([disclosed]).when(deliver).thenThrows(RuleViolationError, 'has no referral "ref-1"');
  });

  it('refuses a service other than the one referred for', () => {
    spec
      .given([disclosed, referred])
      .when({ ...deliver, data: { ...deliveryData, service: 'medical' } })
      .thenThrows(RuleViolationError, 'is for shelter, not medical');
  });

  it('refuses a service delivered before its referral was made', () => {
    spec
      .given([disclosed, referred])
      .when({ ...deliver, data: { ...deliveryData, deliveredOn: '2020-03-02' } })
      .thenThrows(RuleViolationError, 'before referral "ref-1" was made (2020-03-03)');
  });

  it('refuses a service delivered before the disclosure date', () => {
    spec
      .given([disclosed])
      .when({ ...deliver, data: { caseId, service: 'medical', deliveredOn: '2020-03-01' } })
      .thenThrows(RuleViolationError, 'before case "PP-2020-014" was disclosed (2020-03-02)');
  });

  it('refuses a service delivered after the programme ended', () => {
    spec
      .given([disclosed, referred])
      .when({
        ...deliver,
        data: { ...deliveryData, deliveredOn: '2020-12-01' },
        metadata: at('2020-12-02T09:00:00+07:00'),
      })
      .thenThrows(RuleViolationError, 'outside programme');
  });

  it('refuses a service dated after the day it is recorded', () => {
    spec
      .given([disclosed, referred])
      .when({ ...deliver, data: { ...deliveryData, deliveredOn: '2020-03-06' } })
      .thenThrows(RuleViolationError, 'Record it once it has happened');
  });

  it('compares the delivery with the disclosure date in Phnom Penh', () => {
    // Disclosed at 00:30 on 2 March in Phnom Penh, which is still 1 March in UTC.
    const afterMidnight: CaseEvent = { ...disclosed, metadata: { occurredAt: '2020-03-02T00:30:00+07:00' } };
    const medical = { caseId, service: 'medical' as const, deliveredOn: '2020-03-02' };
    spec
      .given([afterMidnight])
      .when({ ...deliver, data: medical })
      .then([{ type: 'ServiceDelivered', data: medical }]);
    spec
      .given([afterMidnight])
      .when({ ...deliver, data: { ...medical, deliveredOn: '2020-03-01' } })
      .thenThrows(RuleViolationError, 'was disclosed (2020-03-02)');
  });
});

describe('case decider: follow-up', () => {
  it('follows up an open case', () => {
    spec
      .given([disclosed])
      .when(followUp)
      .then([{ type: 'CaseFollowedUp', data: followUpData }]);
  });

  it('refuses a follow-up dated before the disclosure', () => {
    spec
      .given([disclosed])
      .when({ ...followUp, data: { ...followUpData, followedUpOn: '2020-03-01' } })
      .thenThrows(RuleViolationError, 'before case "PP-2020-014" was disclosed');
  });

  it('refuses a follow-up after the programme ended', () => {
    spec
      .given([disclosed])
      .when({
        ...followUp,
        data: { ...followUpData, followedUpOn: '2020-12-01' },
        metadata: at('2020-12-01T10:00:00+07:00'),
      })
      .thenThrows(RuleViolationError, 'outside programme');
  });

  it('refuses a follow-up dated after the day it is recorded', () => {
    spec
      .given([disclosed])
      .when({ ...followUp, data: { ...followUpData, followedUpOn: '2020-03-09' } })
      .thenThrows(RuleViolationError, 'Record it once it has happened');
  });

  it('reports a placement as stable only after a placement', () => {
    const stable = { ...followUpData, followedUpOn: '2020-03-12', placementStable: true };
    const recorded = at('2020-03-12T10:00:00+07:00');
    spec
      .given([disclosed, placed])
      .when({ ...followUp, data: stable, metadata: recorded })
      .then([{ type: 'CaseFollowedUp', data: stable }]);
    spec
      .given([disclosed])
      .when({ ...followUp, data: stable, metadata: recorded })
      .thenThrows(RuleViolationError, 'Record PlaceChildSafely first');
    spec
      .given([disclosed])
      .when({ ...followUp, data: { ...stable, placementStable: false }, metadata: recorded })
      .thenThrows(RuleViolationError, 'Record PlaceChildSafely first');
  });

  it('refuses a placement-stability follow-up dated before the placement', () => {
    spec
      .given([disclosed, placed])
      .when({
        ...followUp,
        data: { ...followUpData, followedUpOn: '2020-03-09', placementStable: true },
        metadata: at('2020-03-12T10:00:00+07:00'),
      })
      .thenThrows(RuleViolationError, 'before the child was placed (2020-03-10)');
  });
});

describe('case decider: safe placement', () => {
  it('places the child of an open case, stamped with the instant it happened', () => {
    spec.given([disclosed, riskAssessed, referred]).when(place).then([placed]);
  });

  it('places the child again after an earlier placement', () => {
    const later: CaseCommand = {
      ...place,
      data: { ...placementData, placementType: 'foster', caregiverRelation: 'foster-carer' },
      metadata: at('2020-04-01T10:00:00+07:00'),
    };
    spec
      .given([disclosed, placed])
      .when(later)
      .then([
        {
          type: 'ChildPlacedSafely',
          data: later.data,
          metadata: { occurredAt: '2020-04-01T10:00:00+07:00' },
        } as CaseEvent,
      ]);
  });

  it('refuses a placement on a case never disclosed', () => {
    spec.given([]).when(place).thenThrows(RuleViolationError, 'Record DiscloseCase first');
  });

  it('refuses a placement on a closed case', () => {
    spec.given([disclosed, closed]).when(place).thenThrows(RuleViolationError, 'is closed');
  });

  it('refuses to place a child other than the case child', () => {
    spec
      .given([disclosed])
      .when({ ...place, data: { ...placementData, childRef: 'ch_00000000000000a2' } })
      .thenThrows(RuleViolationError, 'is about child ch_00000000000000a1');
  });

  it('refuses a placement after the programme ended', () => {
    spec
      .given([disclosed])
      .when({ ...place, metadata: at('2020-12-01T10:00:00+07:00') })
      .thenThrows(RuleViolationError, 'outside programme');
  });
});

describe('case decider: closing and reopening', () => {
  it('closes an open case', () => {
    spec.given([disclosed]).when(close).then([closed]);
  });

  it('closes a case after the programme ended', () => {
    spec
      .given([disclosed])
      .when({ ...close, metadata: at('2021-01-15T10:00:00+07:00') })
      .then([closed]);
  });

  it('refuses to close a case that is already closed', () => {
    spec.given([disclosed, closed]).when(close).thenThrows(RuleViolationError, 'already closed (goals-met)');
  });

  it('reopens a closed case, and closes it again', () => {
    spec.given([disclosed, closed]).when(reopen).then([reopened]);
    spec.given([disclosed, closed, reopened]).when(close).then([closed]);
  });

  it('refuses to reopen an open case', () => {
    spec.given([disclosed]).when(reopen).thenThrows(RuleViolationError, 'only a closed case can be reopened');
  });

  it('reopens for a broken-down placement only when the child was placed', () => {
    const brokeDown: CaseCommand = { ...reopen, data: { caseId, reason: 'placement-broke-down' } };
    spec
      .given([disclosed, placed, closed])
      .when(brokeDown)
      .then([{ type: 'CaseReopened', data: { caseId, reason: 'placement-broke-down' } }]);
    spec
      .given([disclosed, closed])
      .when(brokeDown)
      .thenThrows(RuleViolationError, 'never recorded a safe placement');
  });

  it('refuses to reopen a case after the programme ended', () => {
    spec
      .given([disclosed, closed])
      .when({ ...reopen, metadata: at('2020-12-01T10:00:00+07:00') })
      .thenThrows(RuleViolationError, 'outside programme');
  });
});

describe('case decider: state', () => {
  it('keeps what later rules and projections need', () => {
    const state = foldEvents(decider, [
      disclosed,
      riskAssessed,
      referred,
      { type: 'ServiceDelivered', data: deliveryData },
      placed,
      closed,
    ]);
    expect(state).toEqual({
      status: 'closed',
      caseId,
      childRef,
      disclosedAt,
      disclosedOn: '2020-03-02',
      riskLevel: 'high',
      referrals: {
        'ref-1': {
          service: 'shelter',
          toAgencyRef: shelterRef,
          consentBasis: 'given',
          referredOn: '2020-03-03',
          deliveries: 1,
        },
      },
      latestPlacement: { placementType: 'kinship', caregiverRelation: 'grandparent', placedOn: '2020-03-10' },
      closureReason: 'goals-met',
    });
    expect(foldEvents(decider, [disclosed, closed, reopened])).toMatchObject({
      status: 'open',
      closureReason: undefined,
    });
  });
});
