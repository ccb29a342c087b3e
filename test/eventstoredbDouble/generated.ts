import { createRequire } from 'node:module';

/**
 * The EventStoreDB client's own generated gRPC service definitions and protobuf message classes,
 * loaded from the installed `@eventstore/db-client`, so the double speaks exactly the wire format
 * the client speaks. They are CommonJS modules whose exports Node's ESM loader cannot name, hence
 * `require`; and they must be the very instances the client loads, because the generated
 * serializers check `instanceof` — resolving from the client's package guarantees that.
 */
const require = createRequire(import.meta.url);
const fromClient = createRequire(require.resolve('@eventstore/db-client/package.json'));

export const streamsGrpc: typeof import('@eventstore/db-client/generated/streams_grpc_pb.js') = fromClient(
  './generated/streams_grpc_pb.js',
);
export const streamsPb: typeof import('@eventstore/db-client/generated/streams_pb.js') =
  fromClient('./generated/streams_pb.js');
export const sharedPb: typeof import('@eventstore/db-client/generated/shared_pb.js') =
  fromClient('./generated/shared_pb.js');
export const statusPb: typeof import('@eventstore/db-client/generated/status_pb.js') =
  fromClient('./generated/status_pb.js');
export const codePb: typeof import('@eventstore/db-client/generated/code_pb.js') =
  fromClient('./generated/code_pb.js');
export const gossipGrpc: typeof import('@eventstore/db-client/generated/gossip_grpc_pb.js') = fromClient(
  './generated/gossip_grpc_pb.js',
);
export const gossipPb: typeof import('@eventstore/db-client/generated/gossip_pb.js') =
  fromClient('./generated/gossip_pb.js');
export const serverFeaturesGrpc: typeof import('@eventstore/db-client/generated/serverfeatures_grpc_pb.js') =
  fromClient('./generated/serverfeatures_grpc_pb.js');
export const serverFeaturesPb: typeof import('@eventstore/db-client/generated/serverfeatures_pb.js') =
  fromClient('./generated/serverfeatures_pb.js');
export const persistentGrpc: typeof import('@eventstore/db-client/generated/persistent_grpc_pb.js') =
  fromClient('./generated/persistent_grpc_pb.js');
export const persistentPb: typeof import('@eventstore/db-client/generated/persistent_pb.js') = fromClient(
  './generated/persistent_pb.js',
);
type StatusModule = typeof import('@eventstore/db-client/generated/status_pb.js');
type StreamsModule = typeof import('@eventstore/db-client/generated/streams_pb.js');
/** google.protobuf.Empty, as the client's BatchAppend messages use it. */
export type GoogleEmpty = NonNullable<
  ReturnType<InstanceType<StreamsModule['BatchAppendReq']['Options']>['getAny']>
>;
/** google.protobuf.Any, which carries an error's details in a google.rpc.Status. */
export type GoogleAny = NonNullable<ReturnType<InstanceType<StatusModule['Status']>['getDetails']>>;

export const googleEmptyPb: { Empty: new () => GoogleEmpty } = fromClient(
  'google-protobuf/google/protobuf/empty_pb.js',
);
export const googleAnyPb: { Any: new () => GoogleAny } = fromClient(
  'google-protobuf/google/protobuf/any_pb.js',
);
/** The gRPC library the client uses; the double serves with the same one. */
export const grpc: typeof import('@grpc/grpc-js') = fromClient('@grpc/grpc-js');
