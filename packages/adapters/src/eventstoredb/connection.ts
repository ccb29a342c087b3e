import { EventStoreDBClient } from '@eventstore/db-client';
import { StoreError } from '@lantern/core';

/**
 * How an adapter reaches EventStoreDB: a connection string (the adapter creates the client and
 * disposes of it on close), or a client you created (you dispose of it).
 *
 * - Single node: `esdb://localhost:2113?tls=false`
 * - Cluster, gossip through the listed seeds: `esdb://node1:2113,node2:2113,node3:2113?tls=false`
 * - Cluster, gossip through a DNS name: `esdb+discover://cluster.example.org:2113`
 */
export type EventStoreDBConnection =
  | { readonly connectionString: string }
  | { readonly client: EventStoreDBClient };

export interface OpenConnection {
  readonly client: EventStoreDBClient;
  /** Whether the adapter created the client, and so disposes of it on close. */
  readonly owned: boolean;
}

export const openConnection = (connection: EventStoreDBConnection): OpenConnection => {
  if ('client' in connection) {
    if (!(connection.client instanceof EventStoreDBClient)) {
      throw new TypeError('"client" must be an EventStoreDBClient from @eventstore/db-client.');
    }
    return { client: connection.client, owned: false };
  }
  if (typeof connection.connectionString !== 'string' || connection.connectionString.trim() === '') {
    throw new TypeError(
      'Give a connection string such as "esdb://localhost:2113?tls=false", or an EventStoreDBClient as { client }.',
    );
  }
  try {
    return { client: EventStoreDBClient.connectionString(connection.connectionString), owned: true };
  } catch (error) {
    throw new StoreError(
      `The EventStoreDB connection string is not valid (${error instanceof Error ? error.message : String(error)}). ` +
        'Write it as esdb://host:2113?tls=false for one node, or esdb+discover://host:2113 for a cluster.',
      { cause: error },
    );
  }
};
