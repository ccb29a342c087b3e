import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEventStoreDBEventStore } from '@lantern/adapters/eventstoredb';
import { createPostgresReadModelStore } from '@lantern/adapters/postgres';
import type { RecordedEvent } from '@lantern/core';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { sessionHeld } from '../readModelContract/readModelContract.js';
import { type Child, runChild, waitFor } from '../sqlite/children.js';
import { type ClubTotal, clubTotals, foldClubTotals } from './clubTotals.js';
import { postgresConnectionString, usePostgresSchema } from './postgresServer.js';
import type { EngineSettings } from './runEngine.js';

// Two engine instances in two processes share one projection through leases in PostgreSQL, with
// events in the EventStoreDB wire double. The owner is killed (SIGKILL) while events keep coming;
// the standby takes over once the lease expires and finishes. Every event must be counted exactly
// once: no batch committed twice, none under one lease by both. Run twice: with every document
// held by each engine, and with each engine paging its documents through a local copy of its own,
// which the survivor must take afresh when it takes over.

const variants = [
  { how: 'every document held in memory', localCopy: false, ...usePostgresSchema('multi') },
  { how: 'documents paged through a local copy', localCopy: true, ...usePostgresSchema('multicopy') },
];
const double = inject('eventstoredbDouble');

interface Commit {
  readonly by: Child;
  readonly owner: string;
  readonly token: number;
  readonly after: bigint;
  readonly position: bigint;
}

/** What a child printed for each commit it made (runEngine.ts), in order. */
const commitsOf = (child: Child): Commit[] =>
  child.lines
    .filter((line) => line.startsWith('commit '))
    .map((line) => {
      const raw = JSON.parse(line.slice('commit '.length)) as Record<string, string | number>;
      return {
        by: child,
        owner: String(raw.owner),
        token: Number(raw.token),
        after: BigInt(raw.after ?? ''),
        position: BigInt(raw.position ?? ''),
      };
    });

const stateOf = (child: Child): string =>
  child.lines.findLast((line) => line.startsWith('state '))?.split(' ')[1] ?? 'none';
const owns = (child: Child): boolean => ['catching-up', 'live'].includes(stateOf(child));

