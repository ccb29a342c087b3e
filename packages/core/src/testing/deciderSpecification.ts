import { AssertionError, deepStrictEqual } from 'node:assert';
import type { Decider } from '../deciders/decider.js';
import type { DomainEvent } from '../events/envelope.js';

type ErrorCheck = ((error: unknown) => boolean) | (abstract new (...args: never[]) => Error);

interface Then<TEvent> {
  /** Asserts the command produced exactly these events, in order. */
  then(expected: readonly TEvent[]): void;
  /** Asserts the command was refused; optionally that the error matches a class or predicate. */
  thenThrows(check?: ErrorCheck, messageIncludes?: string): void;
}

interface When<TCommand, TEvent> {
  when(command: TCommand): Then<TEvent>;
}

/**
 * Given/when/then for deciders:
 * `DeciderSpecification.for(decider).given([...events]).when(command).then([...events])`.
 * Test-runner agnostic: failures throw node's AssertionError.
 */
export const DeciderSpecification = {
  for: <TCommand, TState, TEvent extends DomainEvent>(decider: Decider<TCommand, TState, TEvent>) => ({
    given: (events: readonly TEvent[]): When<TCommand, TEvent> => ({
      when: (command: TCommand): Then<TEvent> => {
        const run = (): readonly TEvent[] => {
          const state = events.reduce(decider.evolve, decider.initialState());
          return decider.decide(command, state);
        };
        return {
          // biome-ignore lint/suspicious/noThenProperty: given/when/then is the specification's vocabulary; it is never awaited.
          then: (expected) => {
            deepStrictEqual(run(), expected);
          },
          thenThrows: (check, messageIncludes) => {
            let produced: readonly TEvent[];
            try {
              produced = run();
            } catch (error) {
              if (check) {
                const matches =
                  check.prototype instanceof Error || check === Error
                    ? error instanceof (check as abstract new (...args: never[]) => Error)
                    : (check as (e: unknown) => boolean)(error);
                if (!matches) {
                  throw new AssertionError({
                    message: `The command was refused with an unexpected error: ${String(error)}`,
                    actual: error,
                  });
                }
              }
              if (messageIncludes && !String((error as Error)?.message).includes(messageIncludes)) {
                throw new AssertionError({
                  message: `Expected the error message to include "${messageIncludes}", got: ${(error as Error)?.message}`,
                  actual: (error as Error)?.message,
                  expected: messageIncludes,
                });
              }
              return;
            }
            throw new AssertionError({
              message: `Expected the command to be refused, but it produced ${produced.length} event(s): ${produced.map((e) => e.type).join(', ') || '(none)'}`,
              actual: produced,
            });
          },
        };
      },
    }),
  }),
};
