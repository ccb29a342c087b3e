import {
  parse as uuidParse,
  stringify as uuidStringify,
  validate as uuidValidate,
  version as uuidVersion,
  v5 as uuidv5,
  v7 as uuidv7,
} from 'uuid';
import type { Command, Decider } from '../deciders/decider.js';
import { isConcurrencyError, isStreamNotFoundError } from '../errors/errors.js';
import { defaultEventRegistry } from '../events/defaultRegistry.js';
import type { DomainEvent, NewEvent } from '../events/envelope.js';
import type { EventRegistry } from '../events/registry.js';
import type { EventStore, ExpectedRevision } from '../store/eventStore.js';

/** Namespace for event ids derived from a command id (uuid v5). */
const COMMAND_EVENT_NAMESPACE = '3d1c7f0e-5a44-4f1b-9b0e-6c1f2a8d7e55';

export interface HandleCommandOptions<TCommand extends Command, TState, TEvent extends DomainEvent> {
  store: EventStore;
  decider: Decider<TCommand, TState, TEvent>;
  streamId: string;
  command: TCommand;
  /** How many times to reload, decide and append again after a ConcurrencyError. Default 3. */
  maxRetries?: number;
  /** Supplies each event's schema version. Default: the event catalog. */
  registry?: EventRegistry;
}

export interface CommandResult<TState, TEvent extends DomainEvent> {
  /** The stream's state after the new events. */
  state: TState;
  /** The events the decider produced, as appended. */
  events: NewEvent<TEvent['type'], TEvent['data']>[];
  nextExpectedRevision: bigint | 'noStream';
  /** False when the command's events were already stored (a resent command) or it produced none. */
  written: boolean;
}

const loadStream = async <TState, TEvent extends DomainEvent>(
  store: EventStore,
  streamId: string,
  decider: Decider<never, TState, TEvent>,
  lookFor: string | undefined,
): Promise<{ state: TState; revision: bigint | 'noStream'; alreadyHandled: boolean }> => {
  let state = decider.initialState();
  let revision: bigint | 'noStream' = 'noStream';
  let alreadyHandled = false;
  try {
    for await (const event of store.readStream(streamId)) {
      state = decider.evolve(state, event as unknown as TEvent);
      revision = event.revision;
      if (event.id === lookFor) alreadyHandled = true;
    }
  } catch (error) {
    if (!isStreamNotFoundError(error)) throw error;
  }
  return { state, revision, alreadyHandled };
};

/**
 * The id of a command's `index`-th event: a name-based uuid of the command id, so a resent
 * command yields the same ids. When the command id is a time-ordered uuid v7, the event id keeps
 * its 48-bit timestamp and is a v7 itself, so stores' indexes of ids still grow at their end.
 */
const eventIdFor = (commandId: string, index: number): string => {
  const bytes = uuidv5(`${commandId}/${index}`, COMMAND_EVENT_NAMESPACE, new Uint8Array(16));
  if (uuidValidate(commandId) && uuidVersion(commandId) === 7) {
    bytes.set(uuidParse(commandId).subarray(0, 6));
    bytes[6] = 0x70 | ((bytes[6] ?? 0) & 0x0f);
  }
  return uuidStringify(bytes);
};

const toNewEvents = <TEvent extends DomainEvent>(
  events: readonly TEvent[],
  command: Command,
  registry: EventRegistry,
): NewEvent<TEvent['type'], TEvent['data']>[] => {
  const correlationId = command.metadata.correlationId ?? command.metadata.commandId ?? uuidv7();
  return events.map((event, index) => ({
    id: command.metadata.commandId ? eventIdFor(command.metadata.commandId, index) : uuidv7(),
    type: event.type,
    data: event.data,
    metadata: {
      occurredAt: command.metadata.occurredAt,
      recordedBy: command.metadata.recordedBy,
      correlationId,
      ...(command.metadata.commandId ? { causationId: command.metadata.commandId } : {}),
      schemaVersion: registry.get(event.type)?.schemaVersion ?? 1,
    },
  }));
};

/**
 * Loads a stream, decides, and appends the new events with the revision it loaded. When
 * another writer got there first it loads and decides again, up to `maxRetries` times. A
 * command with a `commandId` whose events are already in the stream is answered from the
 * stream without deciding again, so a device may resend it safely.
 */
export const handleCommand = async <TCommand extends Command, TState, TEvent extends DomainEvent>(
  options: HandleCommandOptions<TCommand, TState, TEvent>,
): Promise<CommandResult<TState, TEvent>> => {
  const { store, decider, streamId, command } = options;
  const maxRetries = options.maxRetries ?? 3;
  const registry = options.registry ?? defaultEventRegistry;
  const { commandId } = command.metadata;
  for (let attempt = 0; ; attempt++) {
    const { state, revision, alreadyHandled } = await loadStream(
      store,
      streamId,
      decider as Decider<never, TState, TEvent>,
      commandId === undefined ? undefined : eventIdFor(commandId, 0),
    );
    // A resent command (same commandId) whose events are already stored is not decided again.
    if (alreadyHandled) return { state, events: [], nextExpectedRevision: revision, written: false };
    const decided = decider.decide(command, state);
    const events = toNewEvents(decided, command, registry);
    const newState = decided.reduce(decider.evolve, state);
    if (events.length === 0) {
      return { state, events, nextExpectedRevision: revision, written: false };
    }
    const expectedRevision: ExpectedRevision = revision;
    try {
      const result = await store.append(streamId, events, { expectedRevision });
      return {
        state: newState,
        events,
        nextExpectedRevision: result.nextExpectedRevision,
        written: result.written,
      };
    } catch (error) {
      if (!isConcurrencyError(error) || attempt >= maxRetries) throw error;
    }
  }
};

/**
 * A handler bound to one store and decider: `handle(streamId, command)`.
 */
export const createCommandHandler =
  <TCommand extends Command, TState, TEvent extends DomainEvent>(
    store: EventStore,
    decider: Decider<TCommand, TState, TEvent>,
    options: { maxRetries?: number; registry?: EventRegistry } = {},
  ) =>
  (streamId: string, command: TCommand): Promise<CommandResult<TState, TEvent>> =>
    handleCommand({ store, decider, streamId, command, ...options });
