import {
  DISPATCH_TO_SINGLE,
  END,
  type PersistentSubscriptionToAll,
  type PersistentSubscriptionToAllResolvedEvent,
  PINNED,
  persistentSubscriptionToAllSettingsFromDefaults,
  ROUND_ROBIN,
  START,
} from '@eventstore/db-client';
import type { EventFilter, EventRegistry, RecordedEvent } from '@lantern/core';
import { defaultEventRegistry, StoreError } from '@lantern/core';
import { Observable } from 'rxjs';
import { type EventStoreDBConnection, openConnection } from './connection.js';
import { positionOf, toRecordedEvent } from './eventMapping.js';
import { type ResubscribeOptions, resubscription } from './resubscription.js';
import { clientFilter, planFilter } from './serverFilter.js';
import { createInbox } from './subscriptionInbox.js';
import { isTransientError, translateError } from './translateError.js';

/**
 * Persistent subscriptions to $all: EventStoreDB keeps a group's place in the log and shares the
 * group's events among its connected consumers (competing consumers), so several workers split one
 * flow of work — sending referral notifications, say — and an event a worker fails on is retried or
 * parked by the server. Each delivery must be acknowledged (`ack`) or refused (`nack`).
 */

export interface PersistentSubscriptionsOptions {
  /** The event types deliveries are read with (validated and upcast). Default: `defaultEventRegistry`. */
  registry?: EventRegistry;
  /**
   * The same prefix as the event store's `streamPrefix`: groups see only its streams, and group names
   * get it too, so stores sharing a server do not share groups. Default: `''`.
   */
  streamPrefix?: string;
  /** What a consumer does when its call drops. Defaults: see ResubscribeOptions. */
  resubscribe?: ResubscribeOptions;
}

export interface PersistentGroupSettings {
  /** Where a new group starts: at the first event (`start`), or with events appended after it is created (`end`). Default: `end`, as EventStoreDB. */
  from?: 'start' | 'end';
  /**
   * Which events the group gets, filtered by the server: stream prefixes or event types (one
   * clause; EventStoreDB cannot combine them in a group). Default: every event of the store.
   */
  filter?: EventFilter;
  /** How many times the server hands an event out again before parking it. Default: `10`. */
  maxRetryCount?: number;
  /** How long a consumer may hold an event unacknowledged before the server retries it, in milliseconds. Default: `30_000`. */
  messageTimeoutMs?: number;
  /** How the server shares events among consumers. Default: `RoundRobin`. */
  consumerStrategy?: 'RoundRobin' | 'DispatchToSingle' | 'Pinned';
  /** The most consumers connected at once; 0 for no limit. Default: `0`. */
  maxSubscriberCount?: number;
}

export interface PersistentSubscribeOptions {
  /** How many events the server hands this consumer before it acknowledges any. Default: `10`. */
  bufferSize?: number;
}

/** One event handed to this consumer. Acknowledge it when handled, or refuse it. */
export interface PersistentDelivery {
  readonly event: RecordedEvent;
  /** How many times the server handed this event out before (0 the first time). */
  readonly retryCount: number;
  /** Done: the server will not hand it out again. */
  ack(): Promise<void>;
  /**
   * Not done: `retry` hands it out again (to this or another consumer, counting towards
   * maxRetryCount); `park` moves it to the group's parked messages, for a person to look at.
   */
  nack(action: 'park' | 'retry', reason: string): Promise<void>;
}

export interface PersistentSubscriptions {
  /** Creates a group on $all; the server filters it as readAll does (see the README). */
  createGroup(group: string, settings?: PersistentGroupSettings): Promise<void>;
  /** Joins a group as one more consumer. Unsubscribing leaves; unacknowledged events go to the others. */
  subscribe(group: string, options?: PersistentSubscribeOptions): Observable<PersistentDelivery>;
  deleteGroup(group: string): Promise<void>;
  /** Ends every consumer and, when it created the client, disposes of it. */
  close(): Promise<void>;
}

