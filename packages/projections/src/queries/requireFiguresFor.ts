import {
  AccessDeniedError,
  type Audience,
  audiences,
  audiencesFor,
  checkPrincipal,
  describePrincipal,
  type Principal,
} from '@lantern/core';

/** What a query gives, for the check of who asks. */
export interface FiguresAsked {
  /** The query as messages name it, e.g. `caseFunnel`. */
  readonly query: string;
  /** The audience whose figures it returns. */
  readonly audience: Audience;
  /**
   * What a refused principal should do instead, given the first audience its role may have.
   * Default: ask for that audience.
   */
  readonly instead?: (allowed: Audience) => string;
}

/**
 * Every query that returns figures takes the principal who asks and checks it before any work:
 * a known role, an id that fits it (a pseudonym, never a name), and a role that may be given the
 * query's audience (`audiencesFor`). A principal left out is a TypeError, never a pass.
 */
export const requireFiguresFor = (principal: Principal | undefined, asked: FiguresAsked): Principal => {
  if (typeof principal !== 'object' || principal === null) {
    throw new TypeError(
      `${asked.query} needs the principal who asks for the figures ({ id, role }); every query checks whom it answers.`,
    );
  }
  checkPrincipal(principal);
  if (!(audiences as readonly unknown[]).includes(asked.audience)) {
    throw new TypeError(
      `${asked.query}: ${JSON.stringify(asked.audience)} is not an audience; ask for one of ${audiences.map((a) => `"${a}"`).join(', ')}.`,
    );
  }
  const allowed = audiencesFor(principal.role);
  if (!allowed.includes(asked.audience)) {
    const first = allowed[0] as Audience;
    throw new AccessDeniedError(
      describePrincipal(principal),
      `read ${asked.audience} figures`,
      `a ${principal.role} is given ${allowed.join(' or ')} figures only; ${
        asked.instead ? asked.instead(first) : `ask for audience "${first}"`
      }`,
    );
  }
  return principal;
};

/** For the internal queries: where a principal outside the programme gets the same figures, released. */
export const releasedBy =
  (query: string, release: string) =>
  (allowed: Audience): string =>
    `${query} gives the programme's exact internal figures; call ${release} with audience "${allowed}", which applies disclosure control`;
