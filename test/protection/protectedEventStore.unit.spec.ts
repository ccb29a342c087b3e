import { createMemoryEventStore, createMemoryKeyStore } from '@lantern/adapters/memory';
import {
  auditStreamOf,
  createProtectedEventStore,
  type DataKeyLookup,
  type EventStore,
  eraseChild,
  isKeyStoreError,
  isRuleViolationError,
  isValidationError,
  type KeyStore,
  mintPseudonym,
  type NewEvent,
  type RecordedEvent,
  type RedactionNotice,
  redactProtectedFields,
  type SealedField,
} from '@lantern/core';
import { firstValueFrom, take, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { caseManager, collect, disclosure, placement, programmeId, registration } from './fixtures.js';

const narrative = 'She said her aunt took her to a karaoke bar in Poipet.';

const setUp = (keyStore: KeyStore = createMemoryKeyStore()) => {
  const inner = createMemoryEventStore();
  const notices: RedactionNotice[] = [];
  const store = createProtectedEventStore(inner, { keyStore, onRedacted: (notice) => notices.push(notice) });
  return { inner, store, keyStore, notices };
};

const dataOf = (event: RecordedEvent | undefined): Record<string, unknown> =>
  (event?.data ?? {}) as Record<string, unknown>;

/** Copies a store's events, as stored, into another store, changing them on the way. */
const copyInto = async (
  from: EventStore,
  to: EventStore,
  change: (event: NewEvent) => NewEvent = (event) => event,
): Promise<void> => {
  for (const event of await collect(from.readAll())) {
    const { id, type, data, metadata, streamId } = event;
    await to.append(streamId, [change({ id, type, data, metadata })]);
  }
};

/** The store's own pages: the protecting store offers them over a memory store. */
const pagesOfStore = (store: EventStore): AsyncIterable<readonly RecordedEvent[]> => {
  if (!store.readAllPages) throw new Error('The protecting store over a memory store has no readAllPages.');
  return store.readAllPages();
};

const flip = (value: string): string => {
  const bytes = Buffer.from(value, 'base64url');
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0x80;
  return bytes.toString('base64url');
};

/** A key store that fails as an unreachable service would, once told to. */
const flakyKeyStore = (): KeyStore & { down: boolean } => {
  const keys = createMemoryKeyStore();
  const flaky = {
    kind: 'flaky',
    down: false,
    getOrCreate: (childRef: string) =>
      flaky.down
        ? Promise.reject(new Error('connect ECONNREFUSED keys.invalid'))
        : keys.getOrCreate(childRef),
    get: (childRef: string): Promise<DataKeyLookup> =>
      flaky.down ? Promise.reject(new Error('connect ECONNREFUSED keys.invalid')) : keys.get(childRef),
    delete: (childRef: string, erasedAt?: string) =>
      flaky.down
        ? Promise.reject(new Error('connect ECONNREFUSED keys.invalid'))
        : keys.delete(childRef, erasedAt),
    close: () => keys.close(),
  };
  return flaky;
};

describe('the protecting event store', () => {
  it('seals protected fields before they reach the store, and opens them on every read', async () => {
    const { inner, store } = setUp();
    const child = mintPseudonym('child');
    await store.append('case-PP-2020-014', [
      disclosure('PP-2020-014', child, narrative),
      placement('PP-2020-014', child, {
        caregiverContact: '+855 12 345 678',
        placementAddress: 'Street 271, house 14',
      }),
    ]);

    const raw = await collect(inner.readAll());
    const stored = JSON.stringify(raw.map((e) => e.data));
    for (const text of [narrative, '+855 12 345 678', 'Street 271']) expect(stored).not.toContain(text);
    expect(dataOf(raw[0]).narrative).toMatchObject({ alg: 'A256GCM' });

    const [disclosed, placed] = await collect(store.readStream('case-PP-2020-014'));
    expect(dataOf(disclosed).narrative).toBe(narrative);
    expect(dataOf(placed)).toMatchObject({
      caregiverContact: '+855 12 345 678',
      placementAddress: 'Street 271, house 14',
    });
    expect(dataOf((await collect(store.readAll()))[0]).narrative).toBe(narrative);
    // Read in pages (as the projection engine reads), the same events come out opened.
    const pages = await collect(pagesOfStore(store));
    expect(pages.flat().map((e) => dataOf(e))).toEqual(
      (await collect(store.readAll())).map((e) => dataOf(e)),
    );
    expect(dataOf(pages.flat()[1]).caregiverContact).toBe('+855 12 345 678');
    const live = await firstValueFrom(store.subscribe().pipe(take(2), toArray()));
    expect(dataOf(live[1]).caregiverContact).toBe('+855 12 345 678');
    // Events without protected fields pass through untouched.
    await store.append(`child-${child}`, [registration(child)]);
    expect(dataOf((await collect(store.readStream(`child-${child}`)))[0]).childRef).toBe(child);
  });

  it('is refused by a plain store when the text was not sealed, with a message that says where to append', async () => {
    const plain = createMemoryEventStore();
    const failure = await plain
      .append('case-PP-2020-014', [disclosure('PP-2020-014', mintPseudonym('child'), narrative)])
      .catch((error: unknown) => error);
    expect(isValidationError(failure)).toBe(true);
    expect((failure as Error).message).toMatch(/data\.narrative.*createProtectedEventStore/);
    expect((failure as Error).message).not.toContain('Poipet');
  });

  it('checks the plaintext before sealing: too long is refused, nothing appended and no key made', async () => {
    const { inner, store, keyStore } = setUp();
    const child = mintPseudonym('child');
    const tooLong = {
      ...disclosure('PP-2020-015', child),
      data: { ...(disclosure('PP-2020-015', child).data as object), narrative: 'x'.repeat(4001) },
    };
    const failure = await store.append('case-PP-2020-015', [tooLong]).catch((error: unknown) => error);
    expect(isValidationError(failure)).toBe(true);
    expect((failure as Error).message).toMatch(/data\.narrative.*at most 4000/);
    await expect(collect(inner.readAll())).resolves.toEqual([]);
    expect(await keyStore.get(child)).toEqual({ status: 'missing' });
    const redactedEvent = { ...tooLong, data: { ...tooLong.data, narrative: { redacted: 'erased' } } };
    await expect(store.append('case-PP-2020-015', [redactedEvent])).rejects.toThrow(/redaction marker/);
  });

  it('appends nothing of a batch when the key store fails, and says so', async () => {
    const keyStore = flakyKeyStore();
    const { inner, store } = setUp(keyStore);
    keyStore.down = true;
    const child = mintPseudonym('child');
    const failure = await store
      .append('case-PP-2020-016', [disclosure('PP-2020-016', child, narrative)])
      .catch((error: unknown) => error);
    expect(isKeyStoreError(failure)).toBe(true);
    expect((failure as Error).message).toMatch(
      /key store failed.*ECONNREFUSED.*Nothing of this batch was appended/,
    );
    await expect(collect(inner.readAll())).resolves.toEqual([]);
    // Events with no protected text need no key.
    await store.append('case-PP-2020-016', [disclosure('PP-2020-016', child)]);
    expect(await collect(inner.readAll())).toHaveLength(1);
  });

  it('cannot be made without a key store', () => {
    const inner = createMemoryEventStore();
    expect(() => createProtectedEventStore(inner, {} as never)).toThrow(/needs a keyStore/);
    expect(() => createProtectedEventStore(inner, undefined as never)).toThrow(/needs a keyStore/);
  });

  it('reads a value sealed under another key as tampered, never as ciphertext or an exception', async () => {
    const { inner } = setUp();
    const first = setUp();
    const child = mintPseudonym('child');
    await first.store.append('case-PP-2020-017', [disclosure('PP-2020-017', child, narrative)]);
    await copyInto(first.inner, inner);
    // Another key store, with another key for the same child.
    const other = createProtectedEventStore(inner, { keyStore: createMemoryKeyStore() });
    const otherKeys = createMemoryKeyStore();
    await otherKeys.getOrCreate(child);
    const wrongKey = createProtectedEventStore(inner, { keyStore: otherKeys });
    expect(dataOf((await collect(wrongKey.readAll()))[0]).narrative).toEqual({ redacted: 'tampered' });
    // A key store that has no key for the child at all.
    expect(dataOf((await collect(other.readAll()))[0]).narrative).toEqual({ redacted: 'no-key' });
  });

  it.each([
    ['ciphertext', (s: SealedField) => ({ ...s, ct: flip(s.ct) })],
    ['tag', (s: SealedField) => ({ ...s, tag: flip(s.tag) })],
    ['iv', (s: SealedField) => ({ ...s, iv: flip(s.iv) })],
  ])('reads an altered %s as tampered, and the rest of the event as it was', async (_part, alter) => {
    const source = setUp();
    const child = mintPseudonym('child');
    await source.store.append('case-PP-2020-018', [disclosure('PP-2020-018', child, narrative)]);
    const target = setUp(source.keyStore);
    await copyInto(source.inner, target.inner, (event) => ({
      ...event,
      data: {
        ...(event.data as object),
        narrative: alter((event.data as { narrative: SealedField }).narrative),
      },
    }));
    const [read] = await collect(target.store.readAll());
    expect(dataOf(read)).toMatchObject({
      narrative: { redacted: 'tampered' },
      childRef: child,
      caseId: 'PP-2020-018',
    });
    expect(target.notices).toEqual([expect.objectContaining({ field: 'narrative', reason: 'tampered' })]);
  });

  it('reads a sealed value moved to another event or another field as tampered', async () => {
    const source = setUp();
    const child = mintPseudonym('child');
    await source.store.append('case-PP-2020-019', [
      disclosure('PP-2020-019', child, narrative),
      placement('PP-2020-019', child, { caregiverContact: '+855 12 345 678' }),
    ]);
    const [disclosed, placed] = await collect(source.inner.readAll());
    const sealedNarrative = dataOf(disclosed).narrative;
    const sealedContact = dataOf(placed).caregiverContact;
    const target = setUp(source.keyStore);
    const moved = disclosure('PP-2020-020', child);
    await target.inner.append('case-PP-2020-020', [
      { ...moved, data: { ...(moved.data as object), narrative: sealedNarrative } },
    ]);
    const swapped = placement('PP-2020-020', child);
    await target.inner.append('case-PP-2020-020', [
      {
        ...swapped,
        id: placed?.id as string,
        data: { ...(swapped.data as object), placementAddress: sealedContact },
      },
    ]);
    const [movedRead, swappedRead] = await collect(target.store.readAll());
    expect(dataOf(movedRead).narrative).toEqual({ redacted: 'tampered' });
    expect(dataOf(swappedRead).placementAddress).toEqual({ redacted: 'tampered' });
  });

  it('reads no-key when the key store cannot be reached, and keeps a subscription delivering', async () => {
    const keyStore = flakyKeyStore();
    const { store, notices } = setUp(keyStore);
    const child = mintPseudonym('child');
    await store.append('case-PP-2020-021', [disclosure('PP-2020-021', child, narrative)]);
    keyStore.down = true;
    const delivered = firstValueFrom(store.subscribe().pipe(take(3), toArray()));
    await store.append('case-PP-2020-022', [disclosure('PP-2020-022', child)]);
    await store.append(`child-${child}`, [registration(child)]);
    const seen = await delivered;
    expect(seen.map((e) => e.type)).toEqual(['CaseDisclosed', 'CaseDisclosed', 'ChildRegistered']);
    expect(dataOf(seen[0]).narrative).toEqual({ redacted: 'no-key' });
    expect(notices[0]).toMatchObject({ reason: 'no-key', field: 'narrative' });
    expect(String(notices[0]?.error)).toMatch(/ECONNREFUSED/);
    const pages = await collect(pagesOfStore(store));
    expect(pages.flat().map((e) => dataOf(e).narrative)).toEqual([
      { redacted: 'no-key' },
      undefined,
      undefined,
    ]);
    keyStore.down = false;
    expect(dataOf((await collect(store.readAll()))[0]).narrative).toBe(narrative);
  });

  it('keeps a live subscription going past tampered events', async () => {
    const source = setUp();
    const child = mintPseudonym('child');
    await source.store.append('case-PP-2020-023', [disclosure('PP-2020-023', child, narrative)]);
    const target = setUp(source.keyStore);
    // Subscribed before anything is stored: both events arrive live.
    const delivered = firstValueFrom(target.store.subscribe().pipe(take(2), toArray()));
    await copyInto(source.inner, target.inner, (event) => ({
      ...event,
      data: {
        ...(event.data as object),
        narrative: { ...(event.data as { narrative: SealedField }).narrative, ct: 'AAAA' },
      },
    }));
    await target.store.append('case-PP-2020-024', [disclosure('PP-2020-024', child, 'A second account.')]);
    const seen = await delivered;
    expect(seen.map((e) => dataOf(e).narrative)).toEqual([{ redacted: 'tampered' }, 'A second account.']);
  });

  it('treats a resend as a resend, though each sealing differs', async () => {
    const { store } = setUp();
    const event = disclosure('PP-2020-025', mintPseudonym('child'), narrative);
    expect((await store.append('case-PP-2020-025', [event])).written).toBe(true);
    expect((await store.append('case-PP-2020-025', [event])).written).toBe(false);
  });

  it('redacts protected fields as not-permitted for readers who may not see them', async () => {
    const { store } = setUp();
    await store.append('case-PP-2020-026', [disclosure('PP-2020-026', mintPseudonym('child'), narrative)]);
    const [event] = await collect(store.readAll());
    const stripped = redactProtectedFields(event as RecordedEvent, 'not-permitted');
    expect(dataOf(stripped).narrative).toEqual({ redacted: 'not-permitted' });
    expect(dataOf(event).narrative).toBe(narrative);
  });
});

describe('erasing a child', () => {
  it('shreds the key, appends ChildDataErased, audits, and the data reads back erased', async () => {
    const { inner, store, keyStore } = setUp();
    const child = mintPseudonym('child');
    const other = mintPseudonym('child');
    await store.append(`child-${child}`, [registration(child)]);
    await store.append('case-PP-2020-030', [disclosure('PP-2020-030', child, narrative)]);
    await store.append('case-PP-2020-031', [disclosure('PP-2020-031', other, 'Another child’s words.')]);

    const erasure = await eraseChild(child, {
      eventStore: store,
      keyStore,
      programmeId,
      requestedBy: caseManager,
      reference: 'REQ-2020-17',
      now: () => new Date('2020-07-01T02:00:00Z'),
    });
    expect(erasure).toEqual({ childRef: child, erasedAt: '2020-07-01T02:00:00.000Z', alreadyErased: false });
    expect(await keyStore.get(child)).toEqual({ status: 'erased', erasedAt: '2020-07-01T02:00:00.000Z' });
    const childStream = await collect(inner.readStream(`child-${child}`));
    expect(childStream.map((e) => e.type)).toEqual(['ChildRegistered', 'ChildDataErased']);
    expect(dataOf(childStream[1])).toEqual({
      childRef: child,
      requestedBy: caseManager.id,
      erasedAt: '2020-07-01T02:00:00.000Z',
    });
    const audit = await collect(inner.readStream(auditStreamOf(programmeId)));
    expect(dataOf(audit[0])).toMatchObject({
      action: 'erasure',
      target: child,
      purpose: 'erasure-request',
      reference: 'REQ-2020-17',
    });

    const cases = await collect(store.readAll({ filter: { eventTypes: ['CaseDisclosed'] } }));
    expect(cases.map((e) => dataOf(e).narrative)).toEqual([{ redacted: 'erased' }, 'Another child’s words.']);
    // No new protected data for an erased child; facts without it are still recorded.
    const refused = await store
      .append('case-PP-2020-032', [disclosure('PP-2020-032', child, 'More words.')])
      .catch((error: unknown) => error);
    expect(isRuleViolationError(refused)).toBe(true);
    await store.append('case-PP-2020-032', [disclosure('PP-2020-032', child)]);

    const again = await eraseChild(child, {
      eventStore: store,
      keyStore,
      programmeId,
      requestedBy: caseManager,
    });
    expect(again).toEqual({ childRef: child, erasedAt: '2020-07-01T02:00:00.000Z', alreadyErased: true });
    expect((await collect(inner.readStream(`child-${child}`))).map((e) => e.type)).toEqual([
      'ChildRegistered',
      'ChildDataErased',
    ]);
    expect(await collect(inner.readStream(auditStreamOf(programmeId)))).toHaveLength(2);
  });

  it('changes nothing when the request is malformed or the key cannot be shredded', async () => {
    const keyStore = flakyKeyStore();
    const { inner, store } = setUp(keyStore);
    const child = mintPseudonym('child');
    await store.append('case-PP-2020-033', [disclosure('PP-2020-033', child, narrative)]);
    const options = { eventStore: store, keyStore, programmeId, requestedBy: caseManager };
    await expect(eraseChild('Srey Noy', options)).rejects.toThrow(/child pseudonym/);
    await expect(
      eraseChild(child, { ...options, requestedBy: { id: 'dn_00000000000000d1', role: 'donor' } }),
    ).rejects.toThrow(/requestedBy/);
    await expect(eraseChild(child, { ...options, purpose: 'curiosity' as never })).rejects.toThrow(/purpose/);
    keyStore.down = true;
    await expect(eraseChild(child, options)).rejects.toThrow(/ECONNREFUSED/);
    expect((await collect(inner.readAll())).map((e) => e.type)).toEqual(['CaseDisclosed']);
    keyStore.down = false;
    expect((await keyStore.get(child)).status).toBe('active');
    await eraseChild(child, options);
    expect((await collect(inner.readAll())).map((e) => e.type)).toEqual([
      'CaseDisclosed',
      'ChildDataErased',
      'AuditRecorded',
    ]);
  });
});
