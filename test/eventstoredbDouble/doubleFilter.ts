import type { StoredEvent } from './doubleLog.js';

/** A server-side filter of $all: on stream name or on event type, by prefixes or by a regex. */
export interface DoubleFilter {
  readonly on: 'streamName' | 'eventType';
  readonly prefixes: readonly string[];
  readonly regex: string;
  /** Events considered between two checkpoints (the search window × the multiplier). */
  readonly checkpointInterval: number;
}

/** The shape the Streams and PersistentSubscriptions FilterOptions messages share. */
interface FilterOptionsMessage {
  hasStreamIdentifier(): boolean;
  hasEventType(): boolean;
  getStreamIdentifier(): { getRegex(): string; getPrefixList(): string[] } | undefined;
  getEventType(): { getRegex(): string; getPrefixList(): string[] } | undefined;
  hasMax(): boolean;
  getMax(): number;
  getCheckpointintervalmultiplier(): number;
}

/** The server's default search window when the client sends `count` instead of a maximum. */
const defaultSearchWindow = 32;

export const parseFilter = (options: FilterOptionsMessage | undefined): DoubleFilter | undefined => {
  if (!options) return undefined;
  const expression = options.hasStreamIdentifier() ? options.getStreamIdentifier() : options.getEventType();
  if (!expression) return undefined;
  const window = options.hasMax() ? options.getMax() : defaultSearchWindow;
  return {
    on: options.hasStreamIdentifier() ? 'streamName' : 'eventType',
    prefixes: expression.getPrefixList(),
    regex: expression.getRegex(),
    checkpointInterval: Math.max(1, window * Math.max(1, options.getCheckpointintervalmultiplier())),
  };
};

/** A predicate for the filter: a regex matches anywhere (as .NET's Regex.IsMatch), prefixes at the start. */
export const filterPredicate = (filter: DoubleFilter | undefined): ((event: StoredEvent) => boolean) => {
  if (!filter) return () => true;
  const subject = (event: StoredEvent) => (filter.on === 'streamName' ? event.streamName : event.type);
  if (filter.regex !== '') {
    const regex = new RegExp(filter.regex);
    return (event) => regex.test(subject(event));
  }
  return (event) => filter.prefixes.some((prefix) => subject(event).startsWith(prefix));
};
