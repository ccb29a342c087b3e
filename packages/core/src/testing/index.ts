export { DeciderSpecification } from './deciderSpecification.js';
