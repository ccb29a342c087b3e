import type {
  Client as GrpcClient,
  ServerUnaryCall,
  ServiceDefinition,
  sendUnaryData,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { grpc } from './generated.js';
import type { InjectableError } from './wire.js';

/**
 * The EventStoreDB double's control plane: a small gRPC service with JSON messages, served on the
 * double's own port, through which tests (running in other processes than the globalSetup that
 * started the double) drop subscriptions, inject errors and read what the double received. Every
 * control is scoped to one client connection by its `connection-name` (set with
 * `connectionName=…` in the connection string), so tests that share the double stay apart.
 */

/** The calls a test can make fail: appends (Append and BatchAppend), reads, subscriptions, persistent subscriptions. */
export type FailableCall = 'append' | 'read' | 'subscribe' | 'persistentCreate' | 'persistentRead';

/** A server-side filter as the double received it. */
export interface ReceivedFilter {
  readonly call: 'read' | 'subscribe' | 'persistentCreate';
  readonly on: 'streamName' | 'eventType' | 'none';
  readonly prefixes: readonly string[];
  readonly regex: string;
  readonly checkpointIntervalMultiplier: number;
}

/**
 * What GetSupportedMethods lists. The client asks once, on its first command, without a connection
 * name; so a switch applies to the next GetSupportedMethods call only.
 */
export interface DoubleFeatures {
  /** List Streams.BatchAppend (the client then appends through it). Default: true, as a 21.10+ server. */
  readonly batchAppend?: boolean;
  /** List persistent subscriptions to $all. Default: true. */
  readonly persistentSubscriptionsToAll?: boolean;
}

export interface ParkedMessage {
  readonly eventId: string;
  readonly reason: string;
}

/** The double's bookkeeping behind the control plane. */
export interface DoubleControlState {
  /** Takes one injected failure for this connection and call, if a test asked for one. */
  takeFailure(connectionName: string, call: FailableCall): InjectableError | undefined;
  recordFilter(connectionName: string, filter: ReceivedFilter): void;
  /** Counts a call: append, batchAppend, read, subscribe, persistentCreate, persistentRead, gossipRead. */
  recordCall(connectionName: string, method: string): void;
  /** The features for a GetSupportedMethods call: a one-shot switch if a test set one. */
  takeFeatures(): DoubleFeatures;
  failNext(request: FailNextRequest): void;
  filters(connectionName: string): ReceivedFilter[];
  calls(connectionName: string): Record<string, number>;
  setFeatures(features: DoubleFeatures): void;
}

export interface FailNextRequest {
  readonly connectionName: string;
  readonly call: FailableCall;
  readonly error: InjectableError;
  /** How many calls in a row fail. Default 1. */
  readonly times?: number;
}

export const createDoubleControlState = (): DoubleControlState => {
  const failures = new Map<string, { call: FailableCall; error: InjectableError; remaining: number }[]>();
  const filters = new Map<string, ReceivedFilter[]>();
  const calls = new Map<string, Record<string, number>>();
  const features: DoubleFeatures[] = [];
  return {
    takeFailure: (connectionName, call) => {
      const pending = failures.get(connectionName);
      const failure = pending?.find((f) => f.call === call && f.remaining > 0);
      if (!failure) return undefined;
      failure.remaining -= 1;
      return failure.error;
    },
    recordFilter: (connectionName, filter) => {
      filters.set(connectionName, [...(filters.get(connectionName) ?? []), filter]);
    },
    recordCall: (connectionName, method) => {
      const counts = calls.get(connectionName) ?? {};
      counts[method] = (counts[method] ?? 0) + 1;
      calls.set(connectionName, counts);
    },
    takeFeatures: () => features.shift() ?? {},
    failNext: ({ connectionName, call, error, times = 1 }) => {
      failures.set(connectionName, [
        ...(failures.get(connectionName) ?? []),
        { call, error, remaining: times },
      ]);
    },
    filters: (connectionName) => filters.get(connectionName) ?? [],
    calls: (connectionName) => ({ ...(calls.get(connectionName) ?? {}) }),
    setFeatures: (value) => {
      features.push(value);
    },
  };
};

/** What the control service can do; the double implements it, tests call it through the client below. */
export interface DoubleControl {
  /** Ends the live catch-up subscriptions of a connection as a server restart would (UNAVAILABLE). */
  dropSubscriptions(request: { connectionName: string }): Promise<{ dropped: number }>;
  failNext(request: FailNextRequest): Promise<Record<string, never>>;
  receivedFilters(request: { connectionName: string }): Promise<{ filters: ReceivedFilter[] }>;
  calls(request: { connectionName: string }): Promise<{ calls: Record<string, number> }>;
  /** Switches what GetSupportedMethods lists for the next client that asks (on its first command). */
  setFeatures(request: { features: DoubleFeatures }): Promise<Record<string, never>>;
  parked(request: { group: string }): Promise<{ parked: ParkedMessage[] }>;
}

const methods = [
  'dropSubscriptions',
  'failNext',
  'receivedFilters',
  'calls',
  'setFeatures',
  'parked',
] as const satisfies readonly (keyof DoubleControl)[];

const json = {
  serialize: (value: unknown): Buffer => Buffer.from(JSON.stringify(value), 'utf8'),
  deserialize: (buffer: Buffer): unknown => JSON.parse(buffer.toString('utf8')),
};

/** The control service, under a package name no EventStoreDB client uses. */
export const doubleControlService: ServiceDefinition = Object.fromEntries(
  methods.map((name) => [
    name,
    {
      path: `/lantern.test.EventStoreDBDoubleControl/${name}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: json.serialize,
      requestDeserialize: json.deserialize,
      responseSerialize: json.serialize,
      responseDeserialize: json.deserialize,
    },
  ]),
);

/** Serves a DoubleControl implementation as unary gRPC handlers. */
export const doubleControlHandlers = (control: DoubleControl): UntypedServiceImplementation =>
  Object.fromEntries(
    methods.map((name) => [
      name,
      (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
        const handler = control[name] as (request: unknown) => Promise<unknown>;
        handler(call.request).then(
          (response) => callback(null, response),
          (error: unknown) =>
            callback({
              code: grpc.status.INTERNAL,
              details: error instanceof Error ? error.message : String(error),
            }),
        );
      },
    ]),
  );

/** A client for the double's control plane, for tests. Close it when done. */
export const connectToDoubleControl = (address: string): DoubleControl & { close(): void } => {
  const Client = grpc.makeGenericClientConstructor(doubleControlService, 'EventStoreDBDoubleControl');
  const client = new Client(address, grpc.credentials.createInsecure()) as unknown as Record<
    string,
    (request: unknown, callback: (error: Error | null, response: unknown) => void) => void
  > &
    GrpcClient;
  const call =
    (name: (typeof methods)[number]) =>
    (request: unknown): Promise<never> =>
      new Promise((resolve, reject) => {
        const method = client[name] as (
          request: unknown,
          callback: (error: Error | null, response: unknown) => void,
        ) => void;
        method.call(client, request, (error, response) =>
          error ? reject(error) : resolve(response as never),
        );
      });
  return {
    dropSubscriptions: call('dropSubscriptions'),
    failNext: call('failNext'),
    receivedFilters: call('receivedFilters'),
    calls: call('calls'),
    setFeatures: call('setFeatures'),
    parked: call('parked'),
    close: () => client.close(),
  };
};
