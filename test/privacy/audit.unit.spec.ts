import { createMemoryEventStore } from '@lantern/adapters/memory';
import {
  type AuditEntry,
  auditStreamOf,
  auditSystemRecorder,
  isValidationError,
  type RecordedEvent,
  recordAudit,
} from '@lantern/core';
import { describe, expect, it } from 'vitest';

const entry: AuditEntry = {
  programmeId: 'psk-phnom-penh',
  principal: { id: 'st_00000000000000a1', role: 'case-manager' },
  action: 'case-read',
  target: 'case-PP-2020-014',
  purpose: 'case-management',
};

const read = async (store: ReturnType<typeof createMemoryEventStore>): Promise<RecordedEvent[]> => {
  const events: RecordedEvent[] = [];
  for await (const event of store.readStream(auditStreamOf('psk-phnom-penh'))) events.push(event);
  return events;
};

describe('recordAudit', () => {
  it('appends an AuditRecorded event to audit-{programmeId}, recorded by the staff member', async () => {
    const store = createMemoryEventStore();
    await recordAudit(
      store,
      { ...entry, reference: 'REQ-2020-17' },
      { now: () => new Date('2020-05-01T03:00:00Z') },
    );
    const [event] = await read(store);
    expect(event).toMatchObject({
      type: 'AuditRecorded',
      streamId: 'audit-psk-phnom-penh',
      data: { ...entry, reference: 'REQ-2020-17' },
      metadata: { recordedBy: 'st_00000000000000a1', occurredAt: '2020-05-01T03:00:00.000Z' },
    });
  });

  it('records donors and services under the system recorder, keeping who acted in the entry', async () => {
    const store = createMemoryEventStore();
    await recordAudit(store, {
      ...entry,
      principal: { id: 'dn_00000000000000d1', role: 'donor' },
      action: 'export',
      target: 'indicator/new-cases',
      purpose: 'donor-reporting',
    });
    await recordAudit(
      store,
      {
        ...entry,
        principal: { id: 'svc-sync-server', role: 'service' },
        action: 'subscription',
        target: '$all',
        purpose: 'service-delivery',
      },
      { systemRecorder: 'st_00000000000000ff' },
    );
    const [donor, service] = await read(store);
    expect(donor?.metadata.recordedBy).toBe(auditSystemRecorder);
    expect(donor?.data).toMatchObject({ principal: { id: 'dn_00000000000000d1', role: 'donor' } });
    expect(service?.metadata.recordedBy).toBe('st_00000000000000ff');
  });

  it.each([
    [
      'a name as the principal',
      { principal: { id: 'Sokha Chan', role: 'field-worker' } },
      'data.principal.id',
    ],
    [
      'a donor named as staff',
      { principal: { id: 'st_00000000000000a1', role: 'donor' } },
      'data.principal.id',
    ],
    [
      'a service without its svc- prefix',
      { principal: { id: 'sync-server', role: 'service' } },
      'data.principal.id',
    ],
    ['a sentence as the target', { target: 'read the file of the girl from the market' }, 'data.target'],
    ['a reference without a digit', { reference: 'sokha' }, 'data.reference'],
    ['a purpose not on the list', { purpose: 'curiosity' }, 'data.purpose'],
    ['a free-text note', { note: 'she was upset' }, 'data'],
    ['access-denied without what was refused', { action: 'access-denied' }, 'data.refused'],
    ['what was refused on an entry that is not a refusal', { refused: 'case-read' }, 'data.refused'],
  ])('refuses %s and writes nothing', async (_, change, path) => {
    const store = createMemoryEventStore();
    const error = await recordAudit(store, { ...entry, ...change } as AuditEntry).catch((e: unknown) => e);
    expect(isValidationError(error)).toBe(true);
    expect((error as { path: string }).path).toBe(path);
    await expect(read(store)).rejects.toThrow(/has no events/);
  });
});
