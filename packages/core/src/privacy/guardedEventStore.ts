import { createHash } from 'node:crypto';
import { Observable, type Subscriber } from 'rxjs';
import { AccessDeniedError, isStreamNotFoundError, StoreError } from '../errors/errors.js';
import type { AuditPurpose, RefusableAction } from '../events/catalog.js';
import { auditPurposes, auditTarget } from '../events/catalog.js';
import { areaLevels, coarsenAreaCode, slugId } from '../events/common.js';
import { defaultEventRegistry } from '../events/defaultRegistry.js';
import type { NewEvent, RecordedEvent } from '../events/envelope.js';
import type { EventRegistry } from '../events/registry.js';
import {
  type AppendOptions,
  type AppendResult,
  type EventFilter,
  type EventStore,
  type ReadAllOptions,
  type ReadStreamOptions,
  type SubscribeOptions,
  streamCategory,
} from '../store/eventStore.js';
import { deepFreeze, parseMaxCount, parseStreamId } from '../store/storeArguments.js';
import {
  type AccessPolicy,
  auditCategory,
  checkPrincipal,
  defaultAccessPolicy,
  describePrincipal,
  type Principal,
  type RoleAccess,
  scopeOf,
} from './access.js';
import { type AuditEntry, type AuditSink, auditTo } from './audit.js';
import { redacted } from './protectedFields.js';

/**
 * An event store seen by one principal. Every read, subscription and append is checked against
 * the access policy: what the role may not see is left out or refused with an AccessDeniedError
 * that says what was refused, why and what to do; fields the role may not see are replaced by
 * `{ redacted: 'not-permitted' }`. Every case-level read (a case or child stream, or a feed that
 * may carry their events), every read of the audit stream and every refusal appends one entry to
 * the audit trail before anything is handed out; if the entry cannot be written, nothing is.
 */

export interface GuardedEventStoreOptions {
  /** Who reads and writes through this store. Its id must fit its role (see `Principal`). */
  principal: Principal;
  /** What each role may do. Default: `defaultAccessPolicy`. */
  policy?: AccessPolicy;
  audit: {
    /** The programme whose audit stream (`audit-{programmeId}`) records this principal's reads. */
    programmeId: string;
    /** Why the principal uses the store, recorded with every entry. */
    purpose: AuditPurpose;
    /** A ticket or request number recorded with every entry. Default: none. */
    reference?: string;
    /** Where entries go. Default: `recordAudit` into the store being guarded. */
    sink?: AuditSink;
  };
  /** Where protected fields are declared (`definition.protection`). Default: `defaultEventRegistry`. */
  registry?: EventRegistry;
}

/** What a principal who may not see a field gets in its place. */
const notPermitted = redacted('not-permitted');

type Data = Record<string, unknown>;

/** The fields an event type declares protected; none until its definition declares `protection`. */
const protectedFieldsOf = (registry: EventRegistry, type: string): readonly string[] =>
  registry.get(type)?.protection?.fields ?? [];

/** A stream name as an audit target: itself when it is a plain name, else a digest of it (never free text). */
const targetOf = (streamId: string): string =>
  auditTarget.safeParse(streamId).success
    ? streamId
    : `stream:sha256:${createHash('sha256').update(streamId).digest('hex').slice(0, 32)}`;

/** True when a stream-name prefix may select streams of the category. */
const prefixReaches = (prefix: string, category: string): boolean =>
  `${category}-`.startsWith(prefix) || prefix.startsWith(`${category}-`);

