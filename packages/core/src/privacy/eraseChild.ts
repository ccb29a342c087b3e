import { isStreamNotFoundError } from '../errors/errors.js';
import { type AuditPurpose, AuditRecorded, ChildDataErased } from '../events/catalog.js';
import type { EventStore } from '../store/eventStore.js';
import { checkPrincipal, type Principal } from './access.js';
import { recordAudit } from './audit.js';
import { type KeyStore, requireChildRef } from './keyStore.js';

export interface EraseChildOptions {
  /**
   * Where `ChildDataErased` and the audit entry are appended: the event store itself or the
   * protecting store around it (not a role-guarded store, which refuses audit appends). Required.
   */
  eventStore: EventStore;
  /** The key store holding the child's data key. Required. */
  keyStore: KeyStore;
  /** The programme whose audit stream records the erasure. Required. */
  programmeId: string;
  /** The staff member carrying out the child's or caregiver's request (a staff pseudonym). Required. */
  requestedBy: Principal;
  /** Why, for the audit trail. Default `erasure-request`. */
  purpose?: AuditPurpose;
  /** The request's own number, e.g. `REQ-2020-17`, for the audit trail. Default: none. */
  reference?: string;
  /** The clock for `erasedAt`. Default: `() => new Date()`. */
  now?: () => Date;
}

export interface ChildErasure {
  readonly childRef: string;
  /** When the child's data was erased: now, or the first erasure's time when it was erased before. */
  readonly erasedAt: string;
  /** True when `ChildDataErased` was already in the child's stream (nothing new was appended there). */
  readonly alreadyErased: boolean;
}

/** The child's stream, `child-{childRef}`. */
const childStream = (childRef: string): string => `child-${childRef}`;

const previousErasure = async (eventStore: EventStore, childRef: string): Promise<string | undefined> => {
  try {
    for await (const event of eventStore.readStream(childStream(childRef))) {
      if (event.type === ChildDataErased.type) return (event.data as { erasedAt: string }).erasedAt;
    }
  } catch (error) {
    if (!isStreamNotFoundError(error)) throw error;
  }
  return undefined;
};

/**
 * Erases a child's protected data by crypto-shredding: deletes the child's data key (so every
 * sealed copy of their narratives, contacts and addresses, in any store, read model or copy of
 * the log, can no longer be opened), appends `ChildDataErased` to `child-{childRef}` (projections
 * that kept sealed fields purge them; indicator counts do not change) and records an `erasure`
 * entry in the programme's audit trail.
 *
 * The key goes first: should the append fail, the data is already unreadable (it reads
 * `erased`), and calling eraseChild again finishes the work. Calling it for a child already
 * erased appends no second `ChildDataErased` but records the request in the audit trail.
 * What erasure cannot reach (backups, copies already exported, figures already released) is
 * listed in docs/privacy.md, "Erasure".
 */
export const eraseChild = async (childRef: string, options: EraseChildOptions): Promise<ChildErasure> => {
  requireChildRef(childRef, 'eraseChild');
  const { eventStore, keyStore, programmeId } = options ?? ({} as EraseChildOptions);
  if (typeof eventStore?.append !== 'function')
    throw new TypeError('eraseChild needs the eventStore to record the erasure in.');
  if (typeof keyStore?.delete !== 'function')
    throw new TypeError("eraseChild needs the keyStore holding the child's data key.");
  const principal = checkPrincipal(options.requestedBy);
  const now = options.now ?? (() => new Date());
  // Everything is validated before anything is changed.
  const erasure = ChildDataErased.toNew(
    { childRef, requestedBy: principal.id, erasedAt: now().toISOString() },
    { occurredAt: now().toISOString(), recordedBy: principal.id },
  );
  const audit = AuditRecorded.parse({
    programmeId,
    principal: { id: principal.id, role: principal.role },
    action: 'erasure',
    target: childRef,
    purpose: options.purpose ?? 'erasure-request',
    ...(options.reference === undefined ? {} : { reference: options.reference }),
  });
  const before = await previousErasure(eventStore, childRef);
  const erasedAt = before ?? erasure.data.erasedAt;

  await keyStore.delete(childRef, erasedAt);
  if (before === undefined) {
    await eventStore.append(childStream(childRef), [erasure], { expectedRevision: 'any' });
  }
  await recordAudit(eventStore, audit, { now });
  return { childRef, erasedAt, alreadyErased: before !== undefined };
};
