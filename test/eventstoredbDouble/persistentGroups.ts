import type { DoubleLog, StoredEvent } from './doubleLog.js';

/**
 * Persistent subscription groups to $all, as the EventStoreDB double models them: the server keeps
 * each group's place in the log and hands events to the group's connected consumers (competing
 * consumers), each holding at most `bufferSize` unacknowledged events. Acknowledged events are
 * done; `nack('retry')` (and a message timeout, and a consumer leaving) hands an event out again
 * with its retry count one higher; past `maxRetryCount`, or on `nack('park')`, it is parked.
 *
 * Not modelled: checkpoints written to `$persistentsubscription-…-checkpoint` (a group lives as long
 * as the double), parked events written to the `…-parked` stream (they are kept in memory and
 * readable through the control plane), replaying parked events, the Pinned strategies' hashing
 * (every strategy dispatches round robin), and statistics.
 */

export interface GroupSettings {
  readonly start: 'start' | 'end' | bigint;
  readonly matches: (event: StoredEvent) => boolean;
  readonly maxRetryCount: number;
  readonly messageTimeoutMs: number;
  /** 0 = unbounded. */
  readonly maxSubscriberCount: number;
}

export interface Consumer {
  readonly bufferSize: number;
  deliver(event: StoredEvent, retryCount: number): void;
  /** Ends the consumer's call, with an error kind when the server drops it. */
  end(reason?: 'dropped'): void;
}

export interface ConsumerHandle {
  ack(eventIds: readonly string[]): void;
  nack(
    eventIds: readonly string[],
    action: 'park' | 'retry' | 'skip' | 'stop' | 'unknown',
    reason: string,
  ): void;
  /** The consumer left: its unacknowledged events go to the others. */
  leave(): void;
}

interface InFlight {
  readonly event: StoredEvent;
  readonly retryCount: number;
  readonly consumer: Consumer;
  readonly timer: NodeJS.Timeout;
}

interface Group {
  readonly name: string;
  readonly settings: GroupSettings;
  /** Index in the log of the next event to consider. */
  cursor: number;
  readonly retries: { event: StoredEvent; retryCount: number }[];
  readonly inFlight: Map<string, InFlight>;
  readonly parked: { eventId: string; reason: string }[];
  readonly consumers: Consumer[];
  nextConsumer: number;
}

export interface PersistentGroups {
  create(name: string, settings: GroupSettings): 'created' | 'exists';
  delete(name: string): 'deleted' | 'notFound';
  join(name: string, consumer: Consumer): ConsumerHandle | 'notFound' | 'full';
  parked(name: string): { eventId: string; reason: string }[];
  /** Stops every timer and ends every consumer. */
  dispose(): void;
}

