import { AccessDeniedError } from '../errors/errors.js';
import type { AreaLevelName } from '../events/common.js';

/**
 * Who reads what. A principal is a person or a service with a role and a scope; the role decides
 * which stream categories, fields and audiences it may be given, the scope which cases.
 * `internal` figures are exact and stay inside the programme; `donor` and `public` figures go
 * through disclosure control.
 */
export const roles = ['field-worker', 'case-manager', 'analyst', 'donor', 'service'] as const;
export type Role = (typeof roles)[number];

export const audiences = ['internal', 'donor', 'public'] as const;
export type Audience = (typeof audiences)[number];

/**
 * Which cases a principal works on. A case is someone's when they recorded one of its events;
 * a child's stream is theirs when they recorded one of its events or one of their cases is about
 * that child (see `docs/privacy.md`, "Roles and scopes").
 */
export type Scope =
  /** The principal's own cases only. */
  | { readonly kind: 'own' }
  /** The cases of a team: its members' staff pseudonyms (the principal is always one of them). */
  | { readonly kind: 'team'; readonly members: readonly string[] }
  /** Every case of the programme. */
  | { readonly kind: 'programme' };

export interface Principal {
  /**
   * Who it is, never a real name: a staff pseudonym (`st_…`) for field workers, case managers
   * and analysts; a donor pseudonym (`dn_…`) for a donor; an agency pseudonym (`ag_…`) or a
   * slug starting `svc-` for a service.
   */
  readonly id: string;
  readonly role: Role;
  /** Which cases it works on. Default `{ kind: 'own' }`, the narrowest. */
  readonly scope?: Scope;
}

const staffPseudonym = /^st_[0-9a-f]{16,64}$/;
const idRules: Readonly<Record<Role, { pattern: RegExp; example: string }>> = {
  'field-worker': { pattern: staffPseudonym, example: 'a staff pseudonym such as st_3f9a1c0b7e2d4a61' },
  'case-manager': { pattern: staffPseudonym, example: 'a staff pseudonym such as st_3f9a1c0b7e2d4a61' },
  analyst: { pattern: staffPseudonym, example: 'a staff pseudonym such as st_3f9a1c0b7e2d4a61' },
  donor: { pattern: /^dn_[0-9a-f]{16,64}$/, example: 'a donor pseudonym such as dn_3f9a1c0b7e2d4a61' },
  service: {
    pattern: /^(ag_[0-9a-f]{16,64}|svc-[a-z0-9][a-z0-9-]{0,58})$/,
    example: 'an agency pseudonym such as ag_3f9a1c0b7e2d4a61 or a slug such as svc-sync-server',
  },
};

/** True when the id is a staff pseudonym (`st_…`). */
export const isStaffId = (id: string): boolean => staffPseudonym.test(id);

/** Whether `role` is one of {@link roles}, as the text itself: an array or an inherited name is not. */
const isRole = (role: unknown): role is Role => typeof role === 'string' && Object.hasOwn(idRules, role);

/** Why a principal's id does not fit its role, or undefined when it does. */
export const principalIdProblem = (principal: { id: unknown; role: unknown }): string | undefined => {
  const { role } = principal;
  if (!isRole(role)) {
    return `${typeof role === 'string' ? `"${role}"` : `a ${Array.isArray(role) ? 'list' : typeof role}`} is not a role; give one of ${roles.join(', ')}, as text`;
  }
  const rule = idRules[role];
  if (typeof principal.id !== 'string' || !rule.pattern.test(principal.id)) {
    return `a ${role} is named by ${rule.example} (never a name)`;
  }
  return undefined;
};

/**
 * Throws TypeError unless the principal is an object with a known role (as text), an id that fits
 * it and a well-formed scope. An id that does not fit is not repeated in the message: it may be a
 * name.
 */
export const checkPrincipal = (principal: Principal): Principal => {
  if (typeof principal !== 'object' || principal === null || Array.isArray(principal)) {
    throw new TypeError(
      'A principal is an object { id, role, scope? }; give who asks, by pseudonym and role.',
    );
  }
  const problem = principalIdProblem(principal);
  if (problem) throw new TypeError(`A principal's id and role do not fit: ${problem}.`);
  const scope = principal.scope;
  if (scope !== undefined) {
    const kind = (scope as { kind?: unknown }).kind;
    if (kind !== 'own' && kind !== 'team' && kind !== 'programme') {
      throw new TypeError(
        `Principal ${principal.id}: scope must be { kind: 'own' }, { kind: 'team', members } or { kind: 'programme' }.`,
      );
    }
    if (scope.kind === 'team' && !(Array.isArray(scope.members) && scope.members.every(isStaffId))) {
      throw new TypeError(
        `Principal ${principal.id}: a team scope lists its members' staff pseudonyms (st_…), never names.`,
      );
    }
  }
  return principal;
};

/** The principal's scope, `own` when none is given. */
export const scopeOf = (principal: Principal): Scope => principal.scope ?? { kind: 'own' };

/** How a principal is named in messages: id and role, never more. */
export const describePrincipal = (principal: Principal): string => `${principal.id} (${principal.role})`;

// ---------------------------------------------------------------------------------------------
// The access policy: data, so a programme can read it, print it and tighten it.

