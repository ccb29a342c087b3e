import { createServer } from 'node:net';
import { BACKWARDS, END, EventStoreDBClient, jsonEvent } from '@eventstore/db-client';
import {
  createEventStoreDBEventStore,
  createPersistentSubscriptions,
  type PersistentDelivery,
  type ResubscribeAttempt,
} from '@lantern/adapters/eventstoredb';
import type { EventStore, RecordedEvent } from '@lantern/core';
import { isConcurrencyError, isStoreError, isStreamNotFoundError, LanternError } from '@lantern/core';
import type { Subscription } from 'rxjs';
import { v4 as uuidv4 } from 'uuid';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { connectToDoubleControl } from '../eventstoredbDouble/doubleControl.js';
import {
  clubEstablished,
  clubSessionHeld,
  collect,
  failureOf,
  ids,
  namespace,
  outreachConducted,
  streamsOf,
  waitFor,
} from './fixtures.js';
import { runStoreContract } from './storeContract.js';

/**
 * The EventStoreDB adapter: the store contract against the wire DOUBLE of EventStoreDB (started once
 * per run by test/eventstoredbDouble/globalSetup.ts), through a single-node and a gossip connection
 * string; against a real server when EVENTSTORE_CONNECTION_STRING is set; and what is particular to
 * EventStoreDB — error translation, server-side filters, resubscription, persistent subscriptions.
 */

const double = inject('eventstoredbDouble');
const control = connectToDoubleControl(double.address);
afterAll(() => control.close());

/** A prefix per store, so each store sees only its own streams in the shared double. */
const freshPrefix = (): string => `t${uuidv4().slice(0, 8)}.`;
/** A connection name, so the double's controls reach only this test's calls. */
const connectionName = (): string => `test-${uuidv4()}`;
const withName = (connectionString: string, name: string): string =>
  `${connectionString}&connectionName=${name}`;

const shared = EventStoreDBClient.connectionString(double.connectionString);
afterAll(() => shared.dispose());

runStoreContract('the EventStoreDB event store on the wire double', async () => ({
  store: createEventStoreDBEventStore({ client: shared }, { streamPrefix: freshPrefix() }),
}));

const realServer = process.env.EVENTSTORE_CONNECTION_STRING;
if (realServer) {
  const real = EventStoreDBClient.connectionString(realServer);
  afterAll(() => real.dispose());
  runStoreContract(`the EventStoreDB event store on the server at ${realServer}`, async () => ({
    store: createEventStoreDBEventStore({ client: real }, { streamPrefix: freshPrefix() }),
  }));
} else {
  const reason =
    'set EVENTSTORE_CONNECTION_STRING (e.g. esdb://localhost:2113?tls=false) to run the store contract against a real EventStoreDB server';
  // Nothing is registered, so nothing is skipped: the run says why the real server was not used.
  console.info(`Not running the store contract against a real EventStoreDB server: ${reason}.`);
}

