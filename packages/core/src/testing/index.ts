export { type CatalogEventMetadata, catalogEvent } from './catalogEvent.js';
export { DeciderSpecification } from './deciderSpecification.js';
export { childRegisteredData, type RegisteredChild } from './registeredChild.js';
