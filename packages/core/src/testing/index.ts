export { type CatalogEventMetadata, catalogEvent } from './catalogEvent.js';
export { DeciderSpecification } from './deciderSpecification.js';
