import { concatMap, type Observable } from 'rxjs';
import { isRuleViolationError, KeyStoreError, ValidationError } from '../errors/errors.js';
import { childRef as childRefSchema } from '../events/common.js';
import { defaultEventRegistry } from '../events/defaultRegistry.js';
import type { EventDefinition } from '../events/defineEvent.js';
import { validationErrorFrom } from '../events/defineEvent.js';
import { eventId as eventIdSchema, type NewEvent, type RecordedEvent } from '../events/envelope.js';
import type { EventRegistry } from '../events/registry.js';
import type { EventStore, ReadAllOptions } from '../store/eventStore.js';
import type { DataKeyLookup, KeyStore } from './keyStore.js';
import {
  checkPlaintext,
  checkProtection,
  type EventProtection,
  isRedacted,
  isSealedField,
  type PlaintextRule,
  type ProtectedFieldRules,
  type ProtectedText,
  type Redacted,
  type RedactionReason,
  redacted,
  type SealedField,
} from './protectedFields.js';
import { openText, type SealingContext, sealText } from './sealing.js';

/** Told whenever a protected field reads back redacted for a reason other than `not-permitted`. */
export interface RedactionNotice {
  readonly eventId: string;
  readonly eventType: string;
  readonly streamId: string;
  readonly field: string;
  readonly reason: RedactionReason;
  /** The key store's error, when it could not be asked (the field then reads `no-key`). */
  readonly error?: unknown;
}

