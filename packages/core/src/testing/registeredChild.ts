/** What a test says of a child it registers; the rest is what most tests need. */
export interface RegisteredChild {
  readonly childRef: string;
  readonly sex: string;
  readonly ageBand: string;
  readonly area: string;
  /** Default `pp`. */
  readonly programmeId?: string;
  /** Whether the caregiver allows the child to be counted in reports. Default true. */
  readonly reporting?: boolean;
}

/**
 * The data of a `ChildRegistered` event for a test: a child met on outreach, registered with the
 * consent of a caregiver to services and (unless `reporting` is false) to reporting, and nothing
 * else (no tracing, no sharing with other agencies).
 */
export const childRegisteredData = (child: RegisteredChild): Record<string, unknown> => ({
  programmeId: child.programmeId ?? 'pp',
  childRef: child.childRef,
  sex: child.sex,
  ageBand: child.ageBand,
  area: child.area,
  identifiedVia: 'outreach',
  consent: { services: true, reporting: child.reporting ?? true, tracing: false, sharing: [] },
  consentGivenBy: 'caregiver',
  legalBasis: 'consent',
});

/**
 * The data of a `ConsentChanged` event for a test: the caregiver withdraws the child's consent to
 * reporting (services go on), so the child stops being counted in the figures.
 */
export const reportingWithdrawnData = (childRef: string): Record<string, unknown> => ({
  childRef,
  consent: { services: true, reporting: false, tracing: false, sharing: [] },
  withdrawn: true,
  consentGivenBy: 'caregiver',
});

/** What a test says of a case it discloses; the rest is what most tests need. */
export interface DisclosedCase {
  readonly caseId: string;
  readonly childRef: string;
  readonly sex: string;
  readonly ageBand: string;
  readonly area: string;
  /** Default `['neglect']`. */
  readonly concerns?: readonly string[];
  /** Default `pp`. */
  readonly programmeId?: string;
}

/** The data of a `CaseDisclosed` event for a test: a case found on outreach. */
export const caseDisclosedData = (disclosed: DisclosedCase): Record<string, unknown> => ({
  programmeId: disclosed.programmeId ?? 'pp',
  caseId: disclosed.caseId,
  childRef: disclosed.childRef,
  sex: disclosed.sex,
  ageBand: disclosed.ageBand,
  area: disclosed.area,
  concerns: disclosed.concerns ?? ['neglect'],
  disclosedVia: 'outreach',
});
