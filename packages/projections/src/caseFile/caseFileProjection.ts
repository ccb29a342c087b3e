import {
  isRedacted,
  isSealedField,
  type ReadModelDocument,
  type RecordedEvent,
  type Redacted,
  redacted,
  type SealedField,
} from '@lantern/core';
import { defineProjection, type Projection, type ProjectionView } from '../engine/projection.js';

/**
 * The case file, for case managers: one document per case with its facts (child, area,
 * concerns, how it was disclosed, placements, open or closed) and its protected fields as
 * stored, sealed, with the event and field each was sealed for so that `readCaseFile` can open
 * them with the key store. The read model never holds plaintext: run it on the event store
 * itself, not through `createProtectedEventStore` (an event carrying plaintext is refused, and
 * dead-lettered by the engine).
 *
 * Each case also lists the staff who recorded its events (`recordedBy`): `readCaseFile` opens a
 * case only for a principal whose scope holds one of them, as a guarded store reads its stream.
 *
 * When a child's data is erased (`ChildDataErased`), every protected field of their cases is
 * replaced by `{ redacted: 'erased' }`, now and in any later event about them; the cases
 * themselves stay, so counts of cases do not change.
 */

/** A protected field as the case file keeps it: sealed, with where it was sealed. */
export interface SealedCopy {
  /** The id of the event it was sealed for. */
  readonly event: string;
  /** That event's type. */
  readonly type: string;
  readonly sealed: SealedField;
}

/** A protected field in the case file: sealed, or redacted (erased). */
export type KeptProtected = SealedCopy | Redacted;

export interface CasePlacement {
  /** When the child was placed, as the field recorded it (ISO-8601 with offset). */
  readonly placedAt: string;
  readonly placementType: string;
  readonly caregiverRelation: string;
  readonly caregiverContact?: KeptProtected;
  readonly placementAddress?: KeptProtected;
}

export interface CaseFileDocument extends ReadModelDocument {
  readonly caseId: string;
  readonly programmeId: string;
  /** The child's pseudonym. */
  readonly child: string;
  readonly sex: string;
  readonly ageBand: string;
  readonly area: string;
  readonly concerns: readonly string[];
  readonly disclosedVia: string;
  /** When the case was disclosed, as the field recorded it. */
  readonly disclosedAt: string;
  readonly narrative?: KeptProtected;
  readonly placements: readonly CasePlacement[];
  readonly status: 'open' | 'closed';
  /**
   * The staff pseudonyms who recorded the events of the case's stream (`case-{caseId}`), sorted
   * and unique: the case is in the scope of a principal who, or whose team, is one of them.
   */
  readonly recordedBy: readonly string[];
  /** Set once the child's data was erased. */
  readonly erasedAt?: string;
}

/** A child's cases, and whether the child's data was erased. */
export interface CaseFileChildDocument extends ReadModelDocument {
  readonly cases: readonly string[];
  readonly erasedAt?: string;
}

export const caseFileEventTypes = [
  'CaseDisclosed',
  'ChildPlacedSafely',
  'CaseClosed',
  'CaseReopened',
  'ChildDataErased',
  // Read only to note who recorded them, for a case the file holds.
  'RiskAssessed',
  'CaseReferred',
  'ServiceDelivered',
  'CaseFollowedUp',
] as const;

const erased = redacted('erased');

/** What the case file keeps of a protected field's stored value. */
const keep = (
  event: RecordedEvent,
  field: string,
  value: unknown,
  childErased: boolean,
): KeptProtected | undefined => {
  if (value === undefined) return undefined;
  if (childErased) return erased;
  if (isRedacted(value)) return value;
  if (isSealedField(value)) return { event: event.id, type: event.type, sealed: value };
  throw new TypeError(
    `The case file keeps protected fields only sealed, but ${event.type}'s ${field} in ${event.streamId} is not sealed. ` +
      'Run the case file on the event store itself, not through createProtectedEventStore.',
  );
};

const purge = (kept: KeptProtected | undefined): KeptProtected | undefined =>
  kept === undefined ? undefined : erased;

/** Adds a field to a document only when it has a value (read models hold no undefined). */
const withField = <T extends object>(document: T, field: string, value: unknown): T =>
  value === undefined ? document : { ...document, [field]: value };

/**
 * The case with the event's recorder added to `recordedBy`; the same document when nothing changes.
 * Only events of the case's own stream count, as for a guarded store's scope.
 */
const withRecorder = (document: CaseFileDocument, event: RecordedEvent): CaseFileDocument => {
  const staff = event.metadata.recordedBy;
  if (event.streamId !== `case-${document.caseId}` || document.recordedBy.includes(staff)) return document;
  return { ...document, recordedBy: [...document.recordedBy, staff].sort() };
};

