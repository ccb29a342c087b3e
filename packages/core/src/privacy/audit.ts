import { isAccessDeniedError } from '../errors/errors.js';
import { type AuditPurpose, AuditRecorded, type CatalogEventData } from '../events/catalog.js';
import type { EventStore } from '../store/eventStore.js';
import { type Audience, isStaffId, type Principal } from './access.js';

/**
 * The audit trail: who read a case, exported figures, overrode consent or erased a child, when
 * and why. Entries are AuditRecorded events in the programme's stream `audit-{programmeId}`;
 * a guarded store refuses every append to it, so no role can add to or rewrite the trail, and
 * only Lantern's own processes write it, through `recordAudit`.
 */

/** One audit entry: ids, enums and slugs only, never free text. */
export type AuditEntry = CatalogEventData<'AuditRecorded'>;

/** Where a process sends its audit entries; resolves once the entry is stored. */
export type AuditSink = (entry: AuditEntry) => Promise<void>;

/** The audit stream of a programme: `audit-{programmeId}`. */
export const auditStreamOf = (programmeId: string): string => `audit-${programmeId}`;

/**
 * The staff pseudonym that records audit entries of principals who are not staff (donors,
 * services): `metadata.recordedBy` must be a staff pseudonym, and a donor's or a service's id is
 * not one. The entry's `principal` still says who acted.
 */
export const auditSystemRecorder = 'st_0000000000000000';

export interface RecordAuditOptions {
  /**
   * Who records entries of non-staff principals. Default `auditSystemRecorder`. Entries of staff
   * are always recorded by the staff member themselves.
   */
  systemRecorder?: string;
  /** The clock stamping `occurredAt`. Default: `() => new Date()`. */
  now?: () => Date;
  /** Ties the entry to the request it audits. Default: none. */
  correlationId?: string;
}

/**
 * Appends one entry to the programme's audit stream, validated: an entry with free text, a
 * principal named by something other than a pseudonym or a service slug, or an unknown action or
 * purpose is refused with a ValidationError and nothing is written. Use the raw event store, not
 * a guarded one: guarded stores refuse appends to audit streams.
 */
export const recordAudit = async (
  eventStore: EventStore,
  entry: AuditEntry,
  options: RecordAuditOptions = {},
): Promise<void> => {
  const now = options.now ?? (() => new Date());
  const recordedBy = isStaffId(entry.principal.id)
    ? entry.principal.id
    : (options.systemRecorder ?? auditSystemRecorder);
  const event = AuditRecorded.toNew(entry, {
    occurredAt: now().toISOString(),
    recordedBy,
    ...(options.correlationId === undefined ? {} : { correlationId: options.correlationId }),
  });
  await eventStore.append(auditStreamOf(event.data.programmeId), [event], { expectedRevision: 'any' });
};

/** An audit sink that appends to `eventStore` with `recordAudit`. */
export const auditTo =
  (eventStore: EventStore, options: RecordAuditOptions = {}): AuditSink =>
  (entry) =>
    recordAudit(eventStore, entry, options);

/** How a query that releases figures beyond the programme audits them. */
export interface ExportAudit {
  /** Where entries go, e.g. `auditTo(eventStore)`. */
  sink: AuditSink;
  programmeId: string;
  /** Why the figures are released, e.g. `donor-reporting`. */
  purpose: AuditPurpose;
  /** A ticket or request number. Default: none. */
  reference?: string;
}

/**
 * Runs a release of figures for a principal and audits it: a release to an audience other than
 * `internal` is an export, recorded once the figures are ready and before they are handed over
 * (if the entry cannot be written, nothing is handed over); a refusal (AccessDeniedError) is
 * recorded as `access-denied`. Without `audit` the release runs unaudited.
 */
export const auditExport = async <T>(
  request: { principal?: Principal | undefined; audience: Audience; audit?: ExportAudit | undefined },
  target: string,
  release: () => T | Promise<T>,
): Promise<T> => {
  if (typeof request !== 'object' || request === null) {
    throw new TypeError(
      `A release of ${target} needs what is asked, as an object: { audience, principal, … }; give who asks and for whom.`,
    );
  }
  const { principal, audit } = request;
  if (!audit) return release();
  if (!principal) {
    throw new TypeError(
      `An audited release of ${target} needs the principal who asks for it; pass principal with audit.`,
    );
  }
  const entry = {
    programmeId: audit.programmeId,
    principal: { id: principal.id, role: principal.role },
    target,
    purpose: audit.purpose,
    ...(audit.reference === undefined ? {} : { reference: audit.reference }),
  };
  let released: T;
  try {
    released = await release();
  } catch (error) {
    if (isAccessDeniedError(error))
      await audit.sink({ ...entry, action: 'access-denied', refused: 'export' });
    throw error;
  }
  if (request.audience !== 'internal') await audit.sink({ ...entry, action: 'export' });
  return released;
};
