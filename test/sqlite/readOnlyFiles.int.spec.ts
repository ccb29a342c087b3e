import { randomUUID } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteEventStore } from '@lantern/adapters/sqlite';
import type { RecordedEvent } from '@lantern/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clubEstablished, clubSessionHeld } from '../storeContract/fixtures.js';
import { runChild } from './children.js';

// A store this user may not write: the file, or its whole directory. Permissions bind only a user
// who is not root, so when the suite runs as root the probe runs as "nobody" (uid 65534) instead.

const asRoot = process.getuid?.() === 0;
const nobody = 65534;

/** Runs the probe (as "nobody" when this is root); returns the one line of JSON it printed. */
const probe = async (path: string): Promise<{ read?: number; append?: string; open?: string }> => {
  const child = runChild('./probeReadOnly.ts', [path], asRoot ? { uid: nobody, gid: nobody } : {});
  const { code } = await child.exited;
  expect(code, child.stderr()).toBe(0);
  return JSON.parse(child.lines.at(-1) ?? '{}');
};

describe('the sqlite event store on files it may not write', () => {
  let root: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'lantern-readonly-'));
    chmodSync(root, 0o755);
  });

  afterEach(() => {
    chmodSync(root, 0o755);
    rmSync(root, { recursive: true, force: true });
  });

  /** A store of two events in a directory of its own. */
  const storeIn = async (name: string): Promise<{ dir: string; path: string; events: RecordedEvent[] }> => {
    const dir = join(root, name);
    mkdirSync(dir);
    const path = join(dir, 'lantern.db');
    const store = createSqliteEventStore({ path });
    await store.append(`club-${randomUUID().slice(0, 8)}`, [clubEstablished(), clubSessionHeld()]);
    const events: RecordedEvent[] = [];
    for await (const event of store.readAll()) events.push(event);
    await store.close();
    return { dir, path, events };
  };

  it('reads a file it may not write, and refuses to append with a clear error', async () => {
    const { dir, path, events } = await storeIn('file');
    // The directory stays writable for the prober (SQLite keeps its -shm file there); the file does not.
    if (asRoot) chownSync(dir, nobody, nobody);
    else chmodSync(path, 0o444);
    const result = await probe(path);
    expect(result.open).toBeUndefined();
    expect(result.read).toBe(events.length);
    expect(result.append).toContain(path);
    expect(result.append).toMatch(/Cannot append.*read-only for this user.*Nothing was written/);

    const again = createSqliteEventStore({ path, readonly: true });
    const stored: RecordedEvent[] = [];
    for await (const event of again.readAll()) stored.push(event);
    await again.close();
    expect(stored).toEqual(events);
  }, 60_000);

  it('says what to do when the directory cannot be written, and changes nothing', async () => {
    const { dir, path, events } = await storeIn('directory');
    if (!asRoot) chmodSync(dir, 0o555);
    const result = await probe(path);
    expect(result.read).toBeUndefined();
    expect(result.open).toContain(path);
    expect(result.open).toMatch(
      /cannot write to its directory.*Make the directory writable, or copy the file/,
    );

    chmodSync(dir, 0o755);
    const again = createSqliteEventStore({ path });
    const stored: RecordedEvent[] = [];
    for await (const event of again.readAll()) stored.push(event);
    await again.close();
    expect(stored).toEqual(events);
  }, 60_000);
});
