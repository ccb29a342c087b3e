import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type {
  ServerDuplexStream,
  ServerReadableStream,
  ServerUnaryCall,
  ServerWritableStream,
  sendUnaryData,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import {
  createDoubleControlState,
  type DoubleControl,
  type DoubleControlState,
  doubleControlHandlers,
  doubleControlService,
  type FailableCall,
  type ReceivedFilter,
} from './doubleControl.js';
import { type DoubleFilter, filterPredicate, parseFilter } from './doubleFilter.js';
import {
  createDoubleLog,
  type DoubleLog,
  type ExpectedVersion,
  type ProposedEvent,
  type StoredEvent,
} from './doubleLog.js';
import {
  codePb,
  googleAnyPb,
  googleEmptyPb,
  gossipGrpc,
  gossipPb,
  grpc,
  persistentGrpc,
  persistentPb,
  serverFeaturesGrpc,
  serverFeaturesPb,
  sharedPb,
  statusPb,
  streamsGrpc,
  streamsPb,
} from './generated.js';
import { createPersistentGroups } from './persistentGroups.js';
import {
  connectionNameOf,
  fillRecordedEvent,
  type InjectableError,
  injectableErrors,
  pbUuid,
  type RpcError,
  rpcError,
  streamIdentifier,
  streamNameOf,
  uuidOf,
} from './wire.js';

/**
 * A wire-level test DOUBLE of an EventStoreDB node: a gRPC server that serves the EventStoreDB
 * client's own generated service definitions over real HTTP/2, so tests drive the real
 * `@eventstore/db-client` against it. It encodes our model of the server (see doubleLog.ts and
 * persistentGroups.ts, and README.md for what it does and does not implement) — it is not the
 * server, and passing against it is not passing against EventStoreDB.
 */

export interface EventStoreDBDoubleOptions {
  /** Interface to listen on. Default: `127.0.0.1`. */
  host?: string;
  /** Port to listen on. Default: `0`, a free port chosen by the OS. */
  port?: number;
  /** What GetSupportedMethods reports as the server version. Default: `24.10.0 (EventStoreDB double)`. */
  serverVersion?: string;
}

export interface EventStoreDBDouble {
  readonly host: string;
  readonly port: number;
  /** `host:port`, for the control client. */
  readonly address: string;
  /** A single-node connection string: `esdb://host:port?tls=false`. */
  readonly connectionString: string;
  /** A gossip-discovery connection string: `esdb+discover://host:port?tls=false`. */
  readonly discoverConnectionString: string;
  /** The double's log, for in-process inspection. */
  readonly log: DoubleLog;
  /** The control plane, in process (tests in other processes use connectToDoubleControl). */
  readonly control: DoubleControl;
  stop(): Promise<void>;
}

const Status = grpc.status;
const ReadDirection = streamsPb.ReadReq.Options.ReadDirection;
const CountOption = streamsPb.ReadReq.Options.CountOptionCase;
const StreamOption = streamsPb.ReadReq.Options.StreamOptionCase;
const FilterOption = streamsPb.ReadReq.Options.FilterOptionCase;
const AllOption = streamsPb.ReadReq.Options.AllOptions.AllOptionCase;
const RevisionOption = streamsPb.ReadReq.Options.StreamOptions.RevisionOptionCase;
const AppendExpected = streamsPb.AppendReq.Options.ExpectedStreamRevisionCase;
const BatchExpected = streamsPb.BatchAppendReq.Options.ExpectedStreamPositionCase;
const VNodeState = gossipPb.MemberInfo.VNodeState;

type ReadCall = ServerWritableStream<
  InstanceType<typeof streamsPb.ReadReq>,
  InstanceType<typeof streamsPb.ReadResp>
>;
type ReadOptions = InstanceType<typeof streamsPb.ReadReq.Options>;
type ProposedMessage =
  | InstanceType<typeof streamsPb.AppendReq.ProposedMessage>
  | InstanceType<typeof streamsPb.BatchAppendReq.ProposedMessage>;

const unimplemented = (what: string) => (call: unknown, callback?: sendUnaryData<unknown>) => {
  const error = rpcError(Status.UNIMPLEMENTED, `${what} is not modelled by the EventStoreDB double.`);
  if (typeof callback === 'function') callback(error);
  else (call as { emit(event: 'error', error: RpcError): void }).emit('error', error);
};

const toProposed = (message: ProposedMessage): ProposedEvent | RpcError => {
  const metadata = message.getMetadataMap();
  const type = metadata.get('type');
  const contentType = metadata.get('content-type');
  if (type === undefined || contentType === undefined) {
    return rpcError(
      Status.INVALID_ARGUMENT,
      `Required Metadata Property '${type === undefined ? 'type' : 'content-type'}' is missing`,
      'missing-required-metadata-property',
      { 'required-metadata-properties': 'type,content-type' },
    );
  }
  return {
    id: uuidOf(message.getId()),
    type,
    contentType,
    data: message.getData_asU8(),
    customMetadata: message.getCustomMetadata_asU8(),
  };
};

const describeExpected = (expected: ExpectedVersion): string =>
  expected.kind === 'revision' ? expected.revision.toString() : expected.kind;

export const startEventStoreDBDouble = async (
  options: EventStoreDBDoubleOptions = {},
): Promise<EventStoreDBDouble> => {
  const host = options.host ?? '127.0.0.1';
  const serverVersion = options.serverVersion ?? '24.10.0 (EventStoreDB double)';
  const log = createDoubleLog();
  const groups = createPersistentGroups(log);
  const state: DoubleControlState = createDoubleControlState();
  /** Live catch-up subscriptions, so the control plane can drop them and stop() can end them. */
  const liveSubscriptions = new Set<{ connectionName: string; drop(error: RpcError): void }>();
  const server = new grpc.Server();
  let port = 0;

  // A real node's log starts with its own records: system events that $all readers must skip.
  log.append('$settings', { kind: 'any' }, [
    {
      id: randomUUID(),
      type: '$settings',
      contentType: 'application/json',
      data: Buffer.from(JSON.stringify({ $userStreamAcl: { $r: '$all' } })),
      customMetadata: new Uint8Array(),
    },
  ]);
  log.append('$scavenges', { kind: 'any' }, [
    {
      id: randomUUID(),
      type: '$scavengeIndexInitialized',
      contentType: 'application/json',
      data: Buffer.from('{}'),
      customMetadata: new Uint8Array(),
    },
  ]);

  const injected = (connectionName: string, call: FailableCall, streamName = ''): RpcError | undefined => {
    const kind = state.takeFailure(connectionName, call);
    return kind === undefined ? undefined : errorFor(kind, streamName);
  };

  const errorFor = (kind: InjectableError, streamName: string): RpcError => {
    switch (kind) {
      case 'not-leader':
        return injectableErrors['not-leader'](host, port);
      case 'stream-deleted':
        return injectableErrors['stream-deleted'](streamName);
      default:
        return injectableErrors[kind]();
    }
  };

  // ServerFeatures ------------------------------------------------------------------------------

  const getSupportedMethods = (_call: unknown, callback: sendUnaryData<unknown>) => {
    const features = state.takeFeatures();
    const supported = new serverFeaturesPb.SupportedMethods();
    supported.setEventStoreServerVersion(serverVersion);
    const add = (service: string, method: string, methodFeatures: string[] = []) => {
      const entry = new serverFeaturesPb.SupportedMethod();
      entry.setServiceName(service);
      entry.setMethodName(method);
      entry.setFeaturesList(methodFeatures);
      supported.addMethods(entry);
    };
    const streams = 'event_store.client.streams.Streams';
    add(streams, 'Read');
    add(streams, 'Append');
    if (features.batchAppend !== false) add(streams, 'BatchAppend');
    const persistent = 'event_store.client.persistent_subscriptions.PersistentSubscriptions';
    const targets = features.persistentSubscriptionsToAll === false ? ['stream'] : ['stream', 'all'];
    for (const method of ['Create', 'Delete', 'Read']) add(persistent, method, targets);
    add('event_store.client.gossip.Gossip', 'Read');
    add('event_store.client.server_features.ServerFeatures', 'GetSupportedMethods');
    callback(null, supported);
  };

  // Gossip --------------------------------------------------------------------------------------

  /** A three-node cluster as gossip reports it: a leader and a follower (both this double) and a dead node. */
  const gossipRead = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
    state.recordCall(connectionNameOf(call.metadata), 'gossipRead');
    const info = new gossipPb.ClusterInfo();
    const member = (state: number, isAlive: boolean, memberPort: number) => {
      const endPoint = new gossipPb.EndPoint();
      endPoint.setAddress(host);
      endPoint.setPort(memberPort);
      const memberInfo = new gossipPb.MemberInfo();
      memberInfo.setInstanceId(pbUuid(randomUUID(), false));
      memberInfo.setTimeStamp((BigInt(Date.now()) * 10_000n).toString());
      memberInfo.setState(state);
      memberInfo.setIsAlive(isAlive);
      memberInfo.setHttpEndPoint(endPoint);
      info.addMembers(memberInfo);
    };
    member(VNodeState.FOLLOWER, false, port + 1);
    member(VNodeState.FOLLOWER, true, port);
    member(VNodeState.LEADER, true, port);
    callback(null, info);
  };

  // Streams.Read --------------------------------------------------------------------------------

  const recordReceivedFilter = (
    connectionName: string,
    call: ReceivedFilter['call'],
    filter: DoubleFilter | undefined,
    multiplier: number,
  ) => {
    state.recordFilter(connectionName, {
      call,
      on: filter?.on ?? 'none',
      prefixes: filter?.prefixes ?? [],
      regex: filter?.regex ?? '',
      checkpointIntervalMultiplier: multiplier,
    });
  };

  const readEventMessage = (event: StoredEvent, fromAll: boolean, structuredIds: boolean) => {
    const recorded = fillRecordedEvent(
      new streamsPb.ReadResp.ReadEvent.RecordedEvent(),
      event,
      // Reading $all gives the commit position and the event's own prepare position; reading a
      // stream gives the event's log position and its transaction's position.
      fromAll
        ? { commit: event.position, prepare: event.position }
        : { commit: event.position, prepare: event.transactionPosition },
      structuredIds,
    );
    const readEvent = new streamsPb.ReadResp.ReadEvent();
    readEvent.setEvent(recorded);
    if (fromAll) readEvent.setCommitPosition(event.position.toString());
    else readEvent.setNoPosition(new sharedPb.Empty());
    const response = new streamsPb.ReadResp();
    response.setEvent(readEvent);
    return response;
  };

  const readStream = (call: ReadCall, options: ReadOptions, structuredIds: boolean) => {
    const streamOptions = options.getStream();
    const streamName = streamNameOf(streamOptions?.getStreamIdentifier());
    const stream = log.stream(streamName);
    if (!stream || stream.length === 0) {
      const notFound = new streamsPb.ReadResp.StreamNotFound();
      notFound.setStreamIdentifier(streamIdentifier(streamName));
      const response = new streamsPb.ReadResp();
      response.setStreamNotFound(notFound);
      call.write(response);
      call.end();
      return;
    }
    const backwards = options.getReadDirection() === ReadDirection.BACKWARDS;
    const last = stream.length - 1;
    const revisionCase = streamOptions?.getRevisionOptionCase();
    const requested =
      revisionCase === RevisionOption.REVISION ? BigInt(streamOptions?.getRevision() ?? '0') : 0n;
    let index: number;
    if (backwards) {
      index =
        revisionCase === RevisionOption.START
          ? 0
          : revisionCase === RevisionOption.END || requested > BigInt(last)
            ? last
            : Number(requested);
    } else {
      index =
        revisionCase === RevisionOption.END
          ? stream.length
          : requested > BigInt(stream.length)
            ? stream.length
            : Number(requested);
    }
    let remaining = BigInt(options.getCount());
    while (remaining > 0n && index >= 0 && index <= last) {
      const event = stream[index];
      if (!event) break;
      call.write(readEventMessage(event, false, structuredIds));
      remaining -= 1n;
      index += backwards ? -1 : 1;
    }
    call.end();
  };

  const readAll = (
    call: ReadCall,
    options: ReadOptions,
    filter: DoubleFilter | undefined,
    structuredIds: boolean,
  ) => {
    const allOptions = options.getAll();
    const backwards = options.getReadDirection() === ReadDirection.BACKWARDS;
    const matches = filterPredicate(filter);
    const at = BigInt(allOptions?.getPosition()?.getCommitPosition() ?? '0');
    let index: number;
    switch (allOptions?.getAllOptionCase()) {
      case AllOption.START:
        index = backwards ? -1 : 0;
        break;
      case AllOption.END:
        index = backwards ? log.all.length - 1 : log.all.length;
        break;
      default:
        // Forwards from a position includes the event there; backwards from it, the events before.
        index = backwards ? log.indexAtOrAfter(at) - 1 : log.indexAtOrAfter(at);
    }
    let remaining = BigInt(options.getCount());
    while (remaining > 0n && index >= 0 && index < log.all.length) {
      const event = log.all[index];
      index += backwards ? -1 : 1;
      if (!event || !matches(event)) continue;
      call.write(readEventMessage(event, true, structuredIds));
      remaining -= 1n;
    }
    call.end();
  };

  /**
   * A subscription: confirmation, then the stored events after the start point (catch-up), then
   * CaughtUp, then new events as they are written (live). Catch-up runs in one tick, and the live
   * listener is registered in that same tick, so nothing falls between the two. A filter adds a
   * Checkpoint after every `checkpointInterval` events considered.
   */
  const subscribe = (
    call: ReadCall,
    connectionName: string,
    from: { index: number; streamName?: string },
    filter: DoubleFilter | undefined,
    structuredIds: boolean,
  ) => {
    const fromAll = from.streamName === undefined;
    const matches = filterPredicate(filter);
    let considered = 0;
    let ended = false;

    const send = (response: InstanceType<typeof streamsPb.ReadResp>) => {
      if (!ended) call.write(response);
    };
    const consider = (event: StoredEvent) => {
      if (ended) return;
      if (!fromAll && event.streamName !== from.streamName) return;
      if (matches(event)) send(readEventMessage(event, fromAll, structuredIds));
      if (!filter) return;
      considered += 1;
      if (considered >= filter.checkpointInterval) {
        considered = 0;
        const checkpoint = new streamsPb.ReadResp.Checkpoint();
        checkpoint.setCommitPosition(event.position.toString());
        checkpoint.setPreparePosition(event.position.toString());
        const response = new streamsPb.ReadResp();
        response.setCheckpoint(checkpoint);
        send(response);
      }
    };

    const confirmation = new streamsPb.ReadResp.SubscriptionConfirmation();
    confirmation.setSubscriptionId(randomUUID());
    const confirmed = new streamsPb.ReadResp();
    confirmed.setConfirmation(confirmation);
    send(confirmed);

    const source = fromAll ? log.all : (log.stream(from.streamName ?? '') ?? []);
    for (let index = from.index; index < source.length; index += 1) {
      const event = source[index];
      if (event) consider(event);
    }
    const caughtUp = new streamsPb.ReadResp();
    caughtUp.setCaughtUp(new streamsPb.ReadResp.CaughtUp());
    send(caughtUp);
    const stopListening = log.onAppend((events) => {
      for (const event of events) consider(event);
    });

    const live = {
      connectionName,
      drop: (error: RpcError) => {
        end();
        call.emit('error', error);
      },
    };
    const end = () => {
      ended = true;
      stopListening();
      liveSubscriptions.delete(live);
    };
    liveSubscriptions.add(live);
    call.on('cancelled', end);
    call.on('error', end);
  };

  const read = (call: ReadCall) => {
    const connectionName = connectionNameOf(call.metadata);
    const options = call.request.getOptions();
    if (!options) {
      call.emit('error', rpcError(Status.INVALID_ARGUMENT, 'ReadReq without options'));
      return;
    }
    const isSubscription = options.getCountOptionCase() === CountOption.SUBSCRIPTION;
    const fromStream = options.getStreamOptionCase() === StreamOption.STREAM;
    state.recordCall(connectionName, isSubscription ? 'subscribe' : 'read');
    const streamName = fromStream ? streamNameOf(options.getStream()?.getStreamIdentifier()) : '$all';
    const failure = injected(connectionName, isSubscription ? 'subscribe' : 'read', streamName);
    if (failure) {
      call.emit('error', failure);
      return;
    }
    const structuredIds = options.getUuidOption()?.hasStructured() ?? false;
    const filterOptions =
      options.getFilterOptionCase() === FilterOption.FILTER ? options.getFilter() : undefined;
    const filter = parseFilter(filterOptions);
    if (!fromStream) {
      recordReceivedFilter(
        connectionName,
        isSubscription ? 'subscribe' : 'read',
        filter,
        filterOptions?.getCheckpointintervalmultiplier() ?? 0,
      );
    }

    if (!isSubscription) {
      if (fromStream) readStream(call, options, structuredIds);
      else readAll(call, options, filter, structuredIds);
      return;
    }
    if (fromStream) {
      const streamOptions = options.getStream();
      const stream = log.stream(streamName) ?? [];
      const revisionCase = streamOptions?.getRevisionOptionCase();
      // A stream subscription from a revision starts after it.
      const index =
        revisionCase === RevisionOption.START
          ? 0
          : revisionCase === RevisionOption.END
            ? stream.length
            : Number(BigInt(streamOptions?.getRevision() ?? '0') + 1n);
      subscribe(call, connectionName, { index, streamName }, undefined, structuredIds);
      return;
    }
    const allOptions = options.getAll();
    // A $all subscription from a position starts after it.
    const index =
      allOptions?.getAllOptionCase() === AllOption.START
        ? 0
        : allOptions?.getAllOptionCase() === AllOption.END
          ? log.all.length
          : log.indexAtOrAfter(BigInt(allOptions?.getPosition()?.getCommitPosition() ?? '0') + 1n);
    subscribe(call, connectionName, { index }, filter, structuredIds);
  };

  // Streams.Append and Streams.BatchAppend --------------------------------------------------------

  const append = (
    call: ServerReadableStream<InstanceType<typeof streamsPb.AppendReq>, unknown>,
    callback: sendUnaryData<unknown>,
  ) => {
    const connectionName = connectionNameOf(call.metadata);
    state.recordCall(connectionName, 'append');
    let options: InstanceType<typeof streamsPb.AppendReq.Options> | undefined;
    const events: ProposedEvent[] = [];
    let failed: RpcError | undefined;
    call.on('data', (request: InstanceType<typeof streamsPb.AppendReq>) => {
      if (request.hasOptions()) options = request.getOptions();
      const message = request.getProposedMessage();
      if (!message) return;
      const proposed = toProposed(message);
      if ('code' in proposed) failed ??= proposed;
      else events.push(proposed);
    });
    call.on('end', () => {
      const streamName = streamNameOf(options?.getStreamIdentifier());
      const failure = failed ?? injected(connectionName, 'append', streamName);
      if (failure) {
        callback(failure);
        return;
      }
      let expected: ExpectedVersion;
      switch (options?.getExpectedStreamRevisionCase()) {
        case AppendExpected.REVISION:
          expected = { kind: 'revision', revision: BigInt(options.getRevision()) };
          break;
        case AppendExpected.NO_STREAM:
          expected = { kind: 'noStream' };
          break;
        case AppendExpected.STREAM_EXISTS:
          expected = { kind: 'streamExists' };
          break;
        default:
          expected = { kind: 'any' };
      }
      const outcome = log.append(streamName, expected, events);
      const response = new streamsPb.AppendResp();
      if (outcome.kind === 'wrongExpectedVersion') {
        // Since 21.6 a conflict is an answer, not a gRPC error.
        const conflict = new streamsPb.AppendResp.WrongExpectedVersion();
        if (outcome.currentRevision === undefined) conflict.setCurrentNoStream(new sharedPb.Empty());
        else conflict.setCurrentRevision(outcome.currentRevision.toString());
        if (expected.kind === 'revision') conflict.setExpectedRevision(expected.revision.toString());
        else if (expected.kind === 'noStream') conflict.setExpectedNoStream(new sharedPb.Empty());
        else if (expected.kind === 'streamExists') conflict.setExpectedStreamExists(new sharedPb.Empty());
        else conflict.setExpectedAny(new sharedPb.Empty());
        response.setWrongExpectedVersion(conflict);
      } else {
        const [revision, position] =
          outcome.kind === 'idempotent'
            ? [outcome.currentRevision, outcome.position]
            : [outcome.events.at(-1)?.revision ?? 0n, outcome.events.at(-1)?.position ?? 0n];
        const success = new streamsPb.AppendResp.Success();
        success.setCurrentRevision(revision.toString());
        const appendPosition = new streamsPb.AppendResp.Position();
        appendPosition.setCommitPosition(position.toString());
        appendPosition.setPreparePosition(position.toString());
        success.setPosition(appendPosition);
        response.setSuccess(success);
      }
      callback(null, response);
    });
  };

  /** A google.rpc.Status carrying one of the client's error detail messages, as BatchAppend reports errors. */
  const statusWith = (
    code: number,
    message: string,
    typeName: string,
    details: { serializeBinary(): Uint8Array },
  ) => {
    const any = new googleAnyPb.Any();
    any.pack(details.serializeBinary(), typeName);
    const status = new statusPb.Status();
    status.setCode(code);
    status.setMessage(message);
    status.setDetails(any);
    return status;
  };

  const batchErrorStatus = (kind: InjectableError, streamName: string) => {
    switch (kind) {
      case 'access-denied':
        return statusWith(
          codePb.Code.PERMISSION_DENIED,
          'Access Denied',
          'event_store.client.AccessDenied',
          new sharedPb.AccessDenied(),
        );
      case 'timeout':
        return statusWith(
          codePb.Code.DEADLINE_EXCEEDED,
          'Timeout',
          'event_store.client.Timeout',
          new sharedPb.Timeout(),
        );
      case 'stream-deleted': {
        const deleted = new sharedPb.StreamDeleted();
        deleted.setStreamIdentifier(streamIdentifier(streamName));
        return statusWith(
          codePb.Code.FAILED_PRECONDITION,
          'Stream deleted',
          'event_store.client.StreamDeleted',
          deleted,
        );
      }
      case 'unknown':
        return statusWith(
          codePb.Code.UNKNOWN,
          'Unknown',
          'event_store.client.Unknown',
          new sharedPb.Unknown(),
        );
      default:
        return undefined;
    }
  };

  const batchAppend = (
    call: ServerDuplexStream<
      InstanceType<typeof streamsPb.BatchAppendReq>,
      InstanceType<typeof streamsPb.BatchAppendResp>
    >,
  ) => {
    const connectionName = connectionNameOf(call.metadata);
    const pending = new Map<
      string,
      {
        options: InstanceType<typeof streamsPb.BatchAppendReq.Options> | undefined;
        events: ProposedEvent[];
        failed?: RpcError;
      }
    >();
    call.on('data', (request: InstanceType<typeof streamsPb.BatchAppendReq>) => {
      const correlationId = request.getCorrelationId();
      const key = uuidOf(correlationId);
      const batch = pending.get(key) ?? { options: undefined, events: [] };
      if (request.hasOptions()) batch.options = request.getOptions();
      for (const message of request.getProposedMessagesList()) {
        const proposed = toProposed(message);
        if ('code' in proposed) batch.failed ??= proposed;
        else batch.events.push(proposed);
      }
      pending.set(key, batch);
      if (!request.getIsFinal()) return;
      pending.delete(key);
      state.recordCall(connectionName, 'batchAppend');

      const options = batch.options;
      const streamName = streamNameOf(options?.getStreamIdentifier());
      const response = new streamsPb.BatchAppendResp();
      if (correlationId) response.setCorrelationId(correlationId);
      response.setStreamIdentifier(streamIdentifier(streamName));
      let expected: ExpectedVersion;
      switch (options?.getExpectedStreamPositionCase()) {
        case BatchExpected.STREAM_POSITION:
          expected = { kind: 'revision', revision: BigInt(options.getStreamPosition()) };
          response.setStreamPosition(options.getStreamPosition());
          break;
        case BatchExpected.NO_STREAM:
          expected = { kind: 'noStream' };
          response.setNoStream(new googleEmptyPb.Empty());
          break;
        case BatchExpected.STREAM_EXISTS:
          expected = { kind: 'streamExists' };
          response.setStreamExists(new googleEmptyPb.Empty());
          break;
        default:
          expected = { kind: 'any' };
          response.setAny(new googleEmptyPb.Empty());
      }

      if (batch.failed) {
        call.emit('error', batch.failed);
        return;
      }
      const failure = state.takeFailure(connectionName, 'append');
      if (failure) {
        const status = batchErrorStatus(failure, streamName);
        if (!status) {
          // Unavailable, not-leader and deadline errors end the whole BatchAppend call.
          call.emit('error', errorFor(failure, streamName));
          return;
        }
        response.setError(status);
        call.write(response);
        return;
      }

      const outcome = log.append(streamName, expected, batch.events);
      if (outcome.kind === 'wrongExpectedVersion') {
        const conflict = new sharedPb.WrongExpectedVersion();
        if (outcome.currentRevision === undefined) conflict.setCurrentNoStream(new googleEmptyPb.Empty());
        else conflict.setCurrentStreamRevision(outcome.currentRevision.toString());
        if (expected.kind === 'revision') conflict.setExpectedStreamPosition(expected.revision.toString());
        else if (expected.kind === 'noStream') conflict.setExpectedNoStream(new googleEmptyPb.Empty());
        else if (expected.kind === 'streamExists')
          conflict.setExpectedStreamExists(new googleEmptyPb.Empty());
        else conflict.setExpectedAny(new googleEmptyPb.Empty());
        response.setError(
          statusWith(
            codePb.Code.FAILED_PRECONDITION,
            `Append failed due to WrongExpectedVersion. Stream: ${streamName}, Expected version: ${describeExpected(expected)}, Actual version: ${outcome.currentRevision ?? -1}`,
            'event_store.client.WrongExpectedVersion',
            conflict,
          ),
        );
      } else {
        const [revision, position] =
          outcome.kind === 'idempotent'
            ? [outcome.currentRevision, outcome.position]
            : [outcome.events.at(-1)?.revision ?? 0n, outcome.events.at(-1)?.position ?? 0n];
        const success = new streamsPb.BatchAppendResp.Success();
        success.setCurrentRevision(revision.toString());
        const allPosition = new sharedPb.AllStreamPosition();
        allPosition.setCommitPosition(position.toString());
        allPosition.setPreparePosition(position.toString());
        success.setPosition(allPosition);
        response.setSuccess(success);
      }
      call.write(response);
    });
    call.on('end', () => call.end());
  };

  // PersistentSubscriptions ---------------------------------------------------------------------

  const groupKey = (group: string) => `$all::${group}`;

  const persistentCreate = (
    call: ServerUnaryCall<InstanceType<typeof persistentPb.CreateReq>, unknown>,
    callback: sendUnaryData<unknown>,
  ) => {
    const connectionName = connectionNameOf(call.metadata);
    state.recordCall(connectionName, 'persistentCreate');
    const failure = injected(connectionName, 'persistentCreate', '$all');
    if (failure) {
      callback(failure);
      return;
    }
    const options = call.request.getOptions();
    const all = options?.getAll();
    if (!options || !all) {
      callback(
        rpcError(
          Status.UNIMPLEMENTED,
          'The EventStoreDB double models persistent subscriptions to $all only.',
        ),
      );
      return;
    }
    const AllCase = persistentPb.CreateReq.AllOptions.AllOptionCase;
    const filterOptions =
      all.getFilterOptionCase() === persistentPb.CreateReq.AllOptions.FilterOptionCase.FILTER
        ? all.getFilter()
        : undefined;
    const filter = parseFilter(filterOptions);
    recordReceivedFilter(
      connectionName,
      'persistentCreate',
      filter,
      filterOptions?.getCheckpointintervalmultiplier() ?? 0,
    );
    const settings = options.getSettings();
    const group = options.getGroupName();
    const created = groups.create(groupKey(group), {
      start:
        all.getAllOptionCase() === AllCase.START
          ? 'start'
          : all.getAllOptionCase() === AllCase.POSITION
            ? BigInt(all.getPosition()?.getCommitPosition() ?? '0')
            : 'end',
      matches: filterPredicate(filter),
      maxRetryCount: settings?.getMaxRetryCount() ?? 10,
      messageTimeoutMs: settings?.getMessageTimeoutMs() || 30_000,
      maxSubscriberCount: settings?.getMaxSubscriberCount() ?? 0,
    });
    if (created === 'exists') {
      callback(
        rpcError(
          Status.ALREADY_EXISTS,
          `Subscription group ${group} on stream $all exists.`,
          'persistent-subscription-exists',
          {
            'stream-name': '$all',
            'group-name': group,
          },
        ),
      );
      return;
    }
    callback(null, new persistentPb.CreateResp());
  };

  const persistentDelete = (
    call: ServerUnaryCall<InstanceType<typeof persistentPb.DeleteReq>, unknown>,
    callback: sendUnaryData<unknown>,
  ) => {
    const options = call.request.getOptions();
    const group = options?.getGroupName() ?? '';
    if (!options?.hasAll()) {
      callback(
        rpcError(
          Status.UNIMPLEMENTED,
          'The EventStoreDB double models persistent subscriptions to $all only.',
        ),
      );
      return;
    }
    if (groups.delete(groupKey(group)) === 'notFound') {
      callback(
        rpcError(
          Status.NOT_FOUND,
          `Subscription group ${group} on stream $all does not exist.`,
          'persistent-subscription-does-not-exist',
          { 'stream-name': '$all', 'group-name': group },
        ),
      );
      return;
    }
    callback(null, new persistentPb.DeleteResp());
  };

  const persistentRead = (
    call: ServerDuplexStream<
      InstanceType<typeof persistentPb.ReadReq>,
      InstanceType<typeof persistentPb.ReadResp>
    >,
  ) => {
    const connectionName = connectionNameOf(call.metadata);
    let handle: ReturnType<typeof groups.join> | undefined;
    let structuredIds = false;
    let ended = false;
    const leave = () => {
      if (ended) return;
      ended = true;
      if (handle && typeof handle === 'object') handle.leave();
    };
    call.on('data', (request: InstanceType<typeof persistentPb.ReadReq>) => {
      if (request.hasOptions()) {
        state.recordCall(connectionName, 'persistentRead');
        const options = request.getOptions();
        const group = options?.getGroupName() ?? '';
        const failure = injected(connectionName, 'persistentRead', '$all');
        if (failure) {
          ended = true;
          call.emit('error', failure);
          return;
        }
        if (!options?.hasAll()) {
          ended = true;
          call.emit(
            'error',
            rpcError(
              Status.UNIMPLEMENTED,
              'The EventStoreDB double models persistent subscriptions to $all only.',
            ),
          );
          return;
        }
        structuredIds = options.getUuidOption()?.hasStructured() ?? false;
        const bufferSize = Math.max(1, options.getBufferSize());
        handle = groups.join(groupKey(group), {
          bufferSize,
          deliver: (event, retryCount) => {
            if (ended) return;
            const readEvent = new persistentPb.ReadResp.ReadEvent();
            readEvent.setEvent(
              fillRecordedEvent(
                new persistentPb.ReadResp.ReadEvent.RecordedEvent(),
                event,
                { commit: event.position, prepare: event.position },
                structuredIds,
              ),
            );
            readEvent.setCommitPosition(event.position.toString());
            readEvent.setRetryCount(retryCount);
            const response = new persistentPb.ReadResp();
            response.setEvent(readEvent);
            call.write(response);
          },
          end: (reason) => {
            if (ended) return;
            ended = true;
            if (reason === 'dropped') {
              call.emit(
                'error',
                rpcError(
                  Status.CANCELLED,
                  `Subscription group ${group} on stream $all was dropped.`,
                  'persistent-subscription-dropped',
                  {
                    'stream-name': '$all',
                    'group-name': group,
                  },
                ),
              );
            } else call.end();
          },
        });
        if (handle === 'notFound' || handle === 'full') {
          ended = true;
          call.emit(
            'error',
            handle === 'notFound'
              ? rpcError(
                  Status.NOT_FOUND,
                  `Subscription group ${group} on stream $all does not exist.`,
                  'persistent-subscription-does-not-exist',
                  { 'stream-name': '$all', 'group-name': group },
                )
              : rpcError(
                  Status.FAILED_PRECONDITION,
                  `Maximum subscriptions reached for subscription group ${group} on stream $all.`,
                  'maximum-subscribers-reached',
                  { 'stream-name': '$all', 'group-name': group },
                ),
          );
          return;
        }
        const confirmation = new persistentPb.ReadResp.SubscriptionConfirmation();
        confirmation.setSubscriptionId(groupKey(group));
        const confirmed = new persistentPb.ReadResp();
        confirmed.setSubscriptionConfirmation(confirmation);
        call.write(confirmed);
        return;
      }
      if (!handle || typeof handle !== 'object') return;
      const ack = request.getAck();
      if (ack) handle.ack(ack.getIdsList().map(uuidOf));
      const nack = request.getNack();
      if (nack) {
        const Action = persistentPb.ReadReq.Nack.Action;
        const action =
          nack.getAction() === Action.PARK
            ? 'park'
            : nack.getAction() === Action.RETRY
              ? 'retry'
              : nack.getAction() === Action.SKIP
                ? 'skip'
                : nack.getAction() === Action.STOP
                  ? 'stop'
                  : 'unknown';
        handle.nack(nack.getIdsList().map(uuidOf), action, nack.getReason());
      }
    });
    call.on('end', () => {
      leave();
      call.end();
    });
    call.on('cancelled', leave);
    call.on('error', leave);
  };

  // Control plane -------------------------------------------------------------------------------

  const control: DoubleControl = {
    dropSubscriptions: async ({ connectionName }) => {
      let dropped = 0;
      for (const subscription of [...liveSubscriptions]) {
        if (subscription.connectionName !== connectionName) continue;
        subscription.drop(
          rpcError(
            Status.UNAVAILABLE,
            'Subscription dropped by the EventStoreDB double (as a node restart would).',
          ),
        );
        dropped += 1;
      }
      return { dropped };
    },
    failNext: async (request) => {
      state.failNext(request);
      return {};
    },
    receivedFilters: async ({ connectionName }) => ({ filters: state.filters(connectionName) }),
    calls: async ({ connectionName }) => ({ calls: state.calls(connectionName) }),
    setFeatures: async ({ features }) => {
      state.setFeatures(features);
      return {};
    },
    parked: async ({ group }) => ({ parked: groups.parked(groupKey(group)) }),
  };

  server.addService(serverFeaturesGrpc.ServerFeaturesService, {
    getSupportedMethods,
  } as UntypedServiceImplementation);
  server.addService(gossipGrpc.GossipService, { read: gossipRead } as UntypedServiceImplementation);
  server.addService(streamsGrpc.StreamsService, {
    read,
    append,
    batchAppend,
    delete: unimplemented('Streams.Delete'),
    tombstone: unimplemented('Streams.Tombstone'),
  } as UntypedServiceImplementation);
  server.addService(persistentGrpc.PersistentSubscriptionsService, {
    create: persistentCreate,
    delete: persistentDelete,
    read: persistentRead,
    update: unimplemented('PersistentSubscriptions.Update'),
    getInfo: unimplemented('PersistentSubscriptions.GetInfo'),
    replayParked: unimplemented('PersistentSubscriptions.ReplayParked'),
    list: unimplemented('PersistentSubscriptions.List'),
    restartSubsystem: unimplemented('PersistentSubscriptions.RestartSubsystem'),
  } as UntypedServiceImplementation);
  server.addService(doubleControlService, doubleControlHandlers(control));

  port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(
      `${host}:${options.port ?? 0}`,
      grpc.ServerCredentials.createInsecure(),
      (error, bound) => (error ? reject(error) : resolve(bound)),
    );
  });

  // grpc-js leaves Nagle's algorithm on for the server's sockets; with the client's delayed ACKs a
  // response written in several frames then waits ~40 ms per call. A real node answers at once.
  const listeners = (
    server as unknown as {
      http2Servers?: Map<{ on(event: 'connection', listener: (socket: Socket) => void): unknown }, unknown>;
    }
  ).http2Servers;
  for (const listener of listeners?.keys() ?? [])
    listener.on('connection', (socket) => socket.setNoDelay(true));

  const stop = async (): Promise<void> => {
    for (const subscription of [...liveSubscriptions]) {
      subscription.drop(rpcError(Status.UNAVAILABLE, 'The EventStoreDB double is stopping.'));
    }
    groups.dispose();
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, 1_000);
      force.unref();
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  };

  const address = `${host}:${port}`;
  return {
    host,
    port,
    address,
    connectionString: `esdb://${address}?tls=false`,
    discoverConnectionString: `esdb+discover://${address}?tls=false`,
    log,
    control,
    stop,
  };
};
