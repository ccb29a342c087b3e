/**
 * The EventStoreDB double's log: one in-memory transaction log with our model of the server's
 * write rules. It encodes what we believe the server does (read from its IndexWriter.CheckCommit),
 * not the server itself:
 *
 * - Every event gets a log position; commit and prepare positions are equal, as they are for
 *   events appended over gRPC (implicit transactions), and positions grow by a record's size, so
 *   they are strictly increasing but not contiguous.
 * - Expected version: `any`, `noStream`, `streamExists` or an exact revision.
 * - Idempotency, EventStoreDB's rule: with `any`/`streamExists` a batch is a retry when every id is
 *   in the committed-ids cache *for this stream* (order is not checked); when the first id is
 *   unknown (or known in another stream) the batch is written again; when a later one is, the
 *   write fails as a wrong expected version ("corrupted idempotency"). With an exact revision E
 *   the ids are compared with the events at E+1…; the first mismatch is a wrong expected version.
 *   The server's cache is bounded and forgets old ids; this double's never forgets.
 */

export type ExpectedVersion =
  | { readonly kind: 'any' }
  | { readonly kind: 'noStream' }
  | { readonly kind: 'streamExists' }
  | { readonly kind: 'revision'; readonly revision: bigint };

export interface ProposedEvent {
  /** Lower-case uuid. */
  readonly id: string;
  readonly type: string;
  readonly contentType: string;
  readonly data: Uint8Array;
  readonly customMetadata: Uint8Array;
}

export interface StoredEvent extends ProposedEvent {
  readonly streamName: string;
  readonly revision: bigint;
  /** Commit position, equal to the prepare position. */
  readonly position: bigint;
  /** Position of the first event of the batch it was written in. */
  readonly transactionPosition: bigint;
  /** .NET ticks (100 ns) since the Unix epoch, as the server's `created` metadata carries them. */
  readonly created: bigint;
}

export type AppendOutcome =
  | { readonly kind: 'written'; readonly events: readonly StoredEvent[] }
  | { readonly kind: 'idempotent'; readonly currentRevision: bigint; readonly position: bigint }
  | { readonly kind: 'wrongExpectedVersion'; readonly currentRevision: bigint | undefined };

export interface DoubleLog {
  /** Every event, in log order. */
  readonly all: readonly StoredEvent[];
  stream(streamName: string): readonly StoredEvent[] | undefined;
  append(streamName: string, expected: ExpectedVersion, proposed: readonly ProposedEvent[]): AppendOutcome;
  /** Calls the listener, synchronously, with every batch written from now on. */
  onAppend(listener: (events: readonly StoredEvent[]) => void): () => void;
  /** Index in `all` of the first event whose position is at or after `position`. */
  indexAtOrAfter(position: bigint): number;
}

/** Where the first event goes: real logs start after the server's own records. */
const firstPosition = 1_024n;
/** Roughly the fixed part of a prepare record, so positions look like byte offsets. */
const recordOverhead = 96n;
const ticksPerMillisecond = 10_000n;

export const createDoubleLog = (now: () => number = Date.now): DoubleLog => {
  const all: StoredEvent[] = [];
  const streams = new Map<string, StoredEvent[]>();
  /** EventStoreDB's committed-events cache: event id → where it was committed. */
  const committed = new Map<string, { streamName: string; revision: bigint }>();
  const listeners = new Set<(events: readonly StoredEvent[]) => void>();
  let nextPosition = firstPosition;

  const lastRevision = (streamName: string): bigint => {
    const stream = streams.get(streamName);
    return stream && stream.length > 0 ? BigInt(stream.length - 1) : -1n;
  };

  const positionOf = (streamName: string, revision: bigint): bigint => {
    const event = streams.get(streamName)?.[Number(revision)];
    if (!event) throw new Error(`The double has no event ${streamName}@${revision}.`);
    return event.position;
  };

  /** The server's CheckCommit: ok to write, an idempotent retry, or a wrong expected version. */
  const checkCommit = (
    streamName: string,
    expected: ExpectedVersion,
    ids: readonly string[],
  ): 'ok' | { idempotentThrough: bigint } | 'wrongExpectedVersion' => {
    const current = lastRevision(streamName);
    if (expected.kind === 'streamExists' && current < 0n) return 'wrongExpectedVersion';
    if (expected.kind === 'any' || expected.kind === 'streamExists') {
      let end = -1n;
      for (const [i, id] of ids.entries()) {
        const info = committed.get(id);
        if (!info || info.streamName !== streamName) return i === 0 ? 'ok' : 'wrongExpectedVersion';
        end = info.revision;
      }
      return ids.length === 0 ? 'ok' : { idempotentThrough: end };
    }
    const expectedRevision = expected.kind === 'noStream' ? -1n : expected.revision;
    if (expectedRevision < current) {
      const stream = streams.get(streamName) ?? [];
      let revision = expectedRevision;
      for (const id of ids) {
        revision += 1n;
        if (stream[Number(revision)]?.id === id) continue;
        // A mismatch on the first event is a plain conflict; a later one, corrupted idempotency.
        return 'wrongExpectedVersion';
      }
      return revision === expectedRevision ? 'wrongExpectedVersion' : { idempotentThrough: revision };
    }
    if (expectedRevision > current) return 'wrongExpectedVersion';
    return 'ok';
  };

  const append = (
    streamName: string,
    expected: ExpectedVersion,
    proposed: readonly ProposedEvent[],
  ): AppendOutcome => {
    const decision = checkCommit(
      streamName,
      expected,
      proposed.map((event) => event.id),
    );
    if (decision === 'wrongExpectedVersion') {
      const current = lastRevision(streamName);
      return { kind: 'wrongExpectedVersion', currentRevision: current < 0n ? undefined : current };
    }
    if (decision !== 'ok') {
      return {
        kind: 'idempotent',
        currentRevision: decision.idempotentThrough,
        position: positionOf(streamName, decision.idempotentThrough),
      };
    }
    const stream = streams.get(streamName) ?? [];
    const created = BigInt(now()) * ticksPerMillisecond;
    const transactionPosition = nextPosition;
    const written = proposed.map((event, i): StoredEvent => {
      const position = nextPosition;
      nextPosition +=
        recordOverhead +
        BigInt(
          Buffer.byteLength(streamName) + event.type.length + event.data.length + event.customMetadata.length,
        );
      return {
        ...event,
        streamName,
        revision: BigInt(stream.length + i),
        position,
        transactionPosition,
        created,
      };
    });
    for (const event of written) {
      stream.push(event);
      all.push(event);
      committed.set(event.id, { streamName, revision: event.revision });
    }
    streams.set(streamName, stream);
    for (const listener of [...listeners]) listener(written);
    return { kind: 'written', events: written };
  };

  const indexAtOrAfter = (position: bigint): number => {
    let low = 0;
    let high = all.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((all[middle]?.position ?? 0n) < position) low = middle + 1;
      else high = middle;
    }
    return low;
  };

  return {
    all,
    stream: (streamName) => streams.get(streamName),
    append,
    onAppend: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    indexAtOrAfter,
  };
};
