import { describe, expect, it } from 'vitest';
import { clientFilter, planFilter } from './serverFilter.js';

describe('planFilter', () => {
  it('sends the stream prefixes (with the store prefix) to the server and checks the event types itself', () => {
    const plan = planFilter({ streamPrefixes: ['case-'], eventTypes: ['CaseClosed'] }, 'pp.');
    expect(plan.server).toEqual({ on: 'streamName', prefixes: ['pp.case-'] });
    expect(plan.accepts('pp.case-42', 'CaseClosed')).toBe(true);
    expect(plan.accepts('pp.case-42', 'CaseClosedAgain')).toBe(false);
    expect(plan.accepts('pp.club-1', 'CaseClosed')).toBe(false);
    expect(plan.accepts('other.case-42', 'CaseClosed')).toBe(false);
  });

  it('sends the event types when there are no stream prefixes, and keeps to the store prefix itself', () => {
    const plan = planFilter({ eventTypes: ['ClubEstablished'] }, 'pp.');
    expect(plan.server).toEqual({ on: 'eventType', prefixes: ['ClubEstablished'] });
    expect(plan.accepts('pp.club-1', 'ClubEstablished')).toBe(true);
    expect(plan.accepts('club-1', 'ClubEstablished')).toBe(false);
  });

  it('without a filter sends the store prefix, or else keeps out system events on the server', () => {
    expect(planFilter(undefined, 'pp.').server).toEqual({ on: 'streamName', prefixes: ['pp.'] });
    const unprefixed = planFilter({}, '');
    expect(unprefixed.server).toEqual({ on: 'eventType', regex: '^[^$]' });
    expect(unprefixed.accepts('$settings', '$settings')).toBe(false);
    expect(unprefixed.accepts('$ce-case', '$>')).toBe(false);
    expect(unprefixed.accepts('case-1', 'CaseDisclosed')).toBe(true);
  });

  it('matches nothing for an empty list', () => {
    expect(planFilter({ eventTypes: [] }, '').matchesNothing).toBe(true);
    expect(planFilter({ streamPrefixes: [], eventTypes: ['CaseClosed'] }, '').matchesNothing).toBe(true);
    expect(planFilter({ eventTypes: [] }, '').accepts('case-1', 'CaseClosed')).toBe(false);
  });

  it('gives the client one filter, on stream name or on event type', () => {
    expect(clientFilter({ on: 'streamName', prefixes: ['pp.'] })).toMatchObject({
      filterOn: 'streamName',
      prefixes: ['pp.'],
      checkpointInterval: 1,
    });
    expect(clientFilter({ on: 'eventType', regex: '^[^$]' })).toMatchObject({
      filterOn: 'eventType',
      regex: '^[^$]',
    });
  });
});
