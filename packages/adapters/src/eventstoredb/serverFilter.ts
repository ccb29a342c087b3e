import { eventTypeFilter, type Filter, type Position, streamNameFilter } from '@eventstore/db-client';
import type { EventFilter } from '@lantern/core';

/**
 * How a Lantern filter is split between EventStoreDB and the adapter. The server filters $all on
 * ONE thing, stream name or event type, by prefixes or a regex; Lantern's filter may name both.
 * So the server gets the stream prefixes when there are any (usually the narrower clause: one
 * programme, one category), otherwise the event types, otherwise the store's own prefix, otherwise
 * "no system events"; and the adapter checks everything again on each event it receives, which
 * also drops `$`-system events and anything outside the store's prefix.
 */

/** What the server is asked to filter on. */
export type ServerFilter =
  | { readonly on: 'streamName'; readonly prefixes: readonly string[] }
  | { readonly on: 'eventType'; readonly prefixes: readonly string[] }
  | { readonly on: 'eventType'; readonly regex: string };

export interface FilterPlan {
  /** The filter has an empty list, so nothing matches: no need to ask the server. */
  readonly matchesNothing: boolean;
  readonly server: ServerFilter;
  /** The whole filter, checked on every event the server sends (by its stored stream name). */
  accepts(storedStreamName: string, type: string): boolean;
}

/** EventStoreDB's own events: `$`-prefixed streams and types (settings, statistics, projections, links). */
export const isSystemEvent = (storedStreamName: string, type: string): boolean =>
  storedStreamName.startsWith('$') || type.startsWith('$');

export const planFilter = (filter: EventFilter | undefined, streamPrefix: string): FilterPlan => {
  const eventTypes = filter?.eventTypes;
  const streamPrefixes = filter?.streamPrefixes?.map((prefix) => `${streamPrefix}${prefix}`);
  const matchesNothing = eventTypes?.length === 0 || streamPrefixes?.length === 0;
  let server: ServerFilter;
  if (streamPrefixes && streamPrefixes.length > 0) server = { on: 'streamName', prefixes: streamPrefixes };
  else if (eventTypes && eventTypes.length > 0) server = { on: 'eventType', prefixes: [...eventTypes] };
  else if (streamPrefix !== '') server = { on: 'streamName', prefixes: [streamPrefix] };
  else server = { on: 'eventType', regex: '^[^$]' };
  const types = eventTypes ? new Set(eventTypes) : undefined;
  return {
    matchesNothing,
    server,
    accepts: (storedStreamName, type) =>
      !matchesNothing &&
      !isSystemEvent(storedStreamName, type) &&
      storedStreamName.startsWith(streamPrefix) &&
      (types === undefined || types.has(type)) &&
      (streamPrefixes === undefined || streamPrefixes.some((prefix) => storedStreamName.startsWith(prefix))),
  };
};

/** The filter in the client's terms, with a checkpoint callback for positions the filter skipped. */
export const clientFilter = (
  server: ServerFilter,
  checkpointReached?: (position: Position) => void,
): Filter => {
  const options = {
    checkpointInterval: 1,
    ...(checkpointReached
      ? { checkpointReached: (_: unknown, position: Position) => checkpointReached(position) }
      : {}),
  };
  if (server.on === 'streamName') return streamNameFilter({ ...options, prefixes: [...server.prefixes] });
  if ('regex' in server) return eventTypeFilter({ ...options, regex: server.regex });
  return eventTypeFilter({ ...options, prefixes: [...server.prefixes] });
};