const strategies = { RoundRobin: ROUND_ROBIN, DispatchToSingle: DISPATCH_TO_SINGLE, Pinned: PINNED } as const;

const checkGroup = (group: unknown): string => {
  if (typeof group !== 'string' || group === '') {
    throw new TypeError('A group name must be a non-empty string such as "referral-notifications".');
  }
  return group;
};

export const createPersistentSubscriptions = (
  connection: EventStoreDBConnection,
  options: PersistentSubscriptionsOptions = {},
): PersistentSubscriptions => {
  const registry = options.registry ?? defaultEventRegistry;
  const streamPrefix = options.streamPrefix ?? '';
  const retry = resubscription(options.resubscribe);
  const { client, owned } = openConnection(connection);
  const closers = new Set<() => void>();
  let closed = false;

  const ensureOpen = (): void => {
    if (closed) {
      throw new StoreError(
        'These persistent subscriptions are closed. Create new ones with createPersistentSubscriptions().',
      );
    }
  };
  const groupName = (group: string): string => `${streamPrefix}${checkGroup(group)}`;

  const createGroup = async (group: string, settings: PersistentGroupSettings = {}): Promise<void> => {
    ensureOpen();
    const { filter } = settings;
    if (filter?.eventTypes !== undefined && filter.streamPrefixes !== undefined) {
      // A consumer may run anywhere, without the group's settings, so it could not check the other clause.
      throw new TypeError(
        'EventStoreDB filters a persistent subscription group on stream names or on event types, not both: give one, and check the other where you handle the events.',
      );
    }
    const plan = planFilter(filter, streamPrefix);
    if (plan.matchesNothing) {
      throw new TypeError(
        'A persistent subscription group needs a filter that can match an event: an empty list matches none.',
      );
    }
    try {
      await client.createPersistentSubscriptionToAll(
        groupName(group),
        persistentSubscriptionToAllSettingsFromDefaults({
          startFrom: settings.from === 'start' ? START : END,
          ...(settings.maxRetryCount === undefined ? {} : { maxRetryCount: settings.maxRetryCount }),
          ...(settings.messageTimeoutMs === undefined ? {} : { messageTimeout: settings.messageTimeoutMs }),
          ...(settings.maxSubscriberCount === undefined
            ? {}
            : { maxSubscriberCount: settings.maxSubscriberCount }),
          consumerStrategyName: strategies[settings.consumerStrategy ?? 'RoundRobin'],
        }),
        { filter: clientFilter(plan.server) },
      );
    } catch (error) {
      throw translateError(error, { action: `create the persistent subscription group "${group}"` });
    }
  };

  const deleteGroup = async (group: string): Promise<void> => {
    ensureOpen();
    try {
      await client.deletePersistentSubscriptionToAll(groupName(group));
    } catch (error) {
      throw translateError(error, { action: `delete the persistent subscription group "${group}"` });
    }
  };

  const subscribe = (
    group: string,
    subscribeOptions: PersistentSubscribeOptions = {},
  ): Observable<PersistentDelivery> => {
    ensureOpen();
    const name = groupName(group);
    const bufferSize = subscribeOptions.bufferSize ?? 10;
    if (!Number.isInteger(bufferSize) || bufferSize < 1) {
      throw new TypeError(`bufferSize must be a whole number of events, 1 or more; got ${bufferSize}.`);
    }
    // The server applies the group's filter; this keeps out system events and other stores' streams.
    const plan = planFilter(undefined, streamPrefix);
    const action = `subscribe to the persistent subscription group "${group}"`;

    return new Observable<PersistentDelivery>((subscriber) => {
      if (closed) {
        subscriber.error(new StoreError('These persistent subscriptions are closed.'));
        return;
      }
      let stopped = false;
      let attempt = 0;
      let timer: NodeJS.Timeout | undefined;
      let current:
        | { subscription: PersistentSubscriptionToAll; inbox: ReturnType<typeof createInbox> }
        | undefined;

      const release = (): void => {
        if (!current) return;
        current.inbox.detach();
        void current.subscription.unsubscribe().catch(() => {});
        current = undefined;
      };
      const stop = (): void => {
        stopped = true;
        clearTimeout(timer);
        closers.delete(complete);
        release();
      };
      const complete = (): void => {
        stop();
        subscriber.complete();
      };
      const fail = (error: unknown): void => {
        stop();
        subscriber.error(error);
      };
      closers.add(complete);

      const settle = async (work: () => Promise<void>, what: string): Promise<void> => {
        try {
          await work();
        } catch (error) {
          throw translateError(error, {
            action: `${what} an event of the group "${group}" (the server will hand it out again)`,
          });
        }
      };

      const dropped = (error: unknown): void => {
        release();
        if (stopped) return;
        if (error !== undefined && !isTransientError(error)) {
          fail(translateError(error, { action }));
          return;
        }
        attempt += 1;
        const delayMs = retry.delayFor(attempt);
        if (delayMs === undefined) {
          fail(
            new StoreError(
              `The consumer of "${group}" dropped and ${attempt - 1} attempts to rejoin failed. Subscribe again once the server is back.`,
              { cause: error },
            ),
          );
          return;
        }
        retry.report({ attempt, delayMs, after: undefined, error });
        timer = setTimeout(connect, delayMs);
      };

      const handle = async (
        subscription: PersistentSubscriptionToAll,
        resolved: PersistentSubscriptionToAllResolvedEvent,
      ): Promise<void> => {
        const event = resolved.event;
        if (!event) return;
        // Not the store's (system events, other prefixes): nothing for this consumer to do.
        if (!plan.accepts(event.streamId, event.type)) {
          await subscription.ack(resolved);
          return;
        }
        let recorded: RecordedEvent;
        try {
          recorded = toRecordedEvent(
            event,
            positionOf(resolved.commitPosition, event.position),
            streamPrefix,
            registry,
          );
        } catch (error) {
          // An event Lantern cannot read would fail every consumer: park it, with the reason.
          await subscription.nack('park', error instanceof Error ? error.message : String(error), resolved);
          return;
        }
        subscriber.next({
          event: recorded,
          retryCount: resolved.retryCount,
          ack: () => settle(() => subscription.ack(resolved), 'acknowledge'),
          nack: (nackAction, reason) => {
            if (nackAction !== 'park' && nackAction !== 'retry') {
              return Promise.reject(
                new TypeError(`nack takes "park" or "retry"; got ${String(nackAction)}.`),
              );
            }
            return settle(() => subscription.nack(nackAction, reason, resolved), `refuse (${nackAction})`);
          },
        });
      };

      const pump = async (joined: NonNullable<typeof current>): Promise<void> => {
        for (;;) {
          const message = await joined.inbox.next();
          if (stopped || current !== joined) return;
          if (message.kind === 'confirmed') attempt = 0;
          else if (message.kind === 'failed') return dropped(message.error);
          else if (message.kind === 'ended') return dropped(undefined);
          else if (message.kind === 'event') {
            await handle(joined.subscription, message.event as PersistentSubscriptionToAllResolvedEvent);
          }
        }
      };

      const connect = (): void => {
        if (stopped) return;
        const subscription = client.subscribeToPersistentSubscriptionToAll(name, { bufferSize });
        const joined = {
          subscription,
          inbox: createInbox<PersistentSubscriptionToAllResolvedEvent>(subscription),
        };
        current = joined;
        pump(joined).catch((error: unknown) => (stopped ? undefined : dropped(error)));
      };

      connect();
      return stop;
    });
  };

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    for (const closer of [...closers]) closer();
    closers.clear();
    if (owned) await client.dispose();
  };

  return { createGroup, subscribe, deleteGroup, close };
};