/** Wraps `eventStore` so that `options.principal` reads and writes only what the policy lets it. */
export const createGuardedEventStore = (
  eventStore: EventStore,
  options: GuardedEventStoreOptions,
): EventStore => {
  const principal = checkPrincipal(options.principal);
  if (!slugId.safeParse(options.audit?.programmeId).success) {
    throw new TypeError(
      'createGuardedEventStore needs audit: { programmeId, purpose }: the programme whose audit stream records what the principal reads.',
    );
  }
  if (!(auditPurposes as readonly unknown[]).includes(options.audit.purpose)) {
    throw new TypeError(
      `createGuardedEventStore: audit purpose ${JSON.stringify(options.audit.purpose)} is not one of ${auditPurposes.join(', ')}.`,
    );
  }
  const policy = options.policy ?? defaultAccessPolicy;
  const registry = options.registry ?? defaultEventRegistry;
  const access: RoleAccess = policy.roles[principal.role];
  const scope = scopeOf(principal);
  const who = describePrincipal(principal);
  const sink = options.audit.sink ?? auditTo(eventStore);
  const caseLevel = new Set(policy.caseLevel);
  const childLinkFields = policy.childLinkFields;
  const areaLevel = access.childLinkedArea;
  if (!(areaLevels as readonly unknown[]).includes(areaLevel)) {
    throw new TypeError(
      `createGuardedEventStore: the policy gives a ${principal.role} childLinkedArea ${JSON.stringify(areaLevel)}; use one of ${areaLevels.join(', ')}.`,
    );
  }
  const areaFields = areaLevel === 'commune' ? [] : (policy.areaFields ?? defaultAccessPolicy.areaFields);
  const staffInScope: ReadonlySet<string> | 'all' =
    scope.kind === 'programme'
      ? 'all'
      : new Set([principal.id, ...(scope.kind === 'team' ? scope.members : [])]);
  const mayReadAudit = access.readAudit && scope.kind === 'programme';
  let closed = false;
  const live = new Set<Subscriber<RecordedEvent>>();

  const requireOpen = (): void => {
    if (closed) {
      throw new StoreError(
        `This guarded view for ${who} is closed. Create a new one with createGuardedEventStore().`,
      );
    }
  };

  const audit = (entry: Pick<AuditEntry, 'action' | 'target'> & { refused?: RefusableAction }) =>
    sink({
      programmeId: options.audit.programmeId,
      principal: { id: principal.id, role: principal.role },
      purpose: options.audit.purpose,
      ...(options.audit.reference === undefined ? {} : { reference: options.audit.reference }),
      ...entry,
    });

  /** Audits the refusal, then returns the error to throw. */
  const refuse = async (
    refused: RefusableAction,
    target: string,
    action: string,
    reason: string,
  ): Promise<AccessDeniedError> => {
    await audit({ action: 'access-denied', target, refused });
    return new AccessDeniedError(who, action, reason);
  };

  const inScopeStaff = (recordedBy: string): boolean =>
    staffInScope === 'all' || staffInScope.has(recordedBy);

  // -------------------------------------------------------------------------------------------
  // Ownership: a case-level stream is in scope when someone in scope recorded one of its events;
  // a child's stream also when an in-scope case-level stream names the child.

  interface Ownership {
    /** Notes an event as it passes: it may bring its stream (and its child) into scope. */
    note(event: RecordedEvent): void;
    has(streamId: string): boolean;
  }

  // Ownership only grows (events are never removed), so the view keeps what it has learnt and
  // each later question reads only the case-level events stored since.
  const owned = new Set<string>();
  /** Children named by case-level streams not (yet) in scope: they come into scope with the stream. */
  const namedByOthers = new Map<string, Set<string>>();
  const ownership: Ownership = {
    note: (event) => {
      const { streamId } = event;
      if (!caseLevel.has(streamCategory(streamId))) return;
      const childRef = (event.data as Data | null)?.childRef;
      if (!owned.has(streamId)) {
        if (!inScopeStaff(event.metadata.recordedBy)) {
          if (typeof childRef === 'string') {
            const named = namedByOthers.get(streamId) ?? new Set<string>();
            named.add(childRef);
            namedByOthers.set(streamId, named);
          }
          return;
        }
        owned.add(streamId);
        for (const child of namedByOthers.get(streamId) ?? []) owned.add(`child-${child}`);
        namedByOthers.delete(streamId);
      }
      if (typeof childRef === 'string') owned.add(`child-${childRef}`);
    },
    has: (streamId) => staffInScope === 'all' || owned.has(streamId),
  };
  /** The position of the last case-level event taken into `ownership`. */
  let learntUpTo: bigint | undefined;
  let learning: Promise<void> = Promise.resolve();

  /** Ownership of every case-level stream stored now: reads what was stored since the last question. */
  const loadOwnership = async (): Promise<Ownership> => {
    if (staffInScope === 'all') return ownership;
    const filter = { streamPrefixes: [...caseLevel].map((c) => `${c}-`) };
    // One reader at a time, each going on from where the last stopped.
    const step = learning.then(async () => {
      const from = learntUpTo;
      for await (const event of eventStore.readAll(
        from === undefined ? { filter } : { filter, after: from },
      )) {
        ownership.note(event);
        learntUpTo = event.position;
      }
    });
    learning = step.catch(() => undefined);
    await step;
    return ownership;
  };

  /** Is one case-level stream in scope? Reads it (and, for a child stream, the cases) as needed. */
  const streamInScope = async (streamId: string): Promise<boolean> => {
    if (staffInScope === 'all') return true;
    let exists = false;
    for await (const event of eventStore.readStream(streamId)) {
      exists = true;
      if (inScopeStaff(event.metadata.recordedBy)) return true;
    }
    if (!exists) return true;
    return (await loadOwnership()).has(streamId);
  };

  // -------------------------------------------------------------------------------------------
  // What the role sees of an event

  /** True when an event is about a child: it is in a case or child stream, or names one. */
  const isChildLinked = (category: string, data: Data): boolean =>
    caseLevel.has(category) ||
    childLinkFields.some((field) => Object.hasOwn(data, field) && data[field] !== undefined);

  const strip = (event: RecordedEvent): RecordedEvent => {
    const hidden = access.protectedFields === 'redacted' ? protectedFieldsOf(registry, event.type) : [];
    const unlinked = access.childLinks === 'redacted';
    const data = event.data as Data | null;
    if (typeof data !== 'object' || data === null) return event;
    const blanked = [...hidden, ...(unlinked ? childLinkFields : [])].filter((field) =>
      Object.hasOwn(data, field),
    );
    const category = streamCategory(event.streamId);
    const renamed = unlinked && caseLevel.has(category);
    // With sex, age band and concerns, a commune can point at one child: cut it to the role's level.
    const coarsened =
      areaFields.length > 0 && isChildLinked(category, data)
        ? areaFields.filter((field) => Object.hasOwn(data, field) && data[field] !== undefined)
        : [];
    if (blanked.length === 0 && coarsened.length === 0 && !renamed && !unlinked) return event;
    const newData: Data = { ...data };
    for (const field of coarsened) {
      const code = data[field];
      newData[field] = typeof code === 'string' ? coarsenAreaCode(code, areaLevel) : notPermitted;
    }
    for (const field of blanked) newData[field] = notPermitted;
    const { correlationId: _c, causationId: _k, ...metadata } = event.metadata;
    return deepFreeze({
      ...event,
      data: newData,
      // Correlation ids tie together the events of one request, so they could tie a child's events.
      metadata: unlinked ? metadata : event.metadata,
      // The stream name of a case or child carries its case number or childRef.
      streamId: renamed ? `${category}-redacted` : event.streamId,
    });
  };

  // -------------------------------------------------------------------------------------------
  // Feeds: readAll and subscribe

  const feedCategories = new Set([
    ...access.feeds.filter((category) => category !== auditCategory),
    ...(mayReadAudit ? [auditCategory] : []),
  ]);
  const sensitive = (category: string) => caseLevel.has(category) || category === auditCategory;

  /** Whether a feed with this filter may carry case-level or audit events to this principal. */
  const feedIsCaseLevel = (filter: EventFilter | undefined): boolean =>
    [...feedCategories]
      .filter(sensitive)
      .some(
        (category) =>
          !filter?.streamPrefixes || filter.streamPrefixes.some((p) => prefixReaches(p, category)),
      );

  const innerFilterOf = (filter: EventFilter | undefined): EventFilter => ({
    ...(filter?.eventTypes ? { eventTypes: filter.eventTypes } : {}),
    streamPrefixes: filter?.streamPrefixes ?? [...feedCategories].map((c) => `${c}-`),
  });

  /** Checks a feed is allowed, audits it; returns the ownership to filter case-level events with. */
  const openFeed = async (
    refused: 'stream-read' | 'subscription',
    filter: EventFilter | undefined,
  ): Promise<Ownership> => {
    requireOpen();
    if (feedCategories.size === 0) {
      throw await refuse(
        refused,
        '$all',
        refused === 'subscription' ? 'subscribe to events' : 'read events',
        `a ${principal.role} is given no events, only ${principal.role === 'donor' ? 'donor and public figures' : 'released figures'}; ask for released indicator figures instead`,
      );
    }
    if (feedIsCaseLevel(filter)) {
      await audit({ action: refused === 'subscription' ? 'subscription' : 'case-read', target: '$all' });
    }
    return loadOwnership();
  };

  const admits = (event: RecordedEvent, ownership: Ownership): boolean => {
    const category = streamCategory(event.streamId);
    if (!feedCategories.has(category)) return false;
    if (caseLevel.has(category)) {
      ownership.note(event);
      return ownership.has(event.streamId);
    }
    return true;
  };

  // -------------------------------------------------------------------------------------------

  const readStream = (streamId: string, readOptions?: ReadStreamOptions): AsyncIterable<RecordedEvent> => ({
    async *[Symbol.asyncIterator]() {
      requireOpen();
      parseStreamId(streamId);
      const category = streamCategory(streamId);
      const target = targetOf(streamId);
      if (category === auditCategory) {
        if (!mayReadAudit) {
          throw await refuse(
            'stream-read',
            target,
            `read ${streamId}`,
            'the audit trail is read by case managers with programme scope only; ask one of them',
          );
        }
        await audit({ action: 'stream-read', target });
      } else if (!access.readStreams.includes(category)) {
        throw await refuse(
          caseLevel.has(category) ? 'case-read' : 'stream-read',
          target,
          `read ${streamId}`,
          access.feeds.includes(category)
            ? `a ${principal.role} reads no ${category} stream by name; subscribe to events instead, where what ties them to a child is redacted`
            : `a ${principal.role} reads no ${category} streams${principal.role === 'donor' ? '; ask for donor figures instead' : ''}`,
        );
      } else if (caseLevel.has(category)) {
        let inScope: boolean;
        try {
          inScope = await streamInScope(streamId);
        } catch (error) {
          if (isStreamNotFoundError(error)) await audit({ action: 'case-read', target });
          throw error;
        }
        if (!inScope) {
          throw await refuse(
            'case-read',
            target,
            `read ${streamId}`,
            `it is not within the principal's ${scope.kind === 'own' ? 'own cases' : 'team'}; ask a case manager to add you to the case's team`,
          );
        }
        await audit({ action: 'case-read', target });
      }
      for await (const event of eventStore.readStream(streamId, readOptions)) yield strip(event);
    },
  });

  const readAll = (readOptions: ReadAllOptions = {}): AsyncIterable<RecordedEvent> => ({
    async *[Symbol.asyncIterator]() {
      const maxCount = parseMaxCount(readOptions.maxCount);
      const ownership = await openFeed('stream-read', readOptions.filter);
      if (maxCount === 0) return;
      let count = 0;
      const inner = {
        ...(readOptions.after === undefined ? {} : { after: readOptions.after }),
        filter: innerFilterOf(readOptions.filter),
      };
      for await (const event of eventStore.readAll(inner)) {
        if (!admits(event, ownership)) continue;
        yield strip(event);
        count += 1;
        if (count >= maxCount) return;
      }
    },
  });

  const subscribe = (subscribeOptions: SubscribeOptions = {}): Observable<RecordedEvent> =>
    new Observable<RecordedEvent>((subscriber) => {
      let stopped = false;
      let innerSubscription: { unsubscribe(): void } | undefined;
      live.add(subscriber);
      openFeed('subscription', subscribeOptions.filter).then(
        (ownership) => {
          if (stopped) return;
          const inner = eventStore.subscribe({
            ...(subscribeOptions.after === undefined ? {} : { after: subscribeOptions.after }),
            filter: innerFilterOf(subscribeOptions.filter),
          });
          innerSubscription = inner.subscribe({
            next: (event) => {
              if (admits(event, ownership)) subscriber.next(strip(event));
            },
            error: (error) => subscriber.error(error),
            complete: () => subscriber.complete(),
          });
        },
        (error: unknown) => subscriber.error(error),
      );
      return () => {
        stopped = true;
        live.delete(subscriber);
        innerSubscription?.unsubscribe();
      };
    });

  const append = async (
    streamId: string,
    events: readonly NewEvent[],
    appendOptions: AppendOptions = {},
  ): Promise<AppendResult> => {
    requireOpen();
    parseStreamId(streamId);
    const category = streamCategory(streamId);
    const target = targetOf(streamId);
    const deny = async (reason: string) => refuse('append', target, `append to ${streamId}`, reason);
    if (category === auditCategory || events.some((event) => event?.type === 'AuditRecorded')) {
      throw await deny(
        'the audit trail is written by Lantern itself as principals read, export, override consent or erase, never appended to directly',
      );
    }
    if (!access.appendTo.includes(category)) {
      throw await deny(`a ${principal.role} records nothing in ${category} streams`);
    }
    const other = events.find((event) => event?.metadata?.recordedBy !== principal.id);
    if (other) {
      throw await deny(
        `event ${String(other.id)} is recorded by ${String(other.metadata?.recordedBy)}; record events under your own pseudonym (${principal.id})`,
      );
    }
    let expectedRevision = appendOptions.expectedRevision ?? 'any';
    if (caseLevel.has(category) && staffInScope !== 'all') {
      let last: bigint | 'noStream' = 'noStream';
      let owned = false;
      try {
        for await (const event of eventStore.readStream(streamId)) {
          last = event.revision;
          if (inScopeStaff(event.metadata.recordedBy)) owned = true;
        }
      } catch (error) {
        if (!isStreamNotFoundError(error)) throw error;
      }
      if (last !== 'noStream' && !owned && !(await loadOwnership()).has(streamId)) {
        throw await deny(
          `it is not within the principal's ${scope.kind === 'own' ? 'own cases' : 'team'}; ask a case manager to add you to the case's team`,
        );
      }
      // A stream found empty must still be empty when written, or its first events are someone else's.
      if (last === 'noStream' && expectedRevision === 'any') expectedRevision = 'noStream';
    }
    return eventStore.append(streamId, events, { ...appendOptions, expectedRevision });
  };

  return {
    append,
    readStream,
    readAll,
    subscribe,
    close: async () => {
      closed = true;
      for (const subscriber of [...live]) subscriber.complete();
      live.clear();
    },
  };
};