export const createPersistentGroups = (log: DoubleLog): PersistentGroups => {
  const groups = new Map<string, Group>();

  const nextFromLog = (group: Group): StoredEvent | undefined => {
    while (group.cursor < log.all.length) {
      const event = log.all[group.cursor];
      group.cursor += 1;
      if (event && group.settings.matches(event)) return event;
    }
    return undefined;
  };

  const park = (group: Group, event: StoredEvent, reason: string): void => {
    group.parked.push({ eventId: event.id, reason });
  };

  const retry = (group: Group, event: StoredEvent, retryCount: number, why: string): void => {
    if (retryCount > group.settings.maxRetryCount)
      park(group, event, `${why}; retried ${retryCount - 1} times`);
    else group.retries.push({ event, retryCount });
  };

  const pickConsumer = (group: Group): Consumer | undefined => {
    const { consumers } = group;
    for (let tried = 0; tried < consumers.length; tried += 1) {
      const index = (group.nextConsumer + tried) % consumers.length;
      const consumer = consumers[index];
      if (!consumer) continue;
      const load = [...group.inFlight.values()].filter((entry) => entry.consumer === consumer).length;
      if (load < consumer.bufferSize) {
        group.nextConsumer = (index + 1) % consumers.length;
        return consumer;
      }
    }
    return undefined;
  };

  const dispatch = (group: Group): void => {
    while (groups.get(group.name) === group) {
      const consumer = pickConsumer(group);
      if (!consumer) return;
      const next =
        group.retries.shift() ??
        (() => {
          const event = nextFromLog(group);
          return event ? { event, retryCount: 0 } : undefined;
        })();
      if (!next) return;
      const timer = setTimeout(() => {
        if (group.inFlight.get(next.event.id)?.timer !== timer) return;
        group.inFlight.delete(next.event.id);
        retry(group, next.event, next.retryCount + 1, 'message timeout');
        dispatch(group);
      }, group.settings.messageTimeoutMs);
      timer.unref();
      group.inFlight.set(next.event.id, { event: next.event, retryCount: next.retryCount, consumer, timer });
      consumer.deliver(next.event, next.retryCount);
    }
  };

  log.onAppend(() => {
    for (const group of groups.values()) dispatch(group);
  });

  const settle = (group: Group, consumer: Consumer, eventId: string): InFlight | undefined => {
    const entry = group.inFlight.get(eventId);
    if (!entry || entry.consumer !== consumer) return undefined;
    clearTimeout(entry.timer);
    group.inFlight.delete(eventId);
    return entry;
  };

  const removeConsumer = (group: Group, consumer: Consumer): void => {
    const index = group.consumers.indexOf(consumer);
    if (index < 0) return;
    group.consumers.splice(index, 1);
    for (const [eventId, entry] of [...group.inFlight]) {
      if (entry.consumer !== consumer) continue;
      settle(group, consumer, eventId);
      retry(group, entry.event, entry.retryCount + 1, 'the consumer left');
    }
    dispatch(group);
  };

  return {
    create: (name, settings) => {
      if (groups.has(name)) return 'exists';
      const cursor =
        settings.start === 'start'
          ? 0
          : settings.start === 'end'
            ? log.all.length
            : log.indexAtOrAfter(settings.start);
      groups.set(name, {
        name,
        settings,
        cursor,
        retries: [],
        inFlight: new Map(),
        parked: [],
        consumers: [],
        nextConsumer: 0,
      });
      return 'created';
    },
    delete: (name) => {
      const group = groups.get(name);
      if (!group) return 'notFound';
      groups.delete(name);
      for (const entry of group.inFlight.values()) clearTimeout(entry.timer);
      for (const consumer of [...group.consumers]) consumer.end('dropped');
      return 'deleted';
    },
    join: (name, consumer) => {
      const group = groups.get(name);
      if (!group) return 'notFound';
      const { maxSubscriberCount } = group.settings;
      if (maxSubscriberCount > 0 && group.consumers.length >= maxSubscriberCount) return 'full';
      group.consumers.push(consumer);
      queueMicrotask(() => dispatch(group));
      return {
        ack: (eventIds) => {
          for (const eventId of eventIds) settle(group, consumer, eventId);
          dispatch(group);
        },
        nack: (eventIds, action, reason) => {
          for (const eventId of eventIds) {
            const entry = settle(group, consumer, eventId);
            if (!entry) continue;
            if (action === 'park') park(group, entry.event, reason);
            else if (action === 'retry') retry(group, entry.event, entry.retryCount + 1, reason);
            else if (action === 'stop' || action === 'unknown') {
              retry(group, entry.event, entry.retryCount + 1, reason);
            }
          }
          if (action === 'stop') {
            removeConsumer(group, consumer);
            consumer.end();
          }
          dispatch(group);
        },
        leave: () => removeConsumer(group, consumer),
      };
    },
    parked: (name) => [...(groups.get(name)?.parked ?? [])],
    dispose: () => {
      for (const name of [...groups.keys()]) {
        const group = groups.get(name);
        if (!group) continue;
        groups.delete(name);
        for (const entry of group.inFlight.values()) clearTimeout(entry.timer);
        for (const consumer of [...group.consumers]) consumer.end('dropped');
      }
    },
  };
};