const childOf = (view: ProjectionView, childRef: string): CaseFileChildDocument =>
  (view.get('children', childRef) as CaseFileChildDocument | undefined) ?? { cases: [] };

const addCase = (view: ProjectionView, childRef: string, caseId: string): CaseFileChildDocument => {
  const child = childOf(view, childRef);
  if (!child.cases.includes(caseId))
    view.put('children', childRef, { ...child, cases: [...child.cases, caseId] });
  return child;
};

export interface CaseFileProjectionOptions {
  /** Default `case_file`. */
  name?: string;
}

export const createCaseFileProjection = (options: CaseFileProjectionOptions = {}): Projection =>
  defineProjection({
    name: options.name ?? 'case_file',
    // 2: cases list who recorded them (recordedBy).
    version: 2,
    eventTypes: caseFileEventTypes,
    collections: ['cases', 'children'],
    apply: (event, view) => {
      const data = event.data as Record<string, unknown>;
      switch (event.type) {
        case 'CaseDisclosed': {
          const caseId = String(data.caseId);
          const childRef = String(data.childRef);
          const child = addCase(view, childRef, caseId);
          const childErased = child.erasedAt !== undefined;
          const before = view.get('cases', caseId) as CaseFileDocument | undefined;
          let document: CaseFileDocument = {
            caseId,
            programmeId: String(data.programmeId),
            child: childRef,
            sex: String(data.sex),
            ageBand: String(data.ageBand),
            area: String(data.area),
            concerns: Array.isArray(data.concerns) ? data.concerns.map(String) : [],
            disclosedVia: String(data.disclosedVia),
            disclosedAt: event.metadata.occurredAt,
            placements: before?.placements ?? [],
            status: before?.status ?? 'open',
            recordedBy: before?.recordedBy ?? [],
          };
          document = withRecorder(document, event);
          document = withField(document, 'narrative', keep(event, 'narrative', data.narrative, childErased));
          document = withField(document, 'erasedAt', child.erasedAt);
          view.put('cases', caseId, document);
          return;
        }
        case 'ChildPlacedSafely': {
          const caseId = String(data.caseId);
          const before = view.get('cases', caseId) as CaseFileDocument | undefined;
          // A placement on a case the file never saw disclosed (another programme's log): nothing to add to.
          if (!before) return;
          const childErased = addCase(view, String(data.childRef), caseId).erasedAt !== undefined;
          let placement: CasePlacement = {
            placedAt: event.metadata.occurredAt,
            placementType: String(data.placementType),
            caregiverRelation: String(data.caregiverRelation),
          };
          placement = withField(
            placement,
            'caregiverContact',
            keep(event, 'caregiverContact', data.caregiverContact, childErased),
          );
          placement = withField(
            placement,
            'placementAddress',
            keep(event, 'placementAddress', data.placementAddress, childErased),
          );
          view.put(
            'cases',
            caseId,
            withRecorder({ ...before, placements: [...before.placements, placement] }, event),
          );
          return;
        }
        case 'CaseClosed':
        case 'CaseReopened': {
          const caseId = String(data.caseId);
          const before = view.get('cases', caseId) as CaseFileDocument | undefined;
          if (before) {
            const status = event.type === 'CaseClosed' ? 'closed' : 'open';
            view.put('cases', caseId, withRecorder({ ...before, status }, event));
          }
          return;
        }
        case 'RiskAssessed':
        case 'CaseReferred':
        case 'ServiceDelivered':
        case 'CaseFollowedUp': {
          const caseId = String(data.caseId);
          const before = view.get('cases', caseId) as CaseFileDocument | undefined;
          if (!before) return;
          const after = withRecorder(before, event);
          if (after !== before) view.put('cases', caseId, after);
          return;
        }
        case 'ChildDataErased': {
          const childRef = String(data.childRef);
          const erasedAt = String(data.erasedAt);
          const child = childOf(view, childRef);
          if (child.erasedAt === undefined) view.put('children', childRef, { ...child, erasedAt });
          for (const caseId of child.cases) {
            const before = view.get('cases', caseId) as CaseFileDocument | undefined;
            if (!before) continue;
            const { narrative, ...rest } = before;
            let purged: CaseFileDocument = {
              ...rest,
              placements: before.placements.map(({ caregiverContact, placementAddress, ...placement }) =>
                withField(
                  withField(placement, 'caregiverContact', purge(caregiverContact)),
                  'placementAddress',
                  purge(placementAddress),
                ),
              ),
              erasedAt: before.erasedAt ?? erasedAt,
            };
            purged = withField(purged, 'narrative', purge(narrative));
            view.put('cases', caseId, purged);
          }
          return;
        }
        default:
          return;
      }
    },
  });
