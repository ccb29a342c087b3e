import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryEventStore, createMemoryReadModelStore } from '@lantern/adapters/memory';
import { createPostgresReadModelStore } from '@lantern/adapters/postgres';
import { createSqliteEventStore, withLocalCopy } from '@lantern/adapters/sqlite';
import type { ReadModelStore } from '@lantern/core';
import { createProjectionEngine } from '@lantern/projections';
import { v4 as uuidv4 } from 'uuid';
import { afterEach, describe, expect, it } from 'vitest';
import { postgresConnectionString, usePostgresSchema } from '../multiInstance/postgresServer.js';
import { attendanceProjection, runReadModelContract, sessionHeld } from './readModelContract.js';

// PostgreSQL read models through a local copy: the whole contract (the engine on top of it pages
// its documents through the copy), then when the copy is taken, used again, or refused.
const { schema } = usePostgresSchema('localcopy');

const open = () => createPostgresReadModelStore({ connectionString: postgresConnectionString }, { schema });

const directories: string[] = [];
const directory = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'lantern-copy-test-'));
  directories.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of directories.splice(0)) rmSync(dir, { recursive: true, force: true });
});

runReadModelContract(
  'postgres through a local copy',
  async () => {
    const path = join(directory(), 'copy.db');
    return {
      readModels: withLocalCopy(open(), { path }),
      reopen: async () => withLocalCopy(open(), { path: join(directory(), 'copy.db') }),
    };
  },
  { durable: true },
);

/** The PostgreSQL store, counting the pages of documents read from it. */
const counted = () => {
  const store = open();
  let pages = 0;
  const readModels: ReadModelStore = {
    ...store,
    documents: (projection, collection, query) => {
      pages += 1;
      return store.documents(projection, collection, query);
    },
  };
  return { readModels, pages: () => pages };
};

const projectionName = (): string => `copied_${uuidv4().replaceAll('-', '').slice(0, 10)}`;

