// The case file (protected fields kept sealed)
export type {
  CaseFileChildDocument,
  CaseFileDocument,
  CaseFileProjectionOptions,
  CasePlacement,
  KeptProtected,
  SealedCopy,
} from './caseFile/caseFileProjection.js';
export { caseFileEventTypes, createCaseFileProjection } from './caseFile/caseFileProjection.js';
export type { CaseFile, OpenedPlacement, OpenedText, ReadCaseFileOptions } from './caseFile/readCaseFile.js';
export { readCaseFile } from './caseFile/readCaseFile.js';
// Disclosure control
export type {
  AreaLevel,
  CountCell,
  CountTable,
  DisclosurePolicy,
  MedianObservation,
  PeriodGranularity,
  RatioCell,
  RatioCounts,
  ReleasedCount,
  ReleasedEntry,
  ReleasedMedian,
  ReleasedRatio,
  ReleasedRatioEntry,
  ReleasedRatioTable,
  ReleasedTable,
  SuppressionSummary,
} from './disclosure/index.js';
export {
  areaLevelOf,
  coarsenArea,
  coarsenAreas,
  defaultDisclosurePolicies,
  describeSuppression,
  findReleased,
  protectCount,
  protectMedian,
  protectRatio,
  protectRatioTable,
  protectTable,
  resolvePolicy,
} from './disclosure/index.js';
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
// Indicators
export { builtInIndicators } from './indicators/builtInIndicators.js';
export type {
  CompiledIndicator,
  CompileOptions,
  Indicator,
} from './indicators/compileIndicator.js';
export { compileIndicators } from './indicators/compileIndicator.js';
export type {
  FlowObservation,
  FlowObservationDocument,
  IndicatorProjection,
  IndicatorProjectionOptions,
  KeyedObservation,
  TargetDocument,
} from './indicators/indicatorProjection.js';
export {
  createIndicatorProjection,
  indicatorCollections,
  observationKeyPrefix,
} from './indicators/indicatorProjection.js';
// Queries
export type {
  CaseDocument,
  CaseFunnelReleaseRequest,
  CaseFunnelRequest,
  FunnelRow,
  FunnelStage,
  FunnelStep,
  ReleasedFunnelRow,
  ReleasedFunnelStep,
} from './queries/caseFunnel.js';
export {
  caseFunnel,
  createCaseFunnelProjection,
  funnelStages,
  releaseCaseFunnel,
} from './queries/caseFunnel.js';
export type { FrozenPeriod } from './queries/frozenPeriods.js';
export type {
  BudgetDocument,
  FundingStatus,
  FundingStatusRequest,
  FundsDocument,
} from './queries/funding.js';
export { fundingProjection, fundingStatus } from './queries/funding.js';
export type {
  IndicatorData,
  IndicatorRequest,
  IndicatorRow,
  IndicatorTable,
  LoadIndicatorDataOptions,
} from './queries/indicatorValues.js';
export { indicatorTable, loadIndicatorData } from './queries/indicatorValues.js';
export type { Granularity, Period } from './queries/periods.js';
export { exportIndicator, releaseIndicator } from './queries/recordedRelease.js';
export type {
  ReleasedIndicator,
  ReleasedIndicatorRow,
  ReleasedValue,
  ReleaseRequest,
} from './queries/releaseIndicator.js';
export type { ReleaseRegister } from './queries/releaseRegister.js';
export { readReleaseRegister, releaseRegisterName } from './queries/releaseRegister.js';
export type { FrozenVintage } from './queries/vintages.js';
