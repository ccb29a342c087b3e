import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors/errors.js';
import { eventCatalog } from './catalog.js';
import { defaultEventRegistry } from './defaultRegistry.js';

/** The catalog named by DESIGN.md, every type of it. */
const designCatalog = [
  'ClubEstablished',
  'OutreachConducted',
  'CaseDisclosed',
  'ChildPlacedSafely',
  'AidDistributed',
  'ProgrammeLaunched',
  'ObjectiveDefined',
  'IndicatorDefined',
  'TargetSet',
  'TargetRevised',
  'BudgetApproved',
  'FundsReceived',
  'ExpenditureRecorded',
  'StaffTrained',
  'ChildRegistered',
  'ConsentChanged',
  'ClubSessionHeld',
  'ClubSuspended',
  'ClubResumed',
  'ClubClosed',
  'HomeVisitConducted',
  'AwarenessSessionHeld',
  'LiteratureDistributed',
  'RiskAssessed',
  'CaseReferred',
  'ServiceDelivered',
  'CaseFollowedUp',
  'WellbeingAssessed',
  'CaseClosed',
  'CaseReopened',
  'ChildDataErased',
];

const disclosure = {
  programmeId: 'psk-phnom-penh',
  caseId: 'PP-2020-014',
  childRef: 'ch_3f9a1c0b7e2d4a61',
  sex: 'female',
  ageBand: '5-11',
  area: 'KH-12-09',
  concerns: ['sexual-abuse'],
  disclosedVia: 'home-visit',
};

describe('event catalog', () => {
  it('exports every event type DESIGN.md lists, and nothing twice', () => {
    expect(Object.keys(eventCatalog).sort()).toEqual([...designCatalog].sort());
    expect(defaultEventRegistry.types).toHaveLength(designCatalog.length);
  });

  it.each(Object.values(eventCatalog).map((d) => [d.type, d] as const))(
    '%s has a PascalCase name, a schema version and a schema that rejects {}',
    (type, definition) => {
      expect(type).toMatch(/^[A-Z][a-z]+[A-Za-z]*$/);
      expect(definition.schemaVersion).toBeGreaterThanOrEqual(1);
      expect(() => definition.parse({})).toThrow(ValidationError);
    },
  );

  it('names the event, the field path and the rule when data is wrong', () => {
    try {
      eventCatalog.CaseDisclosed.parse({ ...disclosure, ageBand: '9' });
      expect.unreachable('an invalid age band must be refused');
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      const e = error as ValidationError;
      expect(e.eventType).toBe('CaseDisclosed');
      expect(e.path).toBe('data.ageBand');
      expect(e.rule).toMatch(/0-4|option|expected/i);
      expect(e.message).toContain('CaseDisclosed');
    }
  });

  it('refuses a name where a child pseudonym belongs', () => {
    for (const childRef of ['Lisa', 'Srey Noy', '2011-04-02', 'ch_lisa', 'ch_20110402']) {
      expect(() => eventCatalog.CaseDisclosed.parse({ ...disclosure, childRef })).toThrow(/childRef/);
    }
  });

  it('refuses a field the schema does not know (no free text slips in)', () => {
    expect(() => eventCatalog.CaseDisclosed.parse({ ...disclosure, notes: 'her name is Lisa' })).toThrow(
      ValidationError,
    );
  });

  it('keeps money in positive integer minor units', () => {
    const funds = {
      programmeId: 'psk-phnom-penh',
      receivedOn: '2019-01-15',
      donorRef: 'dn_00000000000000d1',
      kind: 'funds',
    };
    expect(() =>
      eventCatalog.FundsReceived.parse({ ...funds, amount: { amount: 1_000_000, currency: 'USD' } }),
    ).not.toThrow();
    for (const amount of [0, -5, 10.5]) {
      expect(() =>
        eventCatalog.FundsReceived.parse({ ...funds, amount: { amount, currency: 'USD' } }),
      ).toThrow(/data\.amount\.amount/);
    }
  });

  it('upcasts OutreachConducted v1 (one head count) to v2 (contacts by sex and age band)', () => {
    const v1 = {
      programmeId: 'psk-phnom-penh',
      teamId: 'night-team-1',
      mode: 'night-outreach',
      area: 'KH-12-01',
      shiftStart: '2019-06-01T19:00:00+07:00',
      shiftEnd: '2019-06-01T23:30:00+07:00',
      childrenReached: 23,
      leafletsDistributed: 40,
    };
    expect(eventCatalog.OutreachConducted.schemaVersion).toBe(2);
    expect(eventCatalog.OutreachConducted.upcast(v1, 1)).toEqual({
      programmeId: 'psk-phnom-penh',
      teamId: 'night-team-1',
      mode: 'night-outreach',
      area: 'KH-12-01',
      shiftStart: '2019-06-01T19:00:00+07:00',
      shiftEnd: '2019-06-01T23:30:00+07:00',
      contacts: [{ sex: 'unknown', ageBand: 'unknown', count: 23 }],
      newChildRefs: [],
      leafletsDistributed: 40,
    });
    expect(() => eventCatalog.OutreachConducted.upcast({ ...v1, childrenReached: -1 }, 1)).toThrow(
      /childrenReached/,
    );
    expect(() => eventCatalog.OutreachConducted.upcast(v1, 3)).toThrow(/upgrade Lantern/);
  });

  it('parsing is idempotent: parse(parse(x)) equals parse(x) for any valid counts', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.record({
            sex: fc.constantFrom('female', 'male', 'other', 'unknown'),
            ageBand: fc.constantFrom('0-4', '5-11', '12-17', '18+', 'unknown'),
            count: fc.nat(500),
          }),
          { selector: (c) => `${c.sex}|${c.ageBand}` },
        ),
        (contacts) => {
          const data = {
            programmeId: 'psk-phnom-penh',
            teamId: 'night-team-1',
            mode: 'street',
            area: 'KH-12',
            shiftStart: '2019-06-01T19:00:00+07:00',
            shiftEnd: '2019-06-01T21:00:00+07:00',
            contacts,
            newChildRefs: [],
            leafletsDistributed: 0,
          };
          const once = eventCatalog.OutreachConducted.parse(data);
          expect(eventCatalog.OutreachConducted.parse(once)).toEqual(once);
          expect(JSON.parse(JSON.stringify(once))).toEqual(once);
        },
      ),
    );
  });
});