describe('the local copy of PostgreSQL read models', () => {
  const stores: ReadModelStore[] = [];
  const keep = <T extends ReadModelStore>(store: T): T => {
    stores.push(store);
    return store;
  };
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
  });

  const commitClubs = async (
    readModels: ReadModelStore,
    projection: string,
    after: bigint,
    position: bigint,
    clubs: Record<string, number | null>,
  ) =>
    readModels.commit([
      {
        projection,
        version: 1,
        after,
        position,
        changes: Object.entries(clubs).map(([key, children]) => ({
          collection: 'clubs',
          key,
          document: children === null ? null : { children },
        })),
      },
    ]);

  it('is taken page by page when a projection is prepared, and used again at the same checkpoint', async () => {
    const path = join(directory(), 'copy.db');
    const projection = projectionName();
    const plain = keep(open());
    await plain.prepare(projection, ['clubs']);
    await commitClubs(plain, projection, 0n, 7n, { a: 1, b: 2, c: 3, d: 4, e: 5 });

    const first = counted();
    const copied = withLocalCopy(first.readModels, { path, pageSize: 2 });
    await copied.prepare(projection, ['clubs']);
    // Pages of 2, 2 and 1 documents: the third, short, ends the copy.
    expect(first.pages()).toBe(3);
    expect([...(copied.keysNow?.(projection, 'clubs') ?? [])].sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(copied.getDocumentNow?.(projection, 'clubs', 'c')).toEqual({ children: 3 });
    // Its own commits are written to the copy as well as to the store.
    await commitClubs(copied, projection, 7n, 9n, { a: 10, e: null, f: 6 });
    expect(copied.getDocumentNow?.(projection, 'clubs', 'a')).toEqual({ children: 10 });
    expect(copied.getDocumentNow?.(projection, 'clubs', 'e')).toBeUndefined();
    expect(copied.getDocumentNow?.(projection, 'clubs', 'f')).toEqual({ children: 6 });
    await copied.close();

    // Opened again on the same file, at the checkpoint it was left at: nothing is read again.
    const second = counted();
    const reopened = keep(withLocalCopy(second.readModels, { path, pageSize: 2 }));
    await reopened.prepare(projection, ['clubs']);
    expect(second.pages()).toBe(0);
    expect([...(reopened.keysNow?.(projection, 'clubs') ?? [])].sort()).toEqual(['a', 'b', 'c', 'd', 'f']);
    expect(reopened.getDocumentNow?.(projection, 'clubs', 'a')).toEqual({ children: 10 });
  });

  it('is taken again when the read model moved on without it, or was rebuilt to the same position', async () => {
    const path = join(directory(), 'copy.db');
    const projection = projectionName();
    const plain = keep(open());
    const copied = withLocalCopy(open(), { path });
    await copied.prepare(projection, ['clubs']);
    await commitClubs(copied, projection, 0n, 3n, { a: 1, b: 2 });
    await copied.close();

    // Another instance commits on: the copy is behind.
    await commitClubs(plain, projection, 3n, 5n, { a: 7, b: null });
    const behind = counted();
    const caughtUp = withLocalCopy(behind.readModels, { path });
    await caughtUp.prepare(projection, ['clubs']);
    expect(behind.pages()).toBe(1);
    expect(caughtUp.getDocumentNow?.(projection, 'clubs', 'a')).toEqual({ children: 7 });
    expect(caughtUp.getDocumentNow?.(projection, 'clubs', 'b')).toBeUndefined();
    await caughtUp.close();

    // Rebuilt elsewhere (after an erasure, say) back to the very position the copy was taken at,
    // with other documents: the checkpoint's time tells the two apart.
    await plain.reset(projection, 1, ['clubs']);
    await commitClubs(plain, projection, 0n, 5n, { a: 8 });
    const rebuilt = counted();
    const fresh = keep(withLocalCopy(rebuilt.readModels, { path }));
    await fresh.prepare(projection, ['clubs']);
    expect(rebuilt.pages()).toBe(1);
    expect([...(fresh.keysNow?.(projection, 'clubs') ?? [])]).toEqual(['a']);
    expect(fresh.getDocumentNow?.(projection, 'clubs', 'a')).toEqual({ children: 8 });
  });

  it('is not taken of a projection whose lease another instance holds', async () => {
    const projection = projectionName();
    const plain = keep(open());
    await plain.prepare(projection, ['clubs']);
    await commitClubs(plain, projection, 0n, 2n, { a: 1 });
    const held = await plain.acquireLease(projection, 'other-instance', 60_000);
    expect(held).toBeDefined();

    const standby = counted();
    const copied = keep(withLocalCopy(standby.readModels, { path: join(directory(), 'copy.db') }));
    expect(await copied.acquireLease(projection, 'this-instance', 60_000)).toBeUndefined();
    await copied.prepare(projection, ['clubs']);
    expect(standby.pages()).toBe(0);
    expect(() => copied.getDocumentNow?.(projection, 'clubs', 'a')).toThrow(/holds nothing of/);

    // Once the other lets go and this instance takes the lease, the next load copies it.
    if (held) await plain.releaseLease(held);
    expect(await copied.acquireLease(projection, 'this-instance', 60_000)).toBeDefined();
    await copied.prepare(projection, ['clubs']);
    expect(standby.pages()).toBe(1);
    expect(copied.getDocumentNow?.(projection, 'clubs', 'a')).toEqual({ children: 1 });
  });

  it('is taken again after a commit it missed, and the engine counts nothing twice', async () => {
    const store = open();
    let failCheckpoints = 0;
    // The store, but its checkpoint cannot be read for a while: a commit lands in PostgreSQL and
    // the copy cannot learn what it landed as.
    const flaky: ReadModelStore = {
      ...store,
      checkpoint: async (projection) => {
        if (failCheckpoints > 0) {
          failCheckpoints -= 1;
          throw new Error('connection reset while reading the checkpoint');
        }
        return store.checkpoint(projection);
      },
    };
    const readModels = keep(withLocalCopy(flaky, { path: join(directory(), 'copy.db') }));
    const projection = projectionName();
    await readModels.prepare(projection, ['clubs']);
    await commitClubs(readModels, projection, 0n, 2n, { a: 1 });
    failCheckpoints = 1;
    await expect(commitClubs(readModels, projection, 2n, 4n, { a: 2, b: 3 })).rejects.toThrow(
      /The read models were committed, but the local copy .* could not be written/,
    );
    expect(await store.getDocument(projection, 'clubs', 'b')).toEqual({ children: 3 });
    await readModels.prepare(projection, ['clubs']);
    expect(readModels.getDocumentNow?.(projection, 'clubs', 'a')).toEqual({ children: 2 });
    expect(readModels.getDocumentNow?.(projection, 'clubs', 'b')).toEqual({ children: 3 });

    // The engine, the same way: a commit whose copy fails is loaded again and goes on from the
    // checkpoint PostgreSQL holds, with a cache of two documents so that the copy is read.
    const eventStore = createMemoryEventStore();
    const clubs = Array.from({ length: 12 }, (_, i) => `club-${i}`);
    let last = 0n;
    for (let round = 0; round < 5; round += 1) {
      for (const club of clubs)
        last = (await eventStore.append(club, [sessionHeld(club, round + 1)])).position;
    }
    const name = projectionName();
    const engine = createProjectionEngine({
      eventStore,
      readModels,
      projections: [attendanceProjection(name)],
      batchSize: 7,
      documentsInMemory: 2,
    });
    let commits = 0;
    const failing = engine.changes.subscribe(() => {
      commits += 1;
      if (commits === 3) failCheckpoints = 1;
    });
    try {
      await engine.start();
      await engine.waitFor(last);
    } finally {
      failing.unsubscribe();
      await engine.stop();
      await eventStore.close();
    }
    const counts = Object.fromEntries(
      (await store.documents(name, 'clubs')).map(({ key, document }) => [key, document]),
    );
    expect(counts).toEqual(Object.fromEntries(clubs.map((club) => [club, { sessions: 5, children: 15 }])));
    expect(failCheckpoints).toBe(0);
  });

  it('refuses a file that is not a local copy, and leaves it as it is', async () => {
    const dir = directory();
    const eventsPath = join(dir, 'events.db');
    const events = createSqliteEventStore({ path: eventsPath });
    await events.append('club-1', [sessionHeld('club-1', 4)]);
    await events.close();
    const notes = join(dir, 'notes.txt');
    writeFileSync(notes, 'outreach notes, not a database\n'.repeat(100));
    const digest = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
    const before = [digest(eventsPath), digest(notes)];

    expect(() => withLocalCopy(open(), { path: eventsPath })).toThrow(
      /is not a Lantern local copy of read models .*left as it is/,
    );
    expect(() => withLocalCopy(open(), { path: notes })).toThrow(/is not a SQLite file/);
    expect([digest(eventsPath), digest(notes)]).toEqual(before);
  });

  it('removes the temporary copies of processes killed before closing them, and no others', async () => {
    // Copies made under a temporary directory of the test's own, as TMPDIR names it.
    const root = directory();
    const previous = process.env.TMPDIR;
    process.env.TMPDIR = root;
    try {
      const ended = spawnSync(process.execPath, ['-e', '']).pid;
      const leftBy = (name: string, owner?: { host: string; pid: number }) => {
        mkdirSync(join(root, name));
        writeFileSync(join(root, name, 'copy.db'), '');
        if (owner) writeFileSync(join(root, name, 'owner.json'), JSON.stringify(owner));
      };
      leftBy('lantern-copy-killed', { host: hostname(), pid: ended });
      leftBy('lantern-copy-running', { host: hostname(), pid: process.ppid });
      leftBy('lantern-copy-elsewhere', { host: `not-${hostname()}`, pid: ended });
      leftBy('lantern-copy-unnamed');
      leftBy('notes-killed', { host: hostname(), pid: ended });

      const readModels = withLocalCopy(open());
      const made = readdirSync(root).filter(
        (name) =>
          ![
            'lantern-copy-running',
            'lantern-copy-elsewhere',
            'lantern-copy-unnamed',
            'notes-killed',
          ].includes(name),
      );
      expect(made).toHaveLength(1);
      expect(made[0]).toMatch(/^lantern-copy-/);
      expect(made[0]).not.toBe('lantern-copy-killed');
      expect(JSON.parse(readFileSync(join(root, made[0] as string, 'owner.json'), 'utf8'))).toEqual({
        host: hostname(),
        pid: process.pid,
      });
      await readModels.close();
      expect(existsSync(join(root, made[0] as string))).toBe(false);
      expect(readdirSync(root).sort()).toEqual([
        'lantern-copy-elsewhere',
        'lantern-copy-running',
        'lantern-copy-unnamed',
        'notes-killed',
      ]);
    } finally {
      if (previous === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = previous;
    }
  });

  it('refuses a store that reads synchronously already, and a page size below one', () => {
    expect(() => withLocalCopy(createMemoryReadModelStore())).toThrow(
      /reads documents synchronously already: the engine pages them without a local copy/,
    );
    expect(() => withLocalCopy(open(), { pageSize: 0 })).toThrow(/pageSize must be a whole number/);
  });
});
