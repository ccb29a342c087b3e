import { validate as uuidValidate, version as uuidVersion } from 'uuid';
import { describe, expect, it } from 'vitest';
import { defaultEventRegistry } from '../events/defaultRegistry.js';
import { catalogEvent } from './catalogEvent.js';

const metadata = { occurredAt: '2019-04-01T09:00:00+07:00', recordedBy: 'st_5a1c0b7e2d4a61f3' };

describe('catalogEvent', () => {
  it("builds an event that validates, with a fresh uuid v7 and its type's current schema version", () => {
    const closed = catalogEvent('ClubClosed', { clubId: 'c1', reason: 'premises' }, metadata);
    const outreach = catalogEvent(
      'OutreachConducted',
      {
        programmeId: 'pp',
        teamId: 'night-1',
        mode: 'night-outreach',
        area: 'KH-12-02',
        shiftStart: '2019-02-10T19:00:00+07:00',
        shiftEnd: '2019-02-10T23:30:00+07:00',
        contacts: [{ sex: 'female', ageBand: '12-17', count: 3 }],
        newChildRefs: [],
        leafletsDistributed: 10,
      },
      metadata,
    );
    expect(uuidValidate(closed.id) && uuidVersion(closed.id)).toBe(7);
    expect(closed.id).not.toBe(
      catalogEvent('ClubClosed', closed.data as Record<string, unknown>, metadata).id,
    );
    expect(closed.metadata).toEqual({
      ...metadata,
      schemaVersion: defaultEventRegistry.get('ClubClosed')?.schemaVersion,
    });
    expect(outreach.metadata.schemaVersion).toBe(
      defaultEventRegistry.get('OutreachConducted')?.schemaVersion,
    );
    expect(outreach.metadata.schemaVersion).toBeGreaterThan(1);
    expect(defaultEventRegistry.validateBatch([closed, outreach])).toHaveLength(2);
  });

  it('keeps a schema version the metadata gives, for an event written at an older one', () => {
    expect(
      catalogEvent('OutreachConducted', {}, { ...metadata, schemaVersion: 1 }).metadata.schemaVersion,
    ).toBe(1);
  });

  it('refuses a type the registry does not know, naming the ones it does', () => {
    expect(() => catalogEvent('ClubOpened', {}, metadata)).toThrow(
      /no event type "ClubOpened" in the registry; use one of: .*ClubEstablished/,
    );
  });
});
