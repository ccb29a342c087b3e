import { AccessDeniedError } from '../errors/errors.js';

/**
 * Who reads what. A principal is a person or a service with a role; the role decides which
 * audiences' figures it may be given. `internal` figures are exact and stay inside the programme;
 * `donor` and `public` figures go through disclosure control.
 */
export const roles = ['field-worker', 'case-manager', 'analyst', 'donor', 'service'] as const;
export type Role = (typeof roles)[number];

export const audiences = ['internal', 'donor', 'public'] as const;
export type Audience = (typeof audiences)[number];

export interface Principal {
  /** Who it is: a staff pseudonym, a donor pseudonym or a service name — never a real name. */
  readonly id: string;
  readonly role: Role;
}

const audiencesByRole: Readonly<Record<Role, readonly Audience[]>> = {
  'field-worker': ['internal', 'donor', 'public'],
  'case-manager': ['internal', 'donor', 'public'],
  analyst: ['internal', 'donor', 'public'],
  donor: ['donor', 'public'],
  service: ['public'],
};

/** The audiences whose figures a role may be given. */
export const audiencesFor = (role: Role): readonly Audience[] => {
  const allowed = audiencesByRole[role];
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
      `${principal.id} (${principal.role})`,
      `read ${audience} figures`,
      `a ${principal.role} is given ${allowed.join(' or ')} figures only; ask for audience "${allowed[0]}"`,
    );
  }
};
