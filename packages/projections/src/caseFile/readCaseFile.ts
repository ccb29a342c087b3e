import {
  AccessDeniedError,
  type AccessPolicy,
  type AuditEntry,
  type AuditPurpose,
  type AuditSink,
  auditPurposes,
  caseId as caseNumber,
  checkPrincipal,
  defaultAccessPolicy,
  describePrincipal,
  type KeyStore,
  openSealedField,
  type Principal,
  type ReadModelStore,
  type Redacted,
  type RefusableAction,
  type RoleAccess,
  scopeOf,
  slugId,
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
  /**
   * Who reads the case file. Required. Its role must read case streams and be given protected
   * fields (field workers and case managers in the default policy), and the case must be in its
   * scope: someone in it recorded one of the case's events.
   */
  principal: Principal;
  /**
   * Where and how the read is recorded. Required: every read (`case-read` of `case-{caseId}`) and
   * every refusal (`access-denied`) is recorded before anything is opened or refused; if the
   * entry cannot be written, nothing is read.
   */
  audit: {
    /** Where entries go, e.g. `auditTo(eventStore)`. */
    readonly sink: AuditSink;
    /** The programme whose audit stream (`audit-{programmeId}`) records the read. */
    readonly programmeId: string;
    /** Why the principal reads the case file. */
    readonly purpose: AuditPurpose;
    /** A ticket or request number recorded with the entry. Default: none. */
    readonly reference?: string;
  };
  /** What each role may do. Default: `defaultAccessPolicy`. */
  policy?: AccessPolicy;
  /** The case file projection's name. Default `case_file`. */
  projection?: string;
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

/** `a` or `an` before a role, for messages. */
const article = (role: string): string => (/^[aeiou]/.test(role) ? `an ${role}` : `a ${role}`);

/**
 * One case's file with its protected fields opened with the key store: each is its text, or
 * `{ redacted: 'erased' }` once the child's data was erased, `no-key` or `tampered`. Undefined
 * when the case file holds no such case.
 *
 * The same rules as a guarded store's `readStream` of the case stream: the principal's role must
 * read case streams and be given protected fields, and the case must be in its scope; otherwise
 * the refusal is audited (`access-denied`) and an AccessDeniedError says why and what to do. A
 * read is audited (`case-read`, also of a case the file does not hold) before anything is opened.
 */
export const readCaseFile = async (
  readModels: ReadModelStore,
  caseId: string,
  options: ReadCaseFileOptions,
): Promise<CaseFile | undefined> => {
  const missing = (['keyStore', 'principal', 'audit'] as const).filter(
    (option) => options?.[option] === undefined,
  );
  if (missing.length > 0) {
    throw new TypeError(
      `readCaseFile needs ${missing.join(', ')}: the key store that opens protected fields, the principal who reads ` +
        'and audit: { sink, programmeId, purpose } to record the read in the audit trail.',
    );
  }
  const principal = checkPrincipal(options.principal);
  const { audit } = options;
  if (typeof audit.sink !== 'function' || !slugId.safeParse(audit.programmeId).success) {
    throw new TypeError(
      'readCaseFile needs audit: { sink, programmeId, purpose }: where entries go and the programme whose audit stream records the read.',
    );
  }
  if (!(auditPurposes as readonly unknown[]).includes(audit.purpose)) {
    throw new TypeError(
      `readCaseFile: audit purpose ${JSON.stringify(audit.purpose)} is not one of ${auditPurposes.join(', ')}.`,
    );
  }
  // A case number, never a name: it becomes the audit entry's target.
  if (!caseNumber.safeParse(caseId).success) {
    throw new TypeError(
      `readCaseFile: ${JSON.stringify(caseId)} is not a case number; give one of capital letters, digits and hyphens with at least one digit, e.g. PP-2020-014.`,
    );
  }
  const policy = options.policy ?? defaultAccessPolicy;
  const access: RoleAccess = policy.roles[principal.role];
  const scope = scopeOf(principal);
  const who = describePrincipal(principal);
  const streamId = `case-${caseId}`;
  const action = `read the case file of ${streamId}`;

  const record = (entry: Pick<AuditEntry, 'action'> & { refused?: RefusableAction }) =>
    audit.sink({
      programmeId: audit.programmeId,
      principal: { id: principal.id, role: principal.role },
      target: streamId,
      purpose: audit.purpose,
      ...(audit.reference === undefined ? {} : { reference: audit.reference }),
      ...entry,
    });
  /** Audits the refusal, then returns the error to throw. */
  const refuse = async (reason: string): Promise<AccessDeniedError> => {
    await record({ action: 'access-denied', refused: 'case-read' });
    return new AccessDeniedError(who, action, reason);
  };

  if (!access.readStreams.includes('case')) {
    throw await refuse(
      access.feeds.includes('case')
        ? `${article(principal.role)} reads no case stream by name; subscribe to events instead, where what ties them to a child is redacted`
        : `${article(principal.role)} reads no case streams${principal.role === 'donor' ? '; ask for donor figures instead' : ''}`,
    );
  }
  if (access.protectedFields !== 'visible') {
    throw await refuse(
      `${article(principal.role)} is not given protected fields (narratives, caregiver contacts, placement addresses), which the case file opens; ` +
        `read ${streamId} through createGuardedEventStore instead, where they read { redacted: 'not-permitted' }`,
    );
  }
  const document = (await readModels.getDocument(options.projection ?? 'case_file', 'cases', caseId)) as
    | CaseFileDocument
    | undefined;
  if (document && scope.kind !== 'programme') {
    const staffInScope = new Set([principal.id, ...(scope.kind === 'team' ? scope.members : [])]);
    // A case file built before cases listed their recorders names nobody: only programme scope reads it.
    const recordedBy: readonly string[] = Array.isArray(document.recordedBy) ? document.recordedBy : [];
    if (!recordedBy.some((staff) => staffInScope.has(staff))) {
      throw await refuse(
        `it is not within the principal's ${scope.kind === 'own' ? 'own cases' : 'team'}; ask a case manager to add you to the case's team`,
      );
    }
  }
  await record({ action: 'case-read' });
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
