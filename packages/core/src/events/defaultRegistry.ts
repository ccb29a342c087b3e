import { eventCatalog } from './catalog.js';
import { createEventRegistry } from './registry.js';

/** A registry of every event type in the catalog: what stores accept by default. */
export const defaultEventRegistry = createEventRegistry(Object.values(eventCatalog));
