import { v7 as uuidv7 } from 'uuid';
import { defaultEventRegistry } from '../events/defaultRegistry.js';
import type { EventMetadata, NewEvent } from '../events/envelope.js';
import type { EventRegistry } from '../events/registry.js';

/** What a hand-built event's metadata needs: the rest is filled in. */
export type CatalogEventMetadata = Omit<EventMetadata, 'schemaVersion'> & { readonly schemaVersion?: number };

/**
 * An event built by hand, as a test or an import needs one, outside any command: a fresh uuid v7
 * as its id, and its type's current schema version from the registry (the catalog's by default)
 * unless the metadata gives one. Its data is checked when it is appended, as every event's is;
 * a type the registry does not know is refused here, naming the ones it does.
 */
export const catalogEvent = <TType extends string>(
  type: TType,
  data: Record<string, unknown>,
  metadata: CatalogEventMetadata,
  registry: EventRegistry = defaultEventRegistry,
): NewEvent<TType> => {
  const definition = registry.get(type);
  if (!definition) {
    throw new TypeError(
      `There is no event type "${type}" in the registry; use one of: ${registry.types.join(', ')}.`,
    );
  }
  return {
    id: uuidv7(),
    type,
    data,
    metadata: { ...metadata, schemaVersion: metadata.schemaVersion ?? definition.schemaVersion },
  };
};