/** What one role may do with the event store. Categories are stream name prefixes before the first `-`. */
export interface RoleAccess {
  /** Categories whose streams the role may read one by one (`readStream`). */
  readonly readStreams: readonly string[];
  /** Categories whose events reach the role through `readAll` and `subscribe`. */
  readonly feeds: readonly string[];
  /** Categories the role may append to. */
  readonly appendTo: readonly string[];
  /** Protected fields (narratives, addresses): `visible` as the protecting store reads them, or `redacted`. */
  readonly protectedFields: 'visible' | 'redacted';
  /**
   * Pseudonyms and numbers that tie an event to a child (childRef, caseId, householdRef, the
   * stream name of a case or child): `visible`, or `redacted` to `{ redacted: 'not-permitted' }`.
   */
  readonly childLinks: 'visible' | 'redacted';
  /**
   * How finely the areas of child-linked events are given (events in a case or child stream, or
   * carrying one of `childLinkFields`): `commune` as recorded, or cut to `district` (`KH-12-09-03`
   * → `KH-12-09`), `province` or `country`. Sex, age band, concerns and a commune can together
   * point at one child in a small commune. Default policy: `commune` for staff, `district` for
   * services.
   */
  readonly childLinkedArea: AreaLevelName;
  /** May it read the audit stream? Only with programme scope, whatever this says. */
  readonly readAudit: boolean;
}

export interface AccessPolicy {
  readonly roles: Readonly<Record<Role, RoleAccess>>;
  /** Categories whose streams are about one child or case: reads of them are limited by scope and audited. */
  readonly caseLevel: readonly string[];
  /** Fields that tie an event to a child, redacted for roles whose `childLinks` is `redacted`. */
  readonly childLinkFields: readonly string[];
  /** Data fields holding an area code, cut to each role's `childLinkedArea` on child-linked events. */
  readonly areaFields: readonly string[];
}

const activities = ['club', 'outreach', 'aid', 'training'] as const;

/**
 * The default policy (see `docs/privacy.md`, "Roles and scopes"). Field workers and case
 * managers work cases within their scope and see what they recorded; analysts see every event
 * within their scope, pseudonymised, without protected fields; donors read no events at all;
 * services get feeds with everything that ties an event to a child redacted and the areas of
 * child-linked events no finer than a district, and read no case or child stream by name.
 * Nobody appends to the audit stream through a guarded store.
 */
export const defaultAccessPolicy: AccessPolicy = {
  caseLevel: ['case', 'child'],
  childLinkFields: [
    'childRef',
    'childRefs',
    'newChildRefs',
    'attendeeRefs',
    'householdRef',
    'caseId',
    'referralId',
  ],
  areaFields: ['area'],
  roles: {
    'field-worker': {
      readStreams: ['programme', ...activities, 'case', 'child'],
      feeds: ['programme', ...activities, 'case', 'child'],
      appendTo: [...activities, 'case', 'child'],
      protectedFields: 'visible',
      childLinks: 'visible',
      childLinkedArea: 'commune',
      readAudit: false,
    },
    'case-manager': {
      readStreams: ['programme', ...activities, 'case', 'child'],
      feeds: ['programme', ...activities, 'case', 'child'],
      appendTo: ['programme', ...activities, 'case', 'child'],
      protectedFields: 'visible',
      childLinks: 'visible',
      childLinkedArea: 'commune',
      readAudit: true,
    },
    analyst: {
      readStreams: ['programme', ...activities, 'case', 'child'],
      feeds: ['programme', ...activities, 'case', 'child'],
      appendTo: [],
      protectedFields: 'redacted',
      childLinks: 'visible',
      childLinkedArea: 'commune',
      readAudit: false,
    },
    donor: {
      readStreams: [],
      feeds: [],
      appendTo: [],
      protectedFields: 'redacted',
      childLinks: 'redacted',
      childLinkedArea: 'province',
      readAudit: false,
    },
    service: {
      readStreams: ['programme', ...activities],
      feeds: ['programme', ...activities, 'case', 'child'],
      appendTo: [],
      protectedFields: 'redacted',
      childLinks: 'redacted',
      childLinkedArea: 'district',
      readAudit: false,
    },
  },
};

/** The audit stream's category: readable as `RoleAccess.readAudit` says, writable by nobody. */
export const auditCategory = 'audit';

// ---------------------------------------------------------------------------------------------
// Audiences

const audiencesByRole: Readonly<Record<Role, readonly Audience[]>> = {
  'field-worker': ['internal', 'donor', 'public'],
  'case-manager': ['internal', 'donor', 'public'],
  analyst: ['internal', 'donor', 'public'],
  donor: ['donor', 'public'],
  service: ['public'],
};

/** The audiences whose figures a role may be given. */
export const audiencesFor = (role: Role): readonly Audience[] => {
  const allowed = (audiencesByRole as Record<string, readonly Audience[] | undefined>)[role];
  if (!allowed) {
    throw new TypeError(`"${String(role)}" is not a role; use one of ${roles.join(', ')}.`);
  }
  return allowed;
};

/** Throws AccessDeniedError, saying which audience to ask for, unless the principal may read `audience`. */
export const requireAudienceFor = (principal: Principal, audience: Audience): void => {
  const allowed = audiencesFor(principal.role);
  if (!allowed.includes(audience)) {
    throw new AccessDeniedError(
      describePrincipal(principal),
      `read ${audience} figures`,
      `a ${principal.role} is given ${allowed.join(' or ')} figures only; ask for audience "${allowed[0]}"`,
    );
  }
};
