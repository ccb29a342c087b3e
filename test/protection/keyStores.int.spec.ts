import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryKeyStore } from '@lantern/adapters/memory';
import { createSqliteEventStore, createSqliteKeyStore } from '@lantern/adapters/sqlite';
import {
  createEnvelopeKeyStore,
  isKeyStoreError,
  isRuleViolationError,
  type KeyStore,
  mintPseudonym,
} from '@lantern/core';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createKmsDouble } from './kmsDouble.js';

const dir = mkdtempSync(join(tmpdir(), 'lantern-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshFile = (): string => join(dir, `keys-${++files}.db`);

/** Every byte SQLite keeps for a database: the file, its WAL and its shared-memory index. */
const bytesOnDisk = (file: string): Buffer =>
  Buffer.concat(
    ['', '-wal', '-shm'].map((suffix) => {
      try {
        return readFileSync(file + suffix);
      } catch {
        return Buffer.alloc(0);
      }
    }),
  );

const factories: [string, () => KeyStore][] = [
  ['memory', () => createMemoryKeyStore()],
  ['sqlite', () => createSqliteKeyStore({ path: freshFile() })],
  [
    'envelope over memory',
    () => createEnvelopeKeyStore({ kms: createKmsDouble(), store: createMemoryKeyStore() }),
  ],
  [
    'envelope over sqlite',
    () =>
      createEnvelopeKeyStore({ kms: createKmsDouble(), store: createSqliteKeyStore({ path: freshFile() }) }),
  ],
];

describe.each(factories)('the %s key store', (_name, open) => {
  it('makes a 32-byte key on first use and gives the same key after', async () => {
    const keys = open();
    const child = mintPseudonym('child');
    expect(await keys.get(child)).toEqual({ status: 'missing' });
    const key = await keys.getOrCreate(child);
    expect(key).toHaveLength(32);
    expect(Buffer.from(await keys.getOrCreate(child)).equals(Buffer.from(key))).toBe(true);
    const lookup = await keys.get(child);
    expect(lookup.status === 'active' && Buffer.from(lookup.key).equals(Buffer.from(key))).toBe(true);
    const other = await keys.getOrCreate(mintPseudonym('child'));
    expect(Buffer.from(other).equals(Buffer.from(key))).toBe(false);
    await keys.close();
  });

  it('hands out copies: zeroing one does not touch the stored key', async () => {
    const keys = open();
    const child = mintPseudonym('child');
    const key = await keys.getOrCreate(child);
    const kept = Buffer.from(key);
    key.fill(0);
    expect(Buffer.from(await keys.getOrCreate(child)).equals(kept)).toBe(true);
    await keys.close();
  });

  it('gives one key to callers racing for a new child', async () => {
    const keys = open();
    const child = mintPseudonym('child');
    const raced = await Promise.all(Array.from({ length: 5 }, () => keys.getOrCreate(child)));
    for (const key of raced) expect(Buffer.from(key).equals(Buffer.from(raced[0] as Uint8Array))).toBe(true);
    await keys.close();
  });

  it('shreds a key: it reads as erased, is never made again, and erasing twice keeps the first time', async () => {
    const keys = open();
    const child = mintPseudonym('child');
    await keys.getOrCreate(child);
    await keys.delete(child, '2020-07-01T09:00:00.000Z');
    expect(await keys.get(child)).toEqual({ status: 'erased', erasedAt: '2020-07-01T09:00:00.000Z' });
    const refused = await keys.getOrCreate(child).catch((error: unknown) => error);
    expect(isRuleViolationError(refused)).toBe(true);
    expect((refused as Error).message).toMatch(/erased.*new pseudonym/);
    await keys.delete(child, '2020-08-01T09:00:00.000Z');
    expect(await keys.get(child)).toEqual({ status: 'erased', erasedAt: '2020-07-01T09:00:00.000Z' });
    // A child who never had a key can be erased too: nothing is ever sealed for them after.
    const never = mintPseudonym('child');
    await keys.delete(never);
    expect((await keys.get(never)).status).toBe('erased');
    await keys.close();
  });

  it('refuses anything but a child pseudonym, and says when it is closed', async () => {
    const keys = open();
    await expect(keys.getOrCreate('Srey Noy')).rejects.toThrow(/child pseudonym/);
    await expect(keys.get('ch_lisa')).rejects.toThrow(/child pseudonym/);
    await keys.close();
    await expect(keys.get(mintPseudonym('child'))).rejects.toSatisfy(isKeyStoreError);
  });
});

describe('the SQLite key store, particular to SQLite', () => {
  it('keeps keys across reopening, in the event store’s own file, whichever opens it first', async () => {
    const keysFirst = freshFile();
    const keys = createSqliteKeyStore({ path: keysFirst });
    const child = mintPseudonym('child');
    const key = Buffer.from(await keys.getOrCreate(child));
    await keys.close();
    const events = createSqliteEventStore({ path: keysFirst });
    await events.close();
    const reopened = createSqliteKeyStore({ path: keysFirst });
    const lookup = await reopened.get(child);
    expect(lookup.status === 'active' && Buffer.from(lookup.key).equals(key)).toBe(true);
    await reopened.close();

    const eventsFirst = freshFile();
    await createSqliteEventStore({ path: eventsFirst }).close();
    const beside = createSqliteKeyStore({ path: eventsFirst });
    expect((await beside.getOrCreate(child)).length).toBe(32);
    await beside.close();
  });

  it('refuses a file that is not Lantern’s, leaving it as it is', () => {
    const foreign = freshFile();
    const db = new Database(foreign);
    db.exec('CREATE TABLE notes (text TEXT)');
    db.close();
    expect(() => createSqliteKeyStore({ path: foreign })).toThrow(/not a Lantern event store/);
  });

  it('leaves no copy of a deleted key in the file or its WAL', async () => {
    const file = freshFile();
    const keys = createSqliteKeyStore({ path: file });
    const children = Array.from({ length: 20 }, () => mintPseudonym('child'));
    const stored = new Map<string, Buffer>();
    for (const child of children) stored.set(child, Buffer.from(await keys.getOrCreate(child)));
    const [erased, ...kept] = children as [string, ...string[]];
    const erasedKey = stored.get(erased) as Buffer;
    expect(bytesOnDisk(file).includes(erasedKey)).toBe(true);
    await keys.delete(erased);
    const disk = bytesOnDisk(file);
    expect(disk.includes(erasedKey)).toBe(false);
    for (const child of kept) expect(disk.includes(stored.get(child) as Buffer)).toBe(true);
    await keys.close();
  });

  it('leaves no copy of erased keys after the key table has split over many pages', async () => {
    const file = freshFile();
    const keys = createSqliteKeyStore({ path: file });
    const made: [string, Buffer][] = [];
    const erased: Buffer[] = [];
    for (let i = 0; i < 1200; i++) {
      const child = mintPseudonym('child');
      made.push([child, Buffer.from(await keys.getOrCreate(child))]);
      // Erase now and then while the table grows, so pages split around deleted rows.
      if (i % 150 === 149) {
        const [victim, key] = made[Math.floor(made.length / 2)] as [string, Buffer];
        if ((await keys.get(victim)).status === 'active') {
          await keys.delete(victim);
          erased.push(key);
        }
      }
    }
    const disk = bytesOnDisk(file);
    expect(erased.length).toBeGreaterThan(4);
    expect(erased.filter((key) => disk.includes(key))).toEqual([]);
    expect(disk.includes((made.at(-1) as [string, Buffer])[1])).toBe(true);
    await keys.close();
  });

  it('says so when a reader keeps the WAL from being checkpointed, and finishes when called again', async () => {
    const file = freshFile();
    const keys = createSqliteKeyStore({ path: file, busyTimeoutMs: 100 });
    const child = mintPseudonym('child');
    const key = Buffer.from(await keys.getOrCreate(child));
    // Another program holds a read transaction on an older snapshot.
    const reader = new Database(file, { readonly: true });
    reader.exec('BEGIN');
    reader.prepare('SELECT count(*) FROM lantern_data_keys').get();
    const failure = await keys.delete(child).catch((error: unknown) => error);
    expect(isKeyStoreError(failure)).toBe(true);
    expect((failure as Error).message).toMatch(/reads as erased.*-wal.*call delete \(or eraseChild\) again/);
    expect((await keys.get(child)).status).toBe('erased');
    reader.exec('COMMIT');
    reader.close();
    await keys.delete(child);
    expect(bytesOnDisk(file).includes(key)).toBe(false);
    await keys.close();
  });
});

describe('the envelope key store, particular to it', () => {
  it('stores only wrapped keys, which the KMS alone can open', async () => {
    const kms = createKmsDouble();
    const store = createMemoryKeyStore();
    const keys = createEnvelopeKeyStore({ kms, store });
    const child = mintPseudonym('child');
    const key = Buffer.from(await keys.getOrCreate(child));
    const kept = await store.get(child);
    expect(kept.status).toBe('active');
    if (kept.status === 'active') {
      expect(Buffer.from(kept.key).includes(key)).toBe(false);
      expect(kept.key.length).toBeGreaterThan(32);
    }
    expect(kms.calls.wrap).toBe(1);
  });

  it('fails with a KeyStoreError that says what to check when the KMS cannot be reached', async () => {
    const kms = createKmsDouble();
    const keys = createEnvelopeKeyStore({ kms, store: createMemoryKeyStore() });
    const child = mintPseudonym('child');
    await keys.getOrCreate(child);
    kms.reachable = false;
    const failure = await keys.get(child).catch((error: unknown) => error);
    expect(isKeyStoreError(failure)).toBe(true);
    expect((failure as Error).message).toMatch(/key management service failed.*reachable/);
    await expect(keys.getOrCreate(mintPseudonym('child'))).rejects.toSatisfy(isKeyStoreError);
  });

  it('is refused without a KMS or a store to keep wrapped keys in', () => {
    expect(() => createEnvelopeKeyStore({ kms: undefined as never, store: createMemoryKeyStore() })).toThrow(
      /needs kms/,
    );
    expect(() => createEnvelopeKeyStore({ kms: createKmsDouble(), store: undefined as never })).toThrow(
      /needs store/,
    );
  });
});