describe('the EventStoreDB event store, particular to EventStoreDB (on the wire double)', () => {
  const stores: EventStore[] = [];
  const subscriptions: Subscription[] = [];
  afterEach(async () => {
    for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
    await Promise.all(stores.splice(0).map((store) => store.close()));
  });

  /** A store with its own client (so its connection name, and the double's controls, are its own). */
  const storeFor = (
    name = connectionName(),
    options: Parameters<typeof createEventStoreDBEventStore>[1] = {},
  ) => {
    const store = createEventStoreDBEventStore(
      { connectionString: withName(double.connectionString, name) },
      { streamPrefix: freshPrefix(), ...options },
    );
    stores.push(store);
    return store;
  };

  describe('connection strings', () => {
    it.each([
      ['gossip discovery (esdb+discover://)', double.discoverConnectionString],
      ['a list of gossip seeds (esdb://a,b)', `esdb://${double.address},${double.address}?tls=false`],
    ])('finds the leader through %s and keeps the basics of the contract', async (_, connectionString) => {
      const gossipBefore = (await control.calls({ connectionName: '' })).calls.gossipRead ?? 0;
      const store = createEventStoreDBEventStore({ connectionString }, { streamPrefix: freshPrefix() });
      stores.push(store);
      const s = streamsOf(namespace());
      const received: RecordedEvent[] = [];
      subscriptions.push(
        store.subscribe({ filter: { streamPrefixes: s.prefixes } }).subscribe((e) => received.push(e)),
      );
      const batch = [clubEstablished(), clubSessionHeld()];
      const result = await store.append(s.club(), batch, { expectedRevision: 'noStream' });
      expect(result).toMatchObject({ nextExpectedRevision: 1n, written: true });
      expect(await store.append(s.club(), batch, { expectedRevision: 'noStream' })).toEqual({
        ...result,
        written: false,
      });
      await store.append(s.outreach(), [outreachConducted()]);
      expect(ids(await collect(store.readStream(s.club())))).toEqual(ids(batch));
      const all = await collect(store.readAll({ filter: { streamPrefixes: s.prefixes } }));
      expect(all.map((event) => event.streamId)).toEqual([s.club(), s.club(), s.outreach()]);
      await waitFor(() => received.length === 3, 'the subscription delivered three events');
      expect(ids(received)).toEqual(ids(all));
      expect((await control.calls({ connectionName: '' })).calls.gossipRead ?? 0).toBeGreaterThan(
        gossipBefore,
      );
    });

    it('disposes of a client it created, and leaves alone a client it was given', async () => {
      const client = EventStoreDBClient.connectionString(double.connectionString);
      try {
        const given = createEventStoreDBEventStore({ client }, { streamPrefix: freshPrefix() });
        await given.append('club-a', [clubEstablished()]);
        await given.close();
        const after = await client.appendToStream(`${freshPrefix()}club-b`, [
          jsonEvent({ type: 'Probe', data: {} }),
        ]);
        expect(after.success).toBe(true);
      } finally {
        await client.dispose();
      }
      const own = createEventStoreDBEventStore({ connectionString: double.connectionString });
      await own.close();
      expect(isStoreError(await failureOf(() => own.append('club-a', [clubEstablished()])))).toBe(true);
    });
  });

  describe('events as EventStoreDB stores them', () => {
    it('keeps the event id, the type, the JSON data and Lantern metadata (with $correlationId), and positions', async () => {
      const streamPrefix = freshPrefix();
      const store = createEventStoreDBEventStore({ client: shared }, { streamPrefix });
      stores.push(store);
      const correlationId = '0190c3a5-7c1e-7d2a-9f3b-4c5d6e7f8a9b';
      const event = clubEstablished('riverfront-1', { metadata: { correlationId } });
      const result = await store.append('club-a', [event]);
      const raw: {
        id: string;
        type: string;
        data: unknown;
        metadata: unknown;
        position: bigint;
        created: Date;
      }[] = [];
      for await (const resolved of shared.readStream(`${streamPrefix}club-a`)) {
        const e = resolved.event;
        if (e?.position) raw.push({ ...e, position: e.position.commit });
      }
      expect(raw).toEqual([
        expect.objectContaining({
          id: event.id,
          type: 'ClubEstablished',
          data: event.data,
          metadata: { ...event.metadata, $correlationId: correlationId },
          position: result.position,
        }),
      ]);
      const [read] = await collect(store.readStream('club-a'));
      expect(read).toMatchObject({ streamId: 'club-a', position: result.position, metadata: event.metadata });
      expect(read?.recordedAt).toBe(raw[0]?.created.toISOString());
    });

    it('skips EventStoreDB’s own $-events when reading every stream, filtering them on the server', async () => {
      const name = connectionName();
      const store = storeFor(name, { streamPrefix: '' });
      await store.append(`club-${namespace()}`, [clubEstablished()]);
      const [first] = await collect(store.readAll({ maxCount: 1 }));
      expect(first?.streamId.startsWith('$')).toBe(false);
      const [raw] = await collect(shared.readAll({ maxCount: 1 }));
      expect(raw?.event?.streamId).toBe('$settings');
      expect((await control.receivedFilters({ connectionName: name })).filters).toContainEqual(
        expect.objectContaining({ call: 'subscribe', on: 'eventType', regex: '^[^$]' }),
      );
    });
  });

  describe('server-side filters', () => {
    it('sends stream prefixes to the server and checks the event types itself', async () => {
      const name = connectionName();
      const streamPrefix = freshPrefix();
      const store = storeFor(name, { streamPrefix });
      const s = streamsOf(namespace());
      await store.append(s.club(), [clubEstablished(), clubSessionHeld()]);
      await store.append(s.outreach(), [outreachConducted()]);
      const both = await collect(
        store.readAll({ filter: { streamPrefixes: [s.clubPrefix], eventTypes: ['ClubSessionHeld'] } }),
      );
      expect(both.map((event) => event.type)).toEqual(['ClubSessionHeld']);
      const { filters } = await control.receivedFilters({ connectionName: name });
      expect(filters).toContainEqual({
        call: 'subscribe',
        on: 'streamName',
        prefixes: [`${streamPrefix}${s.clubPrefix}`],
        regex: '',
        checkpointIntervalMultiplier: 1,
      });
    });

    it('sends event types to the server when there are no stream prefixes, the store prefix otherwise', async () => {
      const name = connectionName();
      const streamPrefix = freshPrefix();
      const store = storeFor(name, { streamPrefix });
      const s = streamsOf(namespace());
      await store.append(s.club(), [clubEstablished(), clubSessionHeld()]);
      const received: RecordedEvent[] = [];
      subscriptions.push(
        store.subscribe({ filter: { eventTypes: ['ClubEstablished'] } }).subscribe((e) => received.push(e)),
      );
      await waitFor(() => received.length === 1, 'the subscription delivered the club');
      expect(await collect(store.readAll())).toHaveLength(2);
      const { filters } = await control.receivedFilters({ connectionName: name });
      expect(filters).toContainEqual(
        expect.objectContaining({ call: 'subscribe', on: 'eventType', prefixes: ['ClubEstablished'] }),
      );
      expect(filters).toContainEqual(
        expect.objectContaining({ call: 'subscribe', on: 'streamName', prefixes: [streamPrefix] }),
      );
    });

    it('asks the server nothing for a filter with an empty list', async () => {
      const name = connectionName();
      const store = storeFor(name);
      await store.append('club-a', [clubEstablished()]);
      expect(await collect(store.readAll({ filter: { eventTypes: [] } }))).toEqual([]);
      expect((await control.calls({ connectionName: name })).calls.subscribe).toBeUndefined();
    });
  });

  describe('errors, translated at the edge', () => {
    const expectStoreError = (error: unknown, message: RegExp) => {
      expect(isStoreError(error)).toBe(true);
      expect(error).toBeInstanceOf(LanternError);
      expect((error as Error).message).toMatch(message);
    };

    it.each([
      ['access-denied', /denied this connection access to append.*user name and password/],
      ['unavailable', /unavailable.*running and reachable.*resent safely/],
      ['timeout', /did not answer in time.*resent safely/],
      ['deadline-exceeded', /did not answer in time/],
      ['not-leader', /not the cluster leader.*reconnects to the leader/],
      ['stream-deleted', /was deleted in EventStoreDB/],
    ] as const)('turns %s on append into a StoreError that says what to do', async (error, message) => {
      const name = connectionName();
      const store = storeFor(name);
      await store.append('club-a', [clubEstablished()]);
      await control.failNext({ connectionName: name, call: 'append', error });
      expectStoreError(await failureOf(() => store.append('club-a', [clubSessionHeld()])), message);
      // The failure was one call: the next append goes through (to the leader, after not-leader).
      expect((await store.append('club-a', [clubSessionHeld()])).written).toBe(true);
    });

    it('translates errors on the plain Append call too (servers without BatchAppend)', async () => {
      const name = connectionName();
      await control.setFeatures({ features: { batchAppend: false } });
      const store = storeFor(name);
      await control.failNext({ connectionName: name, call: 'append', error: 'access-denied' });
      expectStoreError(await failureOf(() => store.append('club-a', [clubEstablished()])), /denied/);
      await store.append('club-a', [clubEstablished()]);
      const outcomes = await Promise.allSettled([
        store.append('club-a', [clubSessionHeld()], { expectedRevision: 0n }),
        store.append('club-a', [clubSessionHeld()], { expectedRevision: 0n }),
      ]);
      const conflict = outcomes.find((outcome) => outcome.status === 'rejected')?.reason;
      expect(isConcurrencyError(conflict) && conflict.actual).toBe(1n);
      const { calls } = await control.calls({ connectionName: name });
      expect(calls.append).toBeGreaterThanOrEqual(3);
      expect(calls.batchAppend).toBeUndefined();
    });

    it('turns failed reads into StoreError, and a missing stream into StreamNotFoundError', async () => {
      const name = connectionName();
      const store = storeFor(name);
      await store.append('club-a', [clubEstablished()]);
      await control.failNext({ connectionName: name, call: 'read', error: 'access-denied' });
      expectStoreError(
        await failureOf(() => store.readStream('club-a')),
        /denied this connection access to read stream "club-a"/,
      );
      const missing = await failureOf(() => store.readStream('club-missing'));
      expect(isStreamNotFoundError(missing) && missing.streamId).toBe('club-missing');
    });

    it('ends a subscription with a StoreError, without retrying, when the server denies it', async () => {
      const name = connectionName();
      const store = storeFor(name);
      await control.failNext({ connectionName: name, call: 'subscribe', error: 'access-denied' });
      const failure = await new Promise<unknown>((resolve) => {
        subscriptions.push(
          store.subscribe().subscribe({ error: resolve, complete: () => resolve(undefined) }),
        );
      });
      expectStoreError(failure, /denied this connection access to subscribe/);
      expect((await control.calls({ connectionName: name })).calls.subscribe).toBe(1);
    });

    it('says when gossip finds no node to talk to', async () => {
      const port = await new Promise<number>((resolve) => {
        const probe = createServer().listen(0, '127.0.0.1', () => {
          const address = probe.address();
          probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
        });
      });
      const store = createEventStoreDBEventStore({
        connectionString: `esdb+discover://127.0.0.1:${port}?tls=false&maxDiscoverAttempts=1&discoveryInterval=1&gossipTimeout=1`,
      });
      stores.push(store);
      expectStoreError(
        await failureOf(() => store.append('club-a', [clubEstablished()])),
        /gossip discovery failed/,
      );
    });
  });

  describe('idempotency beyond what EventStoreDB checks', () => {
    it('refuses ids this store wrote to another stream, which the server would store again', async () => {
      const store = storeFor();
      const batch = [clubEstablished(), clubSessionHeld()];
      await store.append('club-a', batch);
      expect(await failureOf(() => store.append('club-b', batch))).toMatchObject({ code: 'IDEMPOTENCY' });
    });

    it('recognises a resend its window no longer covers, at the revision it first expected', async () => {
      const store = storeFor(connectionName(), { idempotencyWindow: 1 });
      const batch = [clubSessionHeld(), clubSessionHeld()];
      await store.append('club-a', [clubEstablished()]);
      const first = await store.append('club-a', batch, { expectedRevision: 0n });
      await store.append('club-a', [clubSessionHeld(), clubSessionHeld(), clubSessionHeld()]);
      expect(await store.append('club-a', batch, { expectedRevision: 0n })).toEqual({
        ...first,
        written: false,
      });
    });

    it('limit: does not see ids another process stored in another stream', async () => {
      const streamPrefix = freshPrefix();
      const writer = storeFor(connectionName(), { streamPrefix });
      const other = storeFor(connectionName(), { streamPrefix });
      const batch = [clubEstablished()];
      await writer.append('club-a', batch);
      // EventStoreDB keeps no index of ids across streams: the second copy is stored.
      expect((await other.append('club-b', batch)).written).toBe(true);
    });

    it('limit: a resend with "any" older than the window, from another process, is stored again', async () => {
      const streamPrefix = freshPrefix();
      const writer = storeFor(connectionName(), { streamPrefix });
      const other = storeFor(connectionName(), { streamPrefix, idempotencyWindow: 2 });
      const batch = [clubSessionHeld()];
      await writer.append('club-a', [clubEstablished(), ...batch, clubSessionHeld(), clubSessionHeld()]);
      expect((await other.append('club-a', batch)).written).toBe(true);
      expect(await collect(other.readStream('club-a'))).toHaveLength(5);
    });
  });

  describe('resubscription', () => {
    it('resubscribes after the call drops, from the last position delivered, with exponential backoff', async () => {
      const name = connectionName();
      const attempts: ResubscribeAttempt[] = [];
      const store = storeFor(name, {
        resubscribe: { initialDelayMs: 5, maxDelayMs: 15, onRetry: (attempt) => attempts.push(attempt) },
      });
      const s = streamsOf(namespace());
      const received: RecordedEvent[] = [];
      subscriptions.push(
        store.subscribe({ filter: { streamPrefixes: s.prefixes } }).subscribe((e) => received.push(e)),
      );
      const before = [clubEstablished(), clubSessionHeld()];
      await store.append(s.club(), before);
      await waitFor(() => received.length === 2, 'the first events arrived');

      // The node goes away: the live call drops, and the next three attempts fail.
      await control.failNext({ connectionName: name, call: 'subscribe', error: 'unavailable', times: 3 });
      expect((await control.dropSubscriptions({ connectionName: name })).dropped).toBe(1);
      const during = [clubSessionHeld(), clubSessionHeld()];
      await store.append(s.club(), during);
      await waitFor(() => received.length === 4, 'the events appended while it was down arrived');
      const after = [outreachConducted()];
      await store.append(s.outreach(), after);
      await waitFor(() => received.length === 5, 'a live event arrived after resubscribing');

      expect(ids(received)).toEqual(ids([...before, ...during, ...after]));
      expect(attempts.map(({ attempt, delayMs }) => [attempt, delayMs])).toEqual([
        [1, 5],
        [2, 10],
        [3, 15],
        [4, 15],
      ]);
      expect(attempts.every((attempt) => attempt.after === received[1]?.position)).toBe(true);
      expect((await control.calls({ connectionName: name })).calls.subscribe).toBe(5);
    });

    it('gives up after maxAttempts with a StoreError that names the position to resume after', async () => {
      const name = connectionName();
      const store = storeFor(name, { resubscribe: { initialDelayMs: 1, maxAttempts: 2 } });
      const s = streamsOf(namespace());
      const received: RecordedEvent[] = [];
      let failure: unknown;
      subscriptions.push(
        store.subscribe({ filter: { streamPrefixes: s.prefixes } }).subscribe({
          next: (event) => received.push(event),
          error: (error: unknown) => {
            failure = error;
          },
        }),
      );
      await store.append(s.club(), [clubEstablished()]);
      await waitFor(() => received.length === 1, 'the event arrived');
      await control.failNext({ connectionName: name, call: 'subscribe', error: 'unavailable', times: 5 });
      await control.dropSubscriptions({ connectionName: name });
      await waitFor(() => failure !== undefined, 'the subscription failed');
      expect(isStoreError(failure)).toBe(true);
      expect((failure as Error).message).toContain(`after position ${received[0]?.position}`);
    });
  });

  describe('persistent subscriptions to $all (competing consumers)', () => {
    it('shares a group’s events between two consumers; ack, nack retry and nack park', async () => {
      const name = connectionName();
      const streamPrefix = freshPrefix();
      const store = storeFor(name, { streamPrefix });
      const groups = createPersistentSubscriptions(
        { connectionString: withName(double.connectionString, name) },
        { streamPrefix },
      );
      const group = 'referral-notifications';
      try {
        await groups.createGroup(group, { filter: { streamPrefixes: ['club-'] }, maxRetryCount: 3 });
        const handledBy = new Map<string, string[]>();
        const retryCounts = new Map<string, number[]>();
        const events = [
          clubEstablished(),
          clubSessionHeld(),
          clubSessionHeld(),
          clubSessionHeld(),
          clubSessionHeld(),
        ];
        const [retried, parked] = [events[1]?.id, events[3]?.id];
        const consume = (consumer: string) => async (delivery: PersistentDelivery) => {
          const { id } = delivery.event;
          retryCounts.set(id, [...(retryCounts.get(id) ?? []), delivery.retryCount]);
          if (id === parked) return delivery.nack('park', 'cannot send this referral');
          if (id === retried && delivery.retryCount === 0)
            return delivery.nack('retry', 'the mail server is busy');
          handledBy.set(id, [...(handledBy.get(id) ?? []), consumer]);
          return delivery.ack();
        };
        for (const consumer of ['a', 'b']) {
          subscriptions.push(
            groups
              .subscribe(group, { bufferSize: 1 })
              .subscribe((delivery) => void consume(consumer)(delivery)),
          );
        }
        // Both consumers must have joined before events flow, or the first would take them all.
        let joined = 0;
        const joining = setInterval(() => {
          control.calls({ connectionName: name }).then(({ calls }) => {
            joined = calls.persistentRead ?? 0;
          });
        }, 5);
        await waitFor(() => joined === 2, 'both consumers joined').finally(() => clearInterval(joining));
        await store.append('outreach-a', [outreachConducted()]);
        for (const event of events) await store.append('club-a', [event]);

        const expected = events.filter((event) => event.id !== parked).map((event) => event.id);
        await waitFor(
          () => expected.every((id) => handledBy.has(id)),
          'every event but the parked one was handled',
        );
        await waitFor(
          () => (retryCounts.get(parked ?? '') ?? []).length === 1,
          'the parked event was refused',
        );
        expect(expected.map((id) => handledBy.get(id)?.length)).toEqual(expected.map(() => 1));
        expect(new Set([...handledBy.values()].flat())).toEqual(new Set(['a', 'b']));
        expect(retryCounts.get(retried ?? '')).toEqual([0, 1]);
        expect((await control.parked({ group: `${streamPrefix}${group}` })).parked).toEqual([
          { eventId: parked, reason: 'cannot send this referral' },
        ]);
        expect([...retryCounts.keys()].every((id) => events.some((event) => event.id === id))).toBe(true);
        expect((await control.receivedFilters({ connectionName: name })).filters).toContainEqual(
          expect.objectContaining({
            call: 'persistentCreate',
            on: 'streamName',
            prefixes: [`${streamPrefix}club-`],
          }),
        );
      } finally {
        for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
        await groups.deleteGroup(group);
        await groups.close();
      }
    });

    it('translates the server’s answers about groups', async () => {
      const name = connectionName();
      const groups = createPersistentSubscriptions({
        connectionString: withName(double.connectionString, name),
      });
      try {
        await groups.createGroup('alerts');
        expect(String(await failureOf(() => groups.createGroup('alerts')))).toMatch(/exists already/);
        const missing = await new Promise<unknown>((resolve) => {
          subscriptions.push(groups.subscribe('no-such-group').subscribe({ error: resolve }));
        });
        expect(isStoreError(missing) && missing.message).toMatch(
          /does not exist\. Create it with createGroup/,
        );
        await groups.deleteGroup('alerts');
        await control.setFeatures({ features: { persistentSubscriptionsToAll: false } });
        const old = createPersistentSubscriptions({ connectionString: double.connectionString });
        expect(String(await failureOf(() => old.createGroup('alerts')))).toMatch(/too old.*21\.10/);
        await old.close();
      } finally {
        await groups.close();
      }
    });
  });
});

