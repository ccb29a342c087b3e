import type { Readable } from 'node:stream';
import type { Position } from '@eventstore/db-client';

/**
 * A subscription from @eventstore/db-client as a queue of messages, read one at a time: events,
 * "caught up", checkpoints, and how it ended. The client reports caught-up and checkpoints as
 * side events while the events before them may still sit in its buffer; the inbox files each such
 * marker after the events the client had buffered when it fired, so the order is the server's.
 * Reading slower than the server sends pauses the subscription (backpressure).
 */

export type InboxMessage<TEvent> =
  | { readonly kind: 'confirmed' }
  | { readonly kind: 'event'; readonly event: TEvent }
  | { readonly kind: 'caughtUp' }
  | { readonly kind: 'checkpoint'; readonly position: bigint }
  | { readonly kind: 'failed'; readonly error: unknown }
  | { readonly kind: 'ended' };

export interface Inbox<TEvent> {
  next(): Promise<InboxMessage<TEvent>>;
  /** For the filter's checkpointReached callback. */
  checkpoint(position: Position): void;
  /** Ends the inbox with an error (the store closed); later messages are ignored. */
  fail(error: unknown): void;
  /** Stops listening to the subscription. */
  detach(): void;
}

/** Messages queued before the subscription is paused. */
const highWaterMark = 512;

export const createInbox = <TEvent>(subscription: Readable): Inbox<TEvent> => {
  const queue: InboxMessage<TEvent>[] = [];
  const markers: { at: number; message: InboxMessage<TEvent> }[] = [];
  let received = 0;
  let wake: (() => void) | undefined;
  let finished = false;

  const push = (message: InboxMessage<TEvent>): void => {
    if (finished) return;
    if (message.kind === 'failed' || message.kind === 'ended') finished = true;
    queue.push(message);
    if (queue.length >= highWaterMark) subscription.pause();
    wake?.();
    wake = undefined;
  };
  const fileMarkers = (): void => {
    while (markers[0] && markers[0].at <= received) {
      const marker = markers.shift();
      if (marker) push(marker.message);
    }
  };
  const mark = (message: InboxMessage<TEvent>): void => {
    markers.push({ at: received + subscription.readableLength, message });
    fileMarkers();
  };

  const onData = (event: TEvent) => {
    received += 1;
    push({ kind: 'event', event });
    fileMarkers();
  };
  const onConfirmation = () => push({ kind: 'confirmed' });
  const onCaughtUp = () => mark({ kind: 'caughtUp' });
  const onError = (error: unknown) => push({ kind: 'failed', error });
  const onEnd = () => push({ kind: 'ended' });
  subscription.on('data', onData);
  subscription.on('confirmation', onConfirmation);
  subscription.on('caughtUp', onCaughtUp);
  subscription.on('error', onError);
  subscription.on('end', onEnd);

  return {
    next: async () => {
      while (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      const message = queue.shift() as InboxMessage<TEvent>;
      if (queue.length < highWaterMark / 2 && subscription.isPaused()) subscription.resume();
      return message;
    },
    checkpoint: (position) => mark({ kind: 'checkpoint', position: position.commit }),
    fail: (error) => push({ kind: 'failed', error }),
    detach: () => {
      subscription.off('data', onData);
      subscription.off('confirmation', onConfirmation);
      subscription.off('caughtUp', onCaughtUp);
      subscription.off('end', onEnd);
      subscription.off('error', onError);
      // A late error from a subscription nobody listens to must not crash the process.
      subscription.on('error', () => {});
      finished = true;
    },
  };
};
