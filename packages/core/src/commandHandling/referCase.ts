import { type CaseCommand, type CaseEvent, type CaseState, caseDecider } from '../deciders/case.js';
import { type ChildEvent, type ChildState, childDecider } from '../deciders/child.js';
import type { Command, Decider } from '../deciders/decider.js';
import type { ProgrammeWindow } from '../deciders/programmeWindow.js';
import { isStreamNotFoundError, RuleViolationError } from '../errors/errors.js';
import type { AuditPurpose, CatalogEventData, Consent } from '../events/catalog.js';
import type { DomainEvent } from '../events/envelope.js';
import type { EventRegistry } from '../events/registry.js';
import { describePrincipal, type Principal } from '../privacy/access.js';
import type { AuditSink } from '../privacy/audit.js';
import type { EventStore } from '../store/eventStore.js';
import { type CommandResult, handleCommand } from './commandHandler.js';

/**
 * A referral checked against the child's consent: the process that sees both the case stream
 * and the child's stream. A referral whose consent basis is `given` needs the child's current
 * consent for services and for sharing with the agency; without them it is refused, and the
 * worker either records fresh consent or refers with an override and its reason. Every override
 * is audited (`consent-override`) before the referral is written, so no override goes unrecorded.
 */

type Referral = CatalogEventData<'CaseReferred'>;
type OverrideReason = Extract<Referral['consentBasis'], { kind: 'overridden' }>['reason'];

/** Why an override was needed, as audited, when the caller gives no purpose. */
const purposeOfOverride: Readonly<Record<OverrideReason, AuditPurpose>> = {
  'imminent-danger': 'safeguarding-emergency',
  'legal-duty': 'legal-duty',
  'court-order': 'legal-duty',
  'child-cannot-consent': 'case-management',
};

export interface ReferCaseOptions {
  /** Holds the case and the child's streams. A guarded store audits the reads and checks the append. */
  store: EventStore;
  programme: ProgrammeWindow;
  command: Command<'ReferCase', Referral>;
  /** Who refers: its id must be the command's `recordedBy`. */
  principal: Principal;
  audit: {
    /** Where the `consent-override` entry goes: an unguarded sink such as `auditTo(store)`. */
    sink: AuditSink;
    /** Default: from the override's reason (imminent-danger → safeguarding-emergency, legal-duty and court-order → legal-duty, child-cannot-consent → case-management). */
    purpose?: AuditPurpose;
    /** A ticket or request number. Default: none. */
    reference?: string;
  };
  /** Default: the event catalog. */
  registry?: EventRegistry;
}

const fold = async <TState, TEvent extends DomainEvent>(
  store: EventStore,
  streamId: string,
  decider: Decider<never, TState, TEvent>,
): Promise<TState> => {
  let state = decider.initialState();
  try {
    for await (const event of store.readStream(streamId)) {
      state = decider.evolve(state, event as unknown as TEvent);
    }
  } catch (error) {
    if (!isStreamNotFoundError(error)) throw error;
  }
  return state;
};

/** What the referral lacks of the child's consent; empty when consent covers it. */
export const missingConsentFor = (consent: Consent | undefined, toAgencyRef: string): string[] => [
  ...(consent?.services ? [] : ['consent for services']),
  ...(consent?.sharing.includes(toAgencyRef) ? [] : [`consent to share with ${toAgencyRef}`]),
];

/**
 * Refers a case for a service after checking the child's consent (see the module comment).
 * Throws RuleViolationError `referral-consent` when consent is missing and not overridden;
 * otherwise audits any override, then records CaseReferred as `handleCommand` does.
 */
export const referCase = async (options: ReferCaseOptions): Promise<CommandResult<CaseState, CaseEvent>> => {
  const { store, programme, command, principal } = options;
  if (principal.id !== command.metadata.recordedBy) {
    throw new RuleViolationError(
      'referrer-records',
      `The referral is recorded by ${command.metadata.recordedBy} but made by ${describePrincipal(principal)}. Record it under the referrer's own pseudonym.`,
    );
  }
  const { caseId, toAgencyRef, consentBasis } = command.data;
  const cases = caseDecider(programme);
  const caseState = await fold(store, `case-${caseId}`, cases as Decider<never, CaseState, CaseEvent>);
  if (caseState.status === 'none') {
    // The decider words the refusal.
    cases.decide(command as CaseCommand, caseState);
  }
  const childRef = caseState.status === 'none' ? undefined : caseState.childRef;
  const child =
    childRef === undefined
      ? undefined
      : await fold(
          store,
          `child-${childRef}`,
          childDecider(programme) as Decider<never, ChildState, ChildEvent>,
        );
  const consent = child?.status === 'registered' ? child.consent : undefined;
  const missing = missingConsentFor(consent, toAgencyRef);
  if (consentBasis.kind === 'given' && missing.length > 0) {
    throw new RuleViolationError(
      'referral-consent',
      `Child ${childRef ?? '(unknown)'} on case "${caseId}" has not given ${missing.join(' or ')}${
        child?.status === 'erased'
          ? ' (the child’s data was erased)'
          : consent
            ? ''
            : ' (no consent is recorded)'
      }. Record the child's fresh consent with ChangeConsent, or refer with consentBasis { kind: 'overridden', reason } (imminent-danger, legal-duty, child-cannot-consent or court-order): an override is audited.`,
    );
  }
  // A resend of a referral already recorded writes nothing, so it overrides nothing again.
  const alreadyReferred =
    caseState.status !== 'none' && Object.hasOwn(caseState.referrals, command.data.referralId);
  if (consentBasis.kind === 'overridden' && childRef !== undefined && !alreadyReferred) {
    await options.audit.sink({
      programmeId: programme.programmeId,
      principal: { id: principal.id, role: principal.role },
      action: 'consent-override',
      target: childRef,
      purpose: options.audit.purpose ?? purposeOfOverride[consentBasis.reason],
      ...(options.audit.reference === undefined ? {} : { reference: options.audit.reference }),
    });
  }
  return handleCommand({
    store,
    decider: cases,
    streamId: `case-${caseId}`,
    command,
    ...(options.registry ? { registry: options.registry } : {}),
  });
};
