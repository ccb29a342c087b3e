import type { StoredEvent } from './doubleLog.js';
import { grpc, sharedPb } from './generated.js';

/** Helpers that turn the double's model into the client's wire messages, and back. */

type PbUuid = InstanceType<typeof sharedPb.UUID>;
type PbStreamIdentifier = InstanceType<typeof sharedPb.StreamIdentifier>;

export const streamNameOf = (identifier: PbStreamIdentifier | undefined): string =>
  identifier ? Buffer.from(identifier.getStreamName_asU8()).toString('utf8') : '';

export const streamIdentifier = (streamName: string): PbStreamIdentifier => {
  const identifier = new sharedPb.StreamIdentifier();
  identifier.setStreamName(Uint8Array.from(Buffer.from(streamName, 'utf8')));
  return identifier;
};

const toHex = (value: bigint): string => BigInt.asUintN(64, value).toString(16).padStart(16, '0');

/** A uuid as the client sent it, string or structured (two signed 64-bit halves), in lower case. */
export const uuidOf = (uuid: PbUuid | undefined): string => {
  if (!uuid) return '';
  if (uuid.hasStructured()) {
    const structured = uuid.getStructured();
    const hex =
      toHex(BigInt(structured?.getMostSignificantBits() ?? '0')) +
      toHex(BigInt(structured?.getLeastSignificantBits() ?? '0'));
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
  return uuid.getString().toLowerCase();
};

export const pbUuid = (id: string, structured: boolean): PbUuid => {
  const uuid = new sharedPb.UUID();
  if (!structured) {
    uuid.setString(id);
    return uuid;
  }
  const hex = id.replaceAll('-', '');
  const halves = new sharedPb.UUID.Structured();
  halves.setMostSignificantBits(BigInt.asIntN(64, BigInt(`0x${hex.slice(0, 16)}`)).toString());
  halves.setLeastSignificantBits(BigInt.asIntN(64, BigInt(`0x${hex.slice(16)}`)).toString());
  uuid.setStructured(halves);
  return uuid;
};

/** The setters that the Streams and the PersistentSubscriptions RecordedEvent messages share. */
interface RecordedEventMessage {
  setId(value?: PbUuid): unknown;
  setStreamIdentifier(value?: PbStreamIdentifier): unknown;
  setStreamRevision(value: string): unknown;
  setPreparePosition(value: string): unknown;
  setCommitPosition(value: string): unknown;
  getMetadataMap(): { set(key: string, value: string): unknown };
  setCustomMetadata(value: Uint8Array): unknown;
  setData(value: Uint8Array): unknown;
}

/**
 * A stored event as the server sends it: metadata `type`, `content-type` and `created` (ticks
 * since the Unix epoch, as a string); 64-bit numbers as decimal strings.
 */
export const fillRecordedEvent = <T extends RecordedEventMessage>(
  message: T,
  event: StoredEvent,
  position: { commit: bigint; prepare: bigint },
  structuredIds: boolean,
): T => {
  message.setId(pbUuid(event.id, structuredIds));
  message.setStreamIdentifier(streamIdentifier(event.streamName));
  message.setStreamRevision(event.revision.toString());
  message.setCommitPosition(position.commit.toString());
  message.setPreparePosition(position.prepare.toString());
  const metadata = message.getMetadataMap();
  metadata.set('type', event.type);
  metadata.set('content-type', event.contentType);
  metadata.set('created', event.created.toString());
  message.setData(event.data);
  message.setCustomMetadata(event.customMetadata);
  return message;
};

export interface RpcError {
  code: number;
  details: string;
  metadata: InstanceType<typeof grpc.Metadata>;
}

/** A gRPC error the way the server raises one: a status, and the `exception` kind in trailers. */
export const rpcError = (
  code: number,
  details: string,
  exception?: string,
  extra: Record<string, string> = {},
): RpcError => {
  const metadata = new grpc.Metadata();
  if (exception) metadata.set('exception', exception);
  for (const [key, value] of Object.entries(extra)) metadata.set(key, value);
  return { code, details, metadata };
};

/** The errors a test can ask the double to raise, as the server raises them (RpcExceptions.cs). */
export const injectableErrors = {
  unavailable: () =>
    rpcError(grpc.status.UNAVAILABLE, 'Server Is Not Ready (injected by the EventStoreDB double)'),
  'access-denied': () => rpcError(grpc.status.PERMISSION_DENIED, 'Access Denied', 'access-denied'),
  'not-leader': (host: string, port: number) =>
    rpcError(grpc.status.NOT_FOUND, 'Leader info available', 'not-leader', {
      'leader-endpoint-host': host,
      'leader-endpoint-port': String(port),
    }),
  timeout: () => rpcError(grpc.status.ABORTED, 'Operation timed out: injected by the EventStoreDB double'),
  'deadline-exceeded': () => rpcError(grpc.status.DEADLINE_EXCEEDED, 'Deadline Exceeded'),
  'stream-deleted': (streamName: string) =>
    rpcError(grpc.status.FAILED_PRECONDITION, `Event stream '${streamName}' is deleted.`, 'stream-deleted', {
      'stream-name': streamName,
    }),
  unknown: () => rpcError(grpc.status.UNKNOWN, 'Unexpected error (injected by the EventStoreDB double)'),
} as const;

export type InjectableError = keyof typeof injectableErrors;

export const connectionNameOf = (metadata: InstanceType<typeof grpc.Metadata>): string => {
  const [value] = metadata.get('connection-name');
  return value === undefined ? '' : String(value);
};