describe('two engine instances in two processes, one projection', () => {
  const children: Child[] = [];
  const copies = mkdtempSync(join(tmpdir(), 'lantern-handover-'));
  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
      await child.exited;
    }
  });
  afterAll(() => {
    rmSync(copies, { recursive: true, force: true });
  });

  it.each(variants)(
    'hands the projection over when its owner is killed, counting every event exactly once ($how)',
    async ({ localCopy, schema }) => {
      const streamPrefix = `mi${randomBytes(4).toString('hex')}.`;
      const settings = (owner: string): string =>
        JSON.stringify({
          owner,
          eventstoredb: double.connectionString,
          streamPrefix,
          postgres: postgresConnectionString,
          schema,
          leaseTtlMs: 1_000,
          batchSize: 100,
          ...(localCopy ? { localCopy: join(copies, `${schema}-${owner}.db`) } : {}),
        } satisfies EngineSettings);
      const eventStore = createEventStoreDBEventStore(
        { connectionString: double.connectionString },
        { streamPrefix },
      );
      const readModels = createPostgresReadModelStore(
        { connectionString: postgresConnectionString },
        { schema },
      );
      const script = new URL('./runEngine.ts', import.meta.url).href;
      /** A limit well inside the test's, naming what was awaited and what the children printed last. */
      const until = (condition: () => boolean, description: string, timeoutMs = 40_000) =>
        waitFor(condition, description, undefined, timeoutMs).catch((error: unknown) => {
          const tails = children.map((c, i) => `child ${i}: ${c.lines.slice(-8).join(' | ')}\n${c.stderr()}`);
          throw new Error(`${(error as Error).message}\n${tails.join('\n')}`);
        });
      try {
        // Both load in parallel; then 'one' starts first (and so most likely takes the lease), then 'two'.
        const both = ['one', 'two'].map((owner) =>
          runChild(script, [settings(owner)], { stdio: ['pipe', 'pipe', 'pipe'] }),
        );
        children.push(...both);
        await until(() => both.every((child) => child.lines.includes('ready')), 'both engines loaded');
        for (const child of both) {
          child.process.stdin?.write('start\n');
          await until(() => child.lines.includes('started'), 'the engine started');
        }
        await until(
          () => both.filter(owns).length === 1 && both.some((child) => stateOf(child) === 'standby'),
          'one engine owns the projection and the other stands by',
        );

        // 5,000 sessions in 100 appends of 50 over 25 clubs, while the engines run: half before
        // the owner dies, half while it dies and the other takes over.
        const total = 5_000;
        const perAppend = 50;
        let appended = 0;
        let last = 0n;
        const appendUpTo = async (count: number): Promise<void> => {
          for (let i = appended / perAppend; appended < count; i += 1) {
            const club = `club-${i % 25}`;
            const events = Array.from({ length: perAppend }, (_, k) => sessionHeld(club, (i * 7 + k) % 13));
            last = (await eventStore.append(club, events)).position;
            appended += perAppend;
          }
        };
        await appendUpTo(total / 2);

        // Killed mid-way: whichever instance owns the projection by then (a starved owner may
        // already have lost its lease to the other, which is allowed), once it committed batches:
        // three, or fewer when it was still catching up as the first half came in and committed
        // all of it at once (while catching up, it commits every 10,000 events).
        const half = last;
        let victim: Child | undefined;
        await until(() => {
          victim = both.find(
            (child) =>
              owns(child) &&
              (commitsOf(child).length >= 3 || commitsOf(child).some((commit) => commit.position === half)),
          );
          return victim !== undefined;
        }, 'an owner committed batches');
        if (!victim) throw new Error('no owner to kill');
        const appending = appendUpTo(total);
        victim.process.kill('SIGKILL');
        expect((await victim.exited).signal).toBe('SIGKILL');
        const survivor = both.find((child) => child !== victim);
        if (!survivor) throw new Error('no survivor');
        await appending;

        await until(
          () => commitsOf(survivor).some((commit) => commit.position === last),
          'the survivor took over and committed the last event',
        );
        survivor.process.kill('SIGTERM');
        expect((await survivor.exited).code).toBe(0);

        // The read model is the fold of every appended event, each counted once.
        const events: RecordedEvent[] = [];
        for await (const event of eventStore.readAll()) events.push(event);
        expect(events).toHaveLength(total);
        const stored: Record<string, ClubTotal> = {};
        for (const { key, document } of await readModels.documents(clubTotals.name, 'clubs')) {
          stored[key] = document as unknown as ClubTotal;
        }
        expect(stored).toEqual(foldClubTotals(events));
        expect(await readModels.checkpoint(clubTotals.name)).toMatchObject({
          position: last,
          status: 'active',
        });

        // Every commit either child made, in log order, forms one chain from 0 to the last event:
        // no two overlap, and the only gap allowed is a batch the victim committed but had no time
        // to print before it died (never committed again: the next one starts at or after its end).
        const commits = [...commitsOf(victim), ...commitsOf(survivor)].sort((a, b) =>
          a.after < b.after ? -1 : a.after > b.after ? 1 : 0,
        );
        expect(commits[0]?.after).toBe(0n);
        expect(commits.at(-1)?.position).toBe(last);
        const gaps: Commit[] = [];
        for (const [i, commit] of commits.entries()) {
          const previous = commits[i - 1];
          if (!previous) continue;
          expect(commit.after, 'a batch committed twice').toBeGreaterThanOrEqual(previous.position);
          if (commit.after !== previous.position) gaps.push(previous);
          // A later batch is never made under an older lease.
          expect(commit.token).toBeGreaterThanOrEqual(previous.token);
        }
        expect(gaps.length).toBeLessThanOrEqual(1);
        if (gaps[0]) {
          expect(gaps[0].by, 'a gap after a batch of the survivor').toBe(victim);
          expect(gaps[0].position).toBe(commitsOf(victim).at(-1)?.position);
        }
        // No lease (token) was ever used by both instances, and the survivor ends under a newer one.
        const tokensOf = (child: Child) => new Set(commitsOf(child).map((commit) => commit.token));
        expect([...tokensOf(victim)].filter((token) => tokensOf(survivor).has(token))).toEqual([]);
        expect(commitsOf(survivor).at(-1)?.token).toBeGreaterThan(Math.max(...tokensOf(victim)));
        for (const child of both) {
          expect(new Set(commitsOf(child).map((commit) => commit.owner)).size).toBe(1);
        }
      } finally {
        await readModels.close();
        await eventStore.close();
      }
    },
    180_000,
  );
});
