import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteEventStore } from '@lantern/adapters/sqlite';
import type { EventStore, RecordedEvent } from '@lantern/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clubEstablished, clubSessionHeld } from '../storeContract/fixtures.js';
import { runChild, waitFor } from './children.js';

// One process writes, another reads and subscribes, each with its own store on the same file.

describe('the sqlite event store across processes', () => {
  let dir: string;
  let path: string;
  let store: EventStore;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lantern-processes-'));
    path = join(dir, 'lantern.db');
    store = createSqliteEventStore({ path });
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers live to a subscriber here what another process appends', async () => {
    const stream = `club-${randomUUID().slice(0, 8)}`;
    await store.append(stream, [clubEstablished()]);
    const received: RecordedEvent[] = [];
    let failure: unknown;
    const subscription = store.subscribe({ filter: { streamPrefixes: [stream] } }).subscribe({
      next: (event) => received.push(event),
      error: (error: unknown) => {
        failure = error;
      },
    });
    try {
      await waitFor(() => received.length === 1, 'the stored event arrived');
      const child = runChild('./appendInChild.ts', [path, stream, '20']);
      const { code } = await child.exited;
      expect(code, child.stderr()).toBe(0);
      const appended = child.lines.filter((line) => line !== 'done');
      expect(appended).toHaveLength(20);
      await waitFor(() => received.length === 21 || failure !== undefined, 'the child’s events arrived');
      expect(failure).toBeUndefined();
      expect(received.slice(1).map((event) => event.id)).toEqual(appended);
      const positions = received.map((event) => event.position);
      expect(new Set(positions).size).toBe(21);
      expect(positions).toEqual([...positions].sort((a, b) => (a < b ? -1 : 1)));
    } finally {
      subscription.unsubscribe();
    }
  }, 90_000);

  it('lets a subscriber in another process catch up, then see live what this process appends', async () => {
    const stream = `club-${randomUUID().slice(0, 8)}`;
    const history = [clubEstablished(), clubSessionHeld()];
    await store.append(stream, history);
    const child = runChild('./subscribeInChild.ts', [path, stream, '12']);
    await waitFor(() => child.lines.includes('subscribed'), 'the child subscribed', child);
    const live = Array.from({ length: 10 }, () => clubSessionHeld());
    for (const event of live) await store.append(stream, [event]);
    const { code } = await child.exited;
    expect(code, child.stderr()).toBe(0);
    const delivered = child.lines.filter((line) => line !== 'subscribed');
    const stored = await (async () => {
      const events: RecordedEvent[] = [];
      for await (const event of store.readStream(stream)) events.push(event);
      return events;
    })();
    expect(delivered).toEqual(stored.map((event) => `${event.position} ${event.id}`));
    expect(stored.map((event) => event.id)).toEqual([...history, ...live].map((event) => event.id));
  }, 90_000);
});
