import { ValidationError } from '../errors/errors.js';
import { instant } from '../events/common.js';
import type { DomainEvent } from '../events/envelope.js';

/** Who asked for a command, and when it happened in the field. */
export interface CommandMetadata {
  /** When it happened in the field, ISO-8601 with the field's offset. */
  readonly occurredAt: string;
  /** Pseudonym of the staff member who asks. */
  readonly recordedBy: string;
  /**
   * A uuid naming this command. When given, the events it produces get ids derived from it, so
   * a device that resends the same command is told the events are already stored.
   */
  readonly commandId?: string | undefined;
  readonly correlationId?: string | undefined;
}

/** An intention, named in the imperative (`PlaceChildSafely`). */
export interface Command<TType extends string = string, TData = unknown> {
  readonly type: TType;
  readonly data: TData;
  readonly metadata: CommandMetadata;
}

/**
 * An aggregate as plain functions: `decide` turns a command and the current state into new
 * events (or throws a RuleViolationError), `evolve` folds one event into the state.
 */
export interface Decider<TCommand, TState, TEvent extends DomainEvent> {
  readonly initialState: () => TState;
  readonly decide: (command: TCommand, state: TState) => readonly TEvent[];
  readonly evolve: (state: TState, event: TEvent) => TState;
}

/** Folds events into a state from the decider's initial state. */
export const foldEvents = <TState, TEvent extends DomainEvent>(
  decider: Pick<Decider<unknown, TState, TEvent>, 'initialState' | 'evolve'>,
  events: Iterable<TEvent>,
): TState => {
  let state = decider.initialState();
  for (const event of events) state = decider.evolve(state, event);
  return state;
};

/**
 * An event together with the field instant it happened at. Events read from the store always
 * carry it; a decider stamps the events it produces whose date later rules need, so `evolve`
 * can keep those dates in the state. The command handler builds the stored envelope from the
 * command's metadata, so the stamp never reaches the store twice.
 */
export type Stamped<TEvent> = TEvent & { readonly metadata: { readonly occurredAt: string } };

/** The event stamped with the instant it happened at. */
export const stamp = <TEvent extends DomainEvent>(event: TEvent, occurredAt: string): Stamped<TEvent> => ({
  ...event,
  metadata: { occurredAt },
});

/**
 * The command's field instant, checked: rules compare it with the aggregate's dates, so a
 * malformed one must be refused before any rule reads it.
 */
export const occurredAtOf = (command: Command, eventType: string): string => {
  const result = instant.safeParse(command.metadata.occurredAt);
  if (!result.success) {
    throw new ValidationError(
      eventType,
      'metadata.occurredAt',
      result.error.issues[0]?.message ?? 'must be an ISO-8601 date-time with an offset',
    );
  }
  return result.data;
};
