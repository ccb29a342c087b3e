import { type CommandError, ErrorType, isCommandError } from '@eventstore/db-client';
import { isLanternError, StoreError, StreamNotFoundError } from '@lantern/core';

/**
 * Driver errors become Lantern's at the adapter's edge: nothing from @eventstore/db-client leaks
 * upward, and every message says what to do next. Wrong-expected-version errors are translated
 * where the expected revision is known (the append), not here.
 */

export interface ErrorContext {
  /** What the store was doing, completing "could not …", e.g. `append to "case-42"`. */
  readonly action: string;
  /** The Lantern stream name, for StreamNotFoundError. */
  readonly streamId?: string;
}

/** True for the client's own errors (gRPC statuses and server error kinds). */
export const isDriverError = (error: unknown): error is CommandError =>
  error instanceof Error && isCommandError(error);

const resendHint =
  'An append can be resent safely with the same event ids: Lantern recognises a resent batch.';

/** Errors after which calling again may succeed: the node restarted, moved, or was slow. */
export const isTransientError = (error: unknown): boolean =>
  isDriverError(error) &&
  [
    ErrorType.UNAVAILABLE,
    ErrorType.CANCELLED,
    ErrorType.NOT_LEADER,
    ErrorType.DEADLINE_EXCEEDED,
    ErrorType.TIMEOUT,
    ErrorType.PERSISTENT_SUBSCRIPTION_DROPPED,
  ].includes(error.type);

export const translateError = (error: unknown, context: ErrorContext): Error => {
  if (isLanternError(error)) return error;
  const { action } = context;
  if (!isDriverError(error)) {
    const message = error instanceof Error ? error.message : String(error);
    if (/discover/i.test(message)) {
      return new StoreError(
        `Could not find an EventStoreDB node to ${action}: gossip discovery failed (${message}). ` +
          'Check the host names and ports in the connection string and that the cluster is up.',
        { cause: error },
      );
    }
    return new StoreError(`EventStoreDB could not ${action}: ${message}.`, { cause: error });
  }
  switch (error.type) {
    case ErrorType.STREAM_NOT_FOUND:
      return new StreamNotFoundError(context.streamId ?? error.streamName);
    case ErrorType.ACCESS_DENIED:
      return new StoreError(
        `EventStoreDB denied this connection access to ${action}. ` +
          'Check the user name and password in the connection string (esdb://user:password@host:2113) and the access control lists of the streams.',
        { cause: error },
      );
    case ErrorType.NOT_LEADER:
      return new StoreError(
        `The EventStoreDB node is not the cluster leader, so it could not ${action}. ` +
          `The client reconnects to the leader (${error.leader.address}:${error.leader.port}) on the next call: try again. ${resendHint}`,
        { cause: error },
      );
    case ErrorType.UNAVAILABLE:
    case ErrorType.CANCELLED:
      return new StoreError(
        `EventStoreDB is unavailable, so this store could not ${action}. ` +
          `Check that the server is running and reachable at the connection string, then try again. ${resendHint}`,
        { cause: error },
      );
    case ErrorType.DEADLINE_EXCEEDED:
    case ErrorType.TIMEOUT:
      return new StoreError(
        `EventStoreDB did not answer in time to ${action}; whether it happened is unknown. ` +
          `Try again (raise defaultDeadline in the connection string if the server is slow). ${resendHint}`,
        { cause: error },
      );
    case ErrorType.STREAM_DELETED:
      return new StoreError(
        `Stream "${context.streamId ?? error.streamName}" was deleted in EventStoreDB, so this store could not ${action}. ` +
          'Lantern never deletes streams; it was deleted outside Lantern. Restore it from a backup, or record into a new stream.',
        { cause: error },
      );
    case ErrorType.MAXIMUM_APPEND_SIZE_EXCEEDED:
      return new StoreError(
        `The batch is larger than EventStoreDB accepts in one append (${error.maxAppendSize} bytes), so this store could not ${action}. ` +
          'Send fewer or smaller events per append.',
        { cause: error },
      );
    case ErrorType.UNSUPPORTED:
      return new StoreError(
        `This EventStoreDB server is too old to ${action} (${error.feature} needs version ${error.minimumVersion} or later). Upgrade the server.`,
        { cause: error },
      );
    case ErrorType.PERSISTENT_SUBSCRIPTION_EXISTS:
      return new StoreError(
        `Could not ${action}: the persistent subscription group exists already. Subscribe to it, or delete it first to change its settings.`,
        { cause: error },
      );
    case ErrorType.PERSISTENT_SUBSCRIPTION_DOES_NOT_EXIST:
      return new StoreError(
        `Could not ${action}: the persistent subscription group does not exist. Create it with createGroup first.`,
        { cause: error },
      );
    case ErrorType.MAXIMUM_SUBSCRIBERS_REACHED:
      return new StoreError(
        `Could not ${action}: the persistent subscription group has its maximum number of consumers. Stop a consumer, or raise maxSubscriberCount.`,
        { cause: error },
      );
    default:
      return new StoreError(`EventStoreDB could not ${action}: ${error.message || error.type}.`, {
        cause: error,
      });
  }
};
