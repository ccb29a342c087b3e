/**
 * Lantern's errors. Every error a caller is expected to handle has a stable string `code`,
 * so two copies of the package (or a serialised error) still match through the guards below.
 */
export class LanternError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** What a writer expected a stream's revision to be. */
export type ExpectedRevision = 'any' | 'noStream' | 'streamExists' | bigint;

const describeRevision = (revision: ExpectedRevision | bigint | 'noStream'): string =>
  typeof revision === 'bigint' ? revision.toString() : revision;

/** A write's expected revision did not match the stream's actual revision. */
export class ConcurrencyError extends LanternError {
  readonly streamId: string;
  readonly expected: ExpectedRevision;
  /** The stream's last revision, or `noStream` when it has no events. */
  readonly actual: bigint | 'noStream';

  constructor(streamId: string, expected: ExpectedRevision, actual: bigint | 'noStream') {
    super(
      'CONCURRENCY',
      `Stream "${streamId}" is at revision ${describeRevision(actual)}, but the append expected ${describeRevision(expected)}. ` +
        'Someone else wrote to it first: read the stream again, decide again, and retry with the new revision.',
    );
    this.streamId = streamId;
    this.expected = expected;
    this.actual = actual;
  }
}

/** An event or command broke its schema. Nothing of the batch was written. */
export class ValidationError extends LanternError {
  readonly eventType: string;
  /** Dotted path of the offending field, e.g. `data.contacts.0.count`; empty for the whole value. */
  readonly path: string;
  readonly rule: string;

  /**
   * `next` says what to do and what was left alone; by default, for an event that was sent to be
   * stored. An indicator definition or a query says its own (nothing was stored, because nothing
   * was to be).
   */
  constructor(
    eventType: string,
    path: string,
    rule: string,
    detail?: string,
    next = 'Fix the value and send the event again; nothing of this batch was stored.',
  ) {
    const where = path === '' ? 'the event' : `field "${path}"`;
    super('VALIDATION', `${eventType}: ${where} is invalid (${rule})${detail ? `: ${detail}` : ''}. ${next}`);
    this.eventType = eventType;
    this.path = path;
    this.rule = rule;
  }
}

/** A command broke a rule of the programme (e.g. a placement on a closed case). Nothing was written. */
export class RuleViolationError extends LanternError {
  readonly rule: string;

  constructor(rule: string, message: string) {
    super('RULE_VIOLATION', message);
    this.rule = rule;
  }
}

/** The stream does not exist (it has no events). */
export class StreamNotFoundError extends LanternError {
  readonly streamId: string;

  constructor(streamId: string) {
    super(
      'STREAM_NOT_FOUND',
      `Stream "${streamId}" has no events. Check the stream name (category-id, e.g. "case-42"), or append its first event with expectedRevision "noStream".`,
    );
    this.streamId = streamId;
  }
}

/**
 * An append reused event ids in a way that cannot be an idempotent retry: some of the ids are
 * stored and others are not, or they are stored in another stream.
 */
export class IdempotencyError extends LanternError {
  readonly streamId: string;
  readonly eventIds: readonly string[];

  constructor(streamId: string, eventIds: readonly string[], reason: string) {
    super(
      'IDEMPOTENCY',
      `Append to "${streamId}" reuses event ids ${eventIds.join(', ')}: ${reason}. ` +
        'Resend a batch exactly as first sent, or give new events new ids.',
    );
    this.streamId = streamId;
    this.eventIds = eventIds;
  }
}

/** The principal may not do what it asked. */
export class AccessDeniedError extends LanternError {
  readonly principal: string;
  readonly action: string;

  constructor(principal: string, action: string, reason: string) {
    super('ACCESS_DENIED', `${principal} may not ${action}: ${reason}.`);
    this.principal = principal;
    this.action = action;
  }
}

/** A release would expose a cell that disclosure control must hide. */
export class DisclosureError extends LanternError {
  constructor(message: string) {
    super('DISCLOSURE', message);
  }
}

/** The store cannot be used as asked (closed, unreadable, not a Lantern store). */
export class StoreError extends LanternError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STORE', message, options);
  }
}

/**
 * A projection's batch was refused because this instance no longer owns the projection: its
 * lease expired or was taken over, or another instance moved the checkpoint first. Nothing of
 * the batch was written; the instance must stop running the projection (another one has it).
 */
export class LeaseLostError extends LanternError {
  readonly projection: string;

  constructor(projection: string, reason: string) {
    super(
      'LEASE_LOST',
      `Projection "${projection}" is no longer owned by this instance (${reason}); its batch was not written. ` +
        'Another instance runs it now: stop this one, or wait and try to acquire the lease again.',
    );
    this.projection = projection;
  }
}

/**
 * The key store that holds children's data keys failed or cannot be used: unreachable, closed,
 * read-only, or its master key (KMS) refused. When an append needed it, nothing was appended.
 */
export class KeyStoreError extends LanternError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('KEY_STORE', message, options);
  }
}

const hasCode = (error: unknown, code: string): boolean =>
  typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;

/** The codes of Lantern's own errors: matched by code, so a second copy of the package still matches. */
const lanternCodes: ReadonlySet<string> = new Set([
  'CONCURRENCY',
  'VALIDATION',
  'RULE_VIOLATION',
  'STREAM_NOT_FOUND',
  'IDEMPOTENCY',
  'ACCESS_DENIED',
  'DISCLOSURE',
  'STORE',
  'LEASE_LOST',
  'KEY_STORE',
]);

/**
 * True for Lantern's own errors (and an application's subclasses of LanternError): never for a
 * driver's or Node's error, although those carry a string `code` too (ECONNREFUSED, SQLITE_BUSY…).
 */
export const isLanternError = (error: unknown): error is LanternError =>
  error instanceof LanternError ||
  (error instanceof Error && lanternCodes.has((error as { code?: unknown }).code as string));
export const isConcurrencyError = (error: unknown): error is ConcurrencyError =>
  hasCode(error, 'CONCURRENCY');
export const isValidationError = (error: unknown): error is ValidationError => hasCode(error, 'VALIDATION');
export const isRuleViolationError = (error: unknown): error is RuleViolationError =>
  hasCode(error, 'RULE_VIOLATION');
export const isStreamNotFoundError = (error: unknown): error is StreamNotFoundError =>
  hasCode(error, 'STREAM_NOT_FOUND');
export const isIdempotencyError = (error: unknown): error is IdempotencyError =>
  hasCode(error, 'IDEMPOTENCY');
export const isAccessDeniedError = (error: unknown): error is AccessDeniedError =>
  hasCode(error, 'ACCESS_DENIED');
export const isDisclosureError = (error: unknown): error is DisclosureError => hasCode(error, 'DISCLOSURE');
export const isLeaseLostError = (error: unknown): error is LeaseLostError => hasCode(error, 'LEASE_LOST');
export const isStoreError = (error: unknown): error is StoreError => hasCode(error, 'STORE');
export const isKeyStoreError = (error: unknown): error is KeyStoreError => hasCode(error, 'KEY_STORE');
