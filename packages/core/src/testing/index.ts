export { type CatalogEventMetadata, catalogEvent } from './catalogEvent.js';
export { DeciderSpecification } from './deciderSpecification.js';
export {
  caseDisclosedData,
  childRegisteredData,
  type DisclosedCase,
  type RegisteredChild,
  reportingWithdrawnData,
} from './registeredChild.js';
