// Errors

export type { CommandResult, HandleCommandOptions } from './commandHandling/commandHandler.js';
export { createCommandHandler, handleCommand } from './commandHandling/commandHandler.js';
export type { ReferCaseOptions } from './commandHandling/referCase.js';
export { missingConsentFor, referCase } from './commandHandling/referCase.js';
export type {
  AidCommand,
  AidEvent,
  AidState,
  OutreachCommand,
  OutreachEvent,
  OutreachState,
  TrainingCommand,
  TrainingEvent,
  TrainingState,
} from './deciders/activities.js';
export { aidDecider, outreachDecider, trainingDecider } from './deciders/activities.js';
export type { CaseCommand, CaseEvent, CaseState } from './deciders/case.js';
export { caseDecider } from './deciders/case.js';
export type { ChildCommand, ChildEvent, ChildState } from './deciders/child.js';
export { childDecider } from './deciders/child.js';
export type { ClubCommand, ClubEvent, ClubState } from './deciders/club.js';
export { clubDecider } from './deciders/club.js';
export type { Command, CommandMetadata, Decider } from './deciders/decider.js';
// Deciders and command handling
export { foldEvents } from './deciders/decider.js';
export type { ProgrammeCommand, ProgrammeEvent, ProgrammeState } from './deciders/programme.js';
export { programmeDecider, programmeWindowOf } from './deciders/programme.js';
export type { ProgrammeWindow } from './deciders/programmeWindow.js';
export {
  requireDateInProgramme,
  requireInstantInProgramme,
  requireSameProgramme,
} from './deciders/programmeWindow.js';
export type { ExpectedRevision } from './errors/errors.js';
export {
  AccessDeniedError,
  ConcurrencyError,
  DisclosureError,
  IdempotencyError,
  isAccessDeniedError,
  isConcurrencyError,
  isDisclosureError,
  isIdempotencyError,
  isKeyStoreError,
  isLanternError,
  isLeaseLostError,
  isRuleViolationError,
  isStoreError,
  isStreamNotFoundError,
  isValidationError,
  KeyStoreError,
  LanternError,
  LeaseLostError,
  RuleViolationError,
  StoreError,
  StreamNotFoundError,
  ValidationError,
} from './errors/errors.js';
// Events
export * from './events/catalog.js';
export type {
  AgeBand,
  AreaLevelName,
  CountedAgeBand,
  Money,
  PseudonymKind,
  Sex,
  SexAgeCounts,
  SexCounts,
} from './events/common.js';
export {
  ageBand,
  ageBands,
  areaCode,
  areaLevels,
  caseId,
  childRef,
  coarsenAreaCode,
  countedAgeBand,
  currencyCode,
  householdRef,
  instant,
  localDate,
  money,
  pseudonym,
  pseudonymPrefixes,
  sex,
  sexAgeCounts,
  sexCounts,
  sexes,
  slugId,
  staffRef,
} from './events/common.js';
export { defaultEventRegistry } from './events/defaultRegistry.js';
export type {
  DefineEventOptions,
  EventData,
  EventDefinition,
  EventOf,
  Upcaster,
} from './events/defineEvent.js';
export { defineEvent, validationErrorFrom } from './events/defineEvent.js';
export type {
  DomainEvent,
  EventMetadata,
  MetadataInput,
  NewEvent,
  RecordedEvent,
  SerializedEvent,
} from './events/envelope.js';
export {
  deserializeEvent,
  eventMetadataSchema,
  serializeEvent,
} from './events/envelope.js';
export type {
  IndicatorCondition,
  IndicatorDefinition,
  IndicatorFilter,
  IndicatorStage,
  IndicatorValue,
} from './events/indicatorDefinition.js';
export {
  indicatorCondition,
  indicatorDefinition,
  indicatorFilter,
  indicatorValue,
} from './events/indicatorDefinition.js';
export {
  copyFields,
  isKeepableText,
  isPlainJson,
  type JsonProblem,
  type JsonProblemOptions,
  jsonProblem,
  keepableTextOf,
  setOwnField,
  unkeepableTextFix,
  unkeepableTextRule,
} from './events/plainJson.js';
export type { EventRegistry, EventTexts } from './events/registry.js';
export { createEventRegistry } from './events/registry.js';
export { schemaKeepsValidInput, schemaOutputsJson } from './events/schemaKeepsInput.js';
// Access
export type { AccessPolicy, Audience, Principal, Role, RoleAccess, Scope } from './privacy/access.js';
export {
  audiences,
  audiencesFor,
  checkPrincipal,
  defaultAccessPolicy,
  describePrincipal,
  isStaffId,
  principalIdProblem,
  requireAudienceFor,
  roles,
  scopeOf,
} from './privacy/access.js';
// Audit
export type { AuditEntry, AuditSink, ExportAudit, RecordAuditOptions } from './privacy/audit.js';
export { auditExport, auditStreamOf, auditSystemRecorder, auditTo, recordAudit } from './privacy/audit.js';
// Privacy
export type { EnvelopeKeyStoreOptions, KeyManagementService } from './privacy/envelopeKeyStore.js';
export { createEnvelopeKeyStore } from './privacy/envelopeKeyStore.js';
export type { ChildErasure, EraseChildOptions } from './privacy/eraseChild.js';
export { eraseChild } from './privacy/eraseChild.js';
export type { GuardedEventStoreOptions } from './privacy/guardedEventStore.js';
export { createGuardedEventStore } from './privacy/guardedEventStore.js';
export type { DataKeyLookup, KeyStore } from './privacy/keyStore.js';
export { childErasedError, requireChildRef } from './privacy/keyStore.js';
export type {
  OpenSealedFieldOptions,
  ProtectedEventStoreOptions,
  RedactionNotice,
} from './privacy/protectedEventStore.js';
export {
  createProtectedEventStore,
  openSealedField,
  redactProtectedFields,
} from './privacy/protectedEventStore.js';
export type {
  EventProtection,
  PlaintextRule,
  ProtectedText,
  ProtectedTextOptions,
  Redacted,
  RedactionReason,
  SealedField,
} from './privacy/protectedFields.js';
export {
  isRedacted,
  isSealedField,
  protectedText,
  redacted,
  redactionReasons,
} from './privacy/protectedFields.js';
export { derivePseudonym, mintPseudonym } from './privacy/pseudonyms.js';
export type { SealingContext } from './privacy/sealing.js';
export { createDataKey, dataKeyLength, openText, sealText } from './privacy/sealing.js';
// Read models
export type {
  DeadLetter,
  DocumentChange,
  DocumentsQuery,
  Lease,
  ProjectionBatch,
  ProjectionCheckpoint,
  ReadModelDocument,
  ReadModelStore,
} from './readModels/readModelStore.js';
export {
  changeJson,
  checkBatches,
  checkLeaseOwner,
  checkLeaseTtl,
  checkProjectionVersion,
  checkReadModelName,
  checkReadModelTableName,
  compareKeys,
  documentJson,
  documentPages,
  documentsPageOf,
  keyPrefixBound,
  keyPrefixOf,
  maxKeyBytes,
  maxReadModelTableName,
  readModelTableName,
  refuseUnkeepableDocument,
  refuseUnkeepableKey,
} from './readModels/readModelStore.js';
export type {
  AppendOptions,
  AppendResult,
  EventFilter,
  EventStore,
  ReadAllOptions,
  ReadStreamOptions,
  SubscribeOptions,
} from './store/eventStore.js';
export { matchesFilter, pagesOf, streamCategory, streamName } from './store/eventStore.js';
export type { StoredPlace } from './store/expectedRevision.js';
// The store port
export {
  expectedRevisionFits,
  parseExpectedRevision,
  resendOf,
  retryFits,
} from './store/expectedRevision.js';
export { deepFreeze, parseMaxCount, parseStreamId } from './store/storeArguments.js';
// Time
export { addDays, addYears, daysBetween, isKnownTimeZone, localDateOf, localTimeOf } from './time/time.js';