describe('what the EventStoreDB double answers (our model of the server, checked through the real client)', () => {
  const raw = EventStoreDBClient.connectionString(double.connectionString);
  afterAll(() => raw.dispose());
  const stream = () => `double-${uuidv4()}`;
  const event = (id = uuidv4()) => jsonEvent({ id, type: 'Probe', data: {} });

  it('applies EventStoreDB’s idempotency rule for "any": ids in order or not, first id unknown, later id unknown', async () => {
    const name = stream();
    const [a, b] = [event(), event()];
    const first = await raw.appendToStream(name, [a, b]);
    expect(first.nextExpectedRevision).toBe(1n);
    // Every id known in this stream: a retry, whatever the order; nothing is written.
    expect(await raw.appendToStream(name, [b, a])).toMatchObject({ success: true, nextExpectedRevision: 0n });
    // A later id unknown: "corrupted idempotency", reported as a wrong expected version.
    expect(await failureOf(() => raw.appendToStream(name, [a, event()]))).toMatchObject({
      type: 'wrong-expected-version',
    });
    // The first id unknown in this stream: written again, even though it is stored elsewhere.
    expect((await raw.appendToStream(`${name}-other`, [a])).nextExpectedRevision).toBe(0n);
    expect(await collect(raw.readStream(name))).toHaveLength(2);
  });

  it('reads a stream with each event’s own commit position, and $all backwards from the end', async () => {
    const name = stream();
    const result = await raw.appendToStream(name, [event(), event()]);
    const [last] = await collect(
      raw.readStream(name, { direction: BACKWARDS, fromRevision: END, maxCount: 1 }),
    );
    expect(last?.event?.position?.commit).toBe(result.position?.commit);
    const [tail] = await collect(raw.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 }));
    expect(tail?.commitPosition).toBeGreaterThanOrEqual(result.position?.commit ?? 0n);
  });
});
