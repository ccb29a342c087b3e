/** One resubscription attempt, as `onRetry` reports it. */
export interface ResubscribeAttempt {
  /** 1 for the first attempt after a drop; back to 1 once the server confirms a subscription. */
  readonly attempt: number;
  /** How long the adapter waits before this attempt. */
  readonly delayMs: number;
  /** The position the subscription resumes after (the last one delivered or skipped), if any. */
  readonly after: bigint | undefined;
  /** Why the previous call ended; undefined when the server ended it without an error. */
  readonly error: unknown;
}

/** What a subscription does when its call drops (server restart, leader change, network). */
export interface ResubscribeOptions {
  /** Wait before the first attempt, in milliseconds; each further attempt waits twice as long. Default: `100`. */
  initialDelayMs?: number;
  /** The longest wait between attempts, in milliseconds. Default: `5_000`. */
  maxDelayMs?: number;
  /**
   * Attempts in a row, without the server confirming a subscription, before the subscription
   * fails with a StoreError (subscribe again from the last position you handled). Default: `10`.
   */
  maxAttempts?: number;
  /** Called before each attempt, e.g. to log it. Default: none. */
  onRetry?: (attempt: ResubscribeAttempt) => void;
}

export interface Resubscription {
  /** The wait before attempt n (from 1), or undefined when no attempt is left. */
  delayFor(attempt: number): number | undefined;
  report(attempt: ResubscribeAttempt): void;
}

const checkDelay = (name: string, value: number | undefined, fallback: number): number => {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0)
    throw new TypeError(`${name} must be a number of milliseconds, 0 or more; got ${value}.`);
  return value;
};

/** Exponential backoff: initialDelayMs × 2^(attempt − 1), at most maxDelayMs. */
export const resubscription = (options: ResubscribeOptions = {}): Resubscription => {
  const initialDelayMs = checkDelay('resubscribe.initialDelayMs', options.initialDelayMs, 100);
  const maxDelayMs = checkDelay('resubscribe.maxDelayMs', options.maxDelayMs, 5_000);
  const maxAttempts = options.maxAttempts ?? 10;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 0) {
    throw new TypeError(`resubscribe.maxAttempts must be a whole number, 0 or more; got ${maxAttempts}.`);
  }
  return {
    delayFor: (attempt) =>
      attempt > maxAttempts ? undefined : Math.min(maxDelayMs, initialDelayMs * 2 ** (attempt - 1)),
    report: (attempt) => options.onRetry?.(attempt),
  };
};
