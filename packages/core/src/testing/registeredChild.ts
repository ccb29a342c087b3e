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