export interface ProtectedEventStoreOptions {
  /** Where the children's data keys are. Required: without it nothing protected can be sealed or read. */
  keyStore: KeyStore;
  /** The registry whose event definitions say which fields are protected. Default: `defaultEventRegistry`. */
  registry?: EventRegistry;
  /**
   * Called (synchronously, never awaited) for each protected field read back `erased`, `no-key`
   * or `tampered`, e.g. to log tampering or a key store outage. It is given ids and names,
   * never text. Default: none.
   */
  onRedacted?: (notice: RedactionNotice) => void;
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Each protected field's plaintext rule, by event definition (read from its schema once). */
const rulesByDefinition = new WeakMap<object, ProtectedFieldRules>();

const ruleFor = (definition: EventDefinition, field: string): PlaintextRule => {
  let rules = rulesByDefinition.get(definition);
  if (!rules) {
    rules = checkProtection(definition.type, definition.schema, definition.protection as EventProtection);
    rulesByDefinition.set(definition, rules);
  }
  const rule = rules.get(field);
  if (!rule) throw new TypeError(`${definition.type}: "${field}" is not a protected field.`);
  return rule;
};

const protectionOf = (registry: EventRegistry, type: string) => {
  const definition = registry.get(type);
  const protection = definition?.protection;
  return protection && definition ? { definition, protection } : undefined;
};

const readLookup = async (
  keyStore: KeyStore,
  childRef: unknown,
): Promise<DataKeyLookup | { status: 'failed'; error: unknown }> => {
  if (typeof childRef !== 'string') return { status: 'missing' };
  try {
    return await keyStore.get(childRef);
  } catch (error) {
    return { status: 'failed', error };
  }
};

/** Opens one sealed value with a lookup already made; never throws. */
const openWith = (
  lookup: DataKeyLookup | { status: 'failed'; error: unknown },
  value: unknown,
  context: SealingContext,
): { text: string } | { reason: RedactionReason; error?: unknown } => {
  if (isRedacted(value)) return { reason: value.redacted };
  if (!isSealedField(value)) return { reason: 'tampered' };
  switch (lookup.status) {
    case 'erased':
      return { reason: 'erased' };
    case 'missing':
      return { reason: 'no-key' };
    case 'failed':
      return { reason: 'no-key', error: lookup.error };
    default:
      try {
        return { text: openText(lookup.key, value, context) };
      } catch {
        return { reason: 'tampered' };
      }
  }
};

export interface OpenSealedFieldOptions {
  keyStore: KeyStore;
  /** The child whose key sealed the value. */
  childRef: string;
  /** Where the value was sealed: the event's id and type, and the field. */
  eventId: string;
  eventType: string;
  field: string;
  /** The stored value: a sealed field, or a redaction marker (given back as it is). */
  value: unknown;
}

/**
 * Opens one stored protected value, e.g. one a read model kept sealed: the plaintext, or a
 * redaction marker (`erased`, `no-key`, `tampered`). Never throws.
 */
export const openSealedField = async (options: OpenSealedFieldOptions): Promise<string | Redacted> => {
  const lookup = isSealedField(options.value)
    ? await readLookup(options.keyStore, options.childRef)
    : ({ status: 'missing' } as const);
  try {
    const opened = openWith(lookup, options.value, options);
    return 'text' in opened ? opened.text : redacted(opened.reason);
  } finally {
    if (lookup.status === 'active') lookup.key.fill(0);
  }
};

/**
 * Replaces every protected field of an event with a redaction marker, e.g. `not-permitted` for
 * a reader whose role may not see them. Events without protected fields are returned as they are.
 */
export const redactProtectedFields = <TEvent extends { type: string; data: unknown }>(
  event: TEvent,
  reason: RedactionReason,
  registry: EventRegistry = defaultEventRegistry,
): TEvent => {
  const found = protectionOf(registry, event.type);
  if (!found || typeof event.data !== 'object' || event.data === null) return event;
  const data = event.data as Record<string, unknown>;
  const present = found.protection.fields.filter(
    (field) => Object.hasOwn(data, field) && data[field] !== undefined,
  );
  if (present.length === 0) return event;
  return {
    ...event,
    data: { ...data, ...Object.fromEntries(present.map((field) => [field, redacted(reason)])) },
  };
};

/**
 * An event store that seals protected fields on append and opens them on read. Appends: each
 * protected field given as plaintext is checked against its `protectedText` rule and sealed with
 * the subject child's data key (made on first use) before the batch goes to `eventStore`, which
 * never sees the plaintext; a key store that fails refuses the whole batch with a KeyStoreError,
 * and a child whose data was erased refuses it with a RuleViolationError. Reads and
 * subscriptions: each protected field reads back as its plaintext, or as `{ redacted: 'erased' }`
 * (the child's data was erased), `{ redacted: 'no-key' }` (no key, or the key store could not be
 * reached) or `{ redacted: 'tampered' }` (it does not authenticate). Reading never throws for
 * these and a subscription never stops for them.
 *
 * Projections that keep protected fields (the case file) read `eventStore` itself, so that their
 * read models hold only sealed values. `close` closes `eventStore`, not the key store.
 */
export const createProtectedEventStore = (
  eventStore: EventStore,
  options: ProtectedEventStoreOptions,
): EventStore => {
  if (typeof eventStore?.append !== 'function') {
    throw new TypeError(
      'createProtectedEventStore needs the event store to wrap, e.g. createSqliteEventStore({ path }).',
    );
  }
  const keyStore = options?.keyStore;
  if (typeof keyStore?.getOrCreate !== 'function' || typeof keyStore.get !== 'function') {
    throw new TypeError(
      'createProtectedEventStore needs a keyStore (createSqliteKeyStore, createMemoryKeyStore or createEnvelopeKeyStore): without one, protected fields can be neither sealed nor read.',
    );
  }
  const registry = options.registry ?? defaultEventRegistry;
  const notify = options.onRedacted;

  /** Seals the plaintext of every protected field of a batch; the key store failing refuses it all. */
  const sealBatch = async (events: readonly NewEvent[]): Promise<NewEvent[]> => {
    // Not a list: the store's own checks say what is wrong with it.
    if (!Array.isArray(events)) return events as NewEvent[];
    const keys = new Map<string, Uint8Array>();
    const keyFor = async (type: string, childRef: string): Promise<Uint8Array> => {
      const held = keys.get(childRef);
      if (held) return held;
      let key: Uint8Array;
      try {
        key = await keyStore.getOrCreate(childRef);
      } catch (error) {
        // A child whose data was erased: the key store's own words say what to do.
        if (isRuleViolationError(error)) throw error;
        throw new KeyStoreError(
          `Cannot seal ${type}'s protected fields: the key store failed (${messageOf(error)}). ` +
            'Nothing of this batch was appended; retry once the key store is reachable.',
          { cause: error },
        );
      }
      keys.set(childRef, key);
      return key;
    };
    try {
      const out: NewEvent[] = [];
      for (const event of events) {
        const found = event && typeof event === 'object' ? protectionOf(registry, event.type) : undefined;
        const data = found && typeof event.data === 'object' && event.data !== null ? event.data : undefined;
        if (!found || !data) {
          out.push(event);
          continue;
        }
        const record = data as Record<string, unknown>;
        const { definition, protection } = found;
        const given = protection.fields.filter((field) => Object.hasOwn(record, field));
        for (const field of given) {
          if (isRedacted(record[field])) {
            throw new ValidationError(
              event.type,
              `data.${field}`,
              'is a redaction marker',
              'a redacted value cannot be stored; send the text, or leave the field out',
            );
          }
        }
        const plaintexts = given.filter((field) => typeof record[field] === 'string');
        if (plaintexts.length === 0) {
          out.push(event);
          continue;
        }
        for (const field of plaintexts) {
          checkPlaintext(event.type, field, ruleFor(definition, field), record[field] as string);
        }
        const childRef = record[protection.subject];
        const subject = childRefSchema.safeParse(childRef);
        if (!subject.success)
          throw validationErrorFrom(event.type, subject.error, `data.${protection.subject}`);
        const eventId = eventIdSchema.safeParse(event.id);
        if (!eventId.success) throw validationErrorFrom(event.type, eventId.error, 'id');
        const key = await keyFor(event.type, childRef as string);
        const sealed: Record<string, SealedField> = {};
        for (const field of plaintexts) {
          sealed[field] = sealText(key, record[field] as string, {
            eventId: event.id,
            eventType: event.type,
            field,
          });
        }
        out.push({ ...event, data: { ...record, ...sealed } });
      }
      return out;
    } finally {
      for (const key of keys.values()) key.fill(0);
    }
  };

  const open = async (event: RecordedEvent): Promise<RecordedEvent> => {
    const found = protectionOf(registry, event.type);
    if (!found || typeof event.data !== 'object' || event.data === null) return event;
    const data = event.data as Record<string, unknown>;
    const fields = found.protection.fields.filter(
      (field) => Object.hasOwn(data, field) && data[field] !== undefined,
    );
    if (fields.length === 0) return event;
    const childRef = data[found.protection.subject];
    const lookup = fields.some((field) => isSealedField(data[field]))
      ? await readLookup(keyStore, childRef)
      : ({ status: 'missing' } as const);
    try {
      const opened: Record<string, ProtectedText> = {};
      for (const field of fields) {
        const result = openWith(lookup, data[field], { eventId: event.id, eventType: event.type, field });
        if ('text' in result) {
          opened[field] = result.text;
          continue;
        }
        opened[field] = redacted(result.reason);
        if (notify && result.reason !== 'not-permitted') {
          try {
            notify({
              eventId: event.id,
              eventType: event.type,
              streamId: event.streamId,
              field,
              reason: result.reason,
              ...(result.error === undefined ? {} : { error: result.error }),
            });
          } catch {
            // A listener's fault must not cost the reader its event.
          }
        }
      }
      return { ...event, data: { ...data, ...opened } };
    } finally {
      if (lookup.status === 'active') lookup.key.fill(0);
    }
  };

  /** `open` never throws by design; should it, the event still goes out, its protected fields withheld. */
  const openSafely = (event: RecordedEvent): Promise<RecordedEvent> =>
    open(event).catch(() => redactProtectedFields(event, 'no-key', registry));

  /** The inner store's pages, each event with protected fields opened; the others pass as they are. */
  const pagesOpened =
    (readPages: NonNullable<EventStore['readAllPages']>) =>
    (readOptions?: ReadAllOptions): AsyncIterable<readonly RecordedEvent[]> => {
      const inner = readPages(readOptions);
      return {
        async *[Symbol.asyncIterator]() {
          for await (const page of inner) {
            const opened: RecordedEvent[] = [];
            for (const event of page) {
              opened.push(protectionOf(registry, event.type) ? await openSafely(event) : event);
            }
            yield opened;
          }
        },
      };
    };

  return {
    append: async (streamId, events, appendOptions) =>
      eventStore.append(streamId, await sealBatch(events), appendOptions),
    readStream: (streamId, readOptions) => {
      const inner = eventStore.readStream(streamId, readOptions);
      return {
        async *[Symbol.asyncIterator]() {
          for await (const event of inner) yield await openSafely(event);
        },
      };
    },
    readAll: (readOptions) => {
      const inner = eventStore.readAll(readOptions);
      return {
        async *[Symbol.asyncIterator]() {
          for await (const event of inner) yield await openSafely(event);
        },
      };
    },
    ...(eventStore.readAllPages
      ? { readAllPages: pagesOpened(eventStore.readAllPages.bind(eventStore)) }
      : {}),
    subscribe: (subscribeOptions): Observable<RecordedEvent> =>
      eventStore.subscribe(subscribeOptions).pipe(concatMap((event) => openSafely(event))),
    close: () => eventStore.close(),
  };
};
