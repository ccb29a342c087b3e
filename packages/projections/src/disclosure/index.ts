export type { CountCell, CountTable, TableShape } from './countTable.js';
export { coarsenAreas } from './countTable.js';
export type { SuppressionCounts, SuppressionSummary } from './describeSuppression.js';
export { describeSuppression } from './describeSuppression.js';
export type { AreaLevel, DisclosurePolicy, PeriodGranularity } from './disclosurePolicy.js';
export {
  areaLevelOf,
  checkAreaLevel,
  checkPeriodGranularity,
  coarsenArea,
  defaultDisclosurePolicies,
  periodGranularities,
  resolvePolicy,
} from './disclosurePolicy.js';
export type {
  MedianObservation,
  RatioCell,
  RatioCounts,
  RatioSuppressionReason,
  RatioTable,
  ReleasedMedian,
  ReleasedRatio,
  ReleasedRatioEntry,
  ReleasedRatioTable,
} from './protectRatio.js';
export { protectMedian, protectRatio, protectRatioTable } from './protectRatio.js';
export type {
  ProtectOptions,
  ReleasedCount,
  ReleasedEntry,
  ReleasedTable,
  SmallCountLabel,
} from './protectTable.js';
export { findReleased, protectCount, protectTable } from './protectTable.js';
