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
