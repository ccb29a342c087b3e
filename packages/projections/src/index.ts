// The projection engine
export type {
  DefineProjectionOptions,
  PoisonPolicy,
  Projection,
  ProjectionView,
} from './engine/projection.js';
export { defineProjection } from './engine/projection.js';
export type {
  ProjectionEngine,
  ProjectionEngineOptions,
  ProjectionState,
  ProjectionStatus,
  ReadModelChanges,
} from './engine/projectionEngine.js';
export { changesOf, createProjectionEngine } from './engine/projectionEngine.js';
