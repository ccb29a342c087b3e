import {
  type AuditPurpose,
  type AuditSink,
  type KeyStore,
  openSealedField,
  type Principal,
  type ReadModelStore,
  type Redacted,
} from '@lantern/core';
import type { CaseFileDocument, KeptProtected } from './caseFileProjection.js';

/** A protected field of the case file as it is read: the text, or why it is not given. */
export type OpenedText = string | Redacted;

export interface OpenedPlacement {
  readonly placedAt: string;
  readonly placementType: string;
  readonly caregiverRelation: string;
  readonly caregiverContact?: OpenedText;
  readonly placementAddress?: OpenedText;
}

/** A case file with its protected fields opened. */
export interface CaseFile extends Omit<CaseFileDocument, 'narrative' | 'placements'> {
  readonly narrative?: OpenedText;
  readonly placements: readonly OpenedPlacement[];
}

export interface ReadCaseFileOptions {
  /** The key store the protected fields were sealed with. Required. */
  keyStore: KeyStore;
  /** The case file projection's name. Default `case_file`. */
  projection?: string;
  /**
   * Records the read in the programme's audit trail (`case-read` of `case-{caseId}`) before
   * anything is opened; if the entry cannot be written, nothing is read. Default: not audited
   * (the caller audits, e.g. through a guarded store).
   */
  audit?: {
    readonly sink: AuditSink;
    readonly programmeId: string;
    readonly principal: Principal;
    readonly purpose: AuditPurpose;
  };
}

const openKept = async (
  keyStore: KeyStore,
  childRef: string,
  field: string,
  kept: KeptProtected | undefined,
): Promise<OpenedText | undefined> => {
  if (kept === undefined) return undefined;
  if ('redacted' in kept) return kept;
  return openSealedField({
    keyStore,
    childRef,
    eventId: kept.event,
    eventType: kept.type,
    field,
    value: kept.sealed,
  });
};

const withField = <T extends object>(document: T, field: string, value: unknown): T =>
  value === undefined ? document : { ...document, [field]: value };

/**
 * One case's file with its protected fields opened with the key store: each is its text, or
 * `{ redacted: 'erased' }` once the child's data was erased, `no-key` or `tampered`. Undefined
 * when the case file holds no such case. Give `audit` to record the read in the audit trail, as
 * every case-level read must be (see docs/privacy.md).
 */
export const readCaseFile = async (
  readModels: ReadModelStore,
  caseId: string,
  options: ReadCaseFileOptions,
): Promise<CaseFile | undefined> => {
  const { audit } = options;
  if (audit) {
    await audit.sink({
      programmeId: audit.programmeId,
      principal: { id: audit.principal.id, role: audit.principal.role },
      action: 'case-read',
      target: `case-${caseId}`,
      purpose: audit.purpose,
    });
  }
  const document = (await readModels.getDocument(options.projection ?? 'case_file', 'cases', caseId)) as
    | CaseFileDocument
    | undefined;
  if (!document) return undefined;
  const { keyStore } = options;
  const { narrative, placements, ...facts } = document;
  const opened = await Promise.all(
    placements.map(async ({ caregiverContact, placementAddress, ...placement }) =>
      withField(
        withField(
          placement,
          'caregiverContact',
          await openKept(keyStore, document.child, 'caregiverContact', caregiverContact),
        ),
        'placementAddress',
        await openKept(keyStore, document.child, 'placementAddress', placementAddress),
      ),
    ),
  );
  return withField<CaseFile>(
    { ...facts, placements: opened },
    'narrative',
    await openKept(keyStore, document.child, 'narrative', narrative),
  );
};
