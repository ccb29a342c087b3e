import { type Audience, areaCode, audiences, DisclosureError } from '@lantern/core';

// Audiences (`internal`: the programme's own staff, nothing hidden; `donor` and `public`: outside the
// programme, protected) are defined once, in @lantern/core, next to the roles that may ask for them.

/** How finely time is cut, finest first. */
export type PeriodGranularity = 'day' | 'week' | 'month' | 'quarter' | 'year';

/** Every period granularity, finest first. */
export const periodGranularities: readonly PeriodGranularity[] = ['day', 'week', 'month', 'quarter', 'year'];

/** Level of an area code: 0 country (`KH`), 1 province (`KH-12`), 2 district (`KH-12-06`), 3 commune (`KH-12-06-03`). */
export type AreaLevel = 0 | 1 | 2 | 3;

/** What may be released to one audience. */
export interface DisclosurePolicy {
  /**
   * Counts from 1 to `threshold − 1` are hidden and shown as `"<threshold"` (`"<5"`), together with
   * whatever else must be hidden so that they cannot be worked out from totals. Zero is shown.
   * An integer, at least 3 (with 2, the label `"<2"` would itself say the count is 1).
   * Default: 5 for every audience (it has no effect for `internal`, where nothing is hidden).
   */
  readonly threshold: number;
  /**
   * Finest area level that may be released (0 country … 3 commune).
   * Defaults: `internal` 3 (commune), `donor` 1 (province), `public` 0 (country).
   */
  readonly areaLevel: AreaLevel;
  /**
   * Finest period that may be released. Donors and the public never get periods finer than a month,
   * whatever this says. Defaults: `internal` `'day'`, `donor` and `public` `'month'`.
   */
  readonly finestPeriod: PeriodGranularity;
}

/** The defaults of each audience's policy (see {@link DisclosurePolicy} for what each field means). */
export const defaultDisclosurePolicies: Readonly<Record<Audience, DisclosurePolicy>> = Object.freeze({
  internal: Object.freeze({ threshold: 5, areaLevel: 3, finestPeriod: 'day' }),
  donor: Object.freeze({ threshold: 5, areaLevel: 1, finestPeriod: 'month' }),
  public: Object.freeze({ threshold: 5, areaLevel: 0, finestPeriod: 'month' }),
});

/** Periods finer than this never leave the programme. */
const finestOutsidePeriod: PeriodGranularity = 'month';

const rank = (granularity: PeriodGranularity): number => periodGranularities.indexOf(granularity);

const isAudience = (value: unknown): value is Audience =>
  typeof value === 'string' && (audiences as readonly string[]).includes(value);

const isGranularity = (value: unknown): value is PeriodGranularity =>
  typeof value === 'string' && (periodGranularities as readonly string[]).includes(value);

const isAreaLevel = (value: unknown): value is AreaLevel =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 3;

/** Throws unless `audience` is one of {@link audiences}. */
export const requireAudience = (audience: unknown): Audience => {
  if (!isAudience(audience)) {
    throw new DisclosureError(
      `Unknown audience ${JSON.stringify(audience)}. Release to "internal", "donor" or "public".`,
    );
  }
  return audience;
};

/** A value as a message shows it: a text in quotes, so that "5" given as text does not read as 5. */
const shown = (value: unknown): string => (typeof value === 'string' ? JSON.stringify(value) : String(value));

/** Throws a DisclosureError unless `policy` is well formed and allowed for `audience`. */
export const requirePolicy = (audience: Audience, policy: DisclosurePolicy): DisclosurePolicy => {
  const { threshold, areaLevel, finestPeriod } = policy;
  if (typeof threshold !== 'number' || !Number.isInteger(threshold) || threshold < 3) {
    throw new DisclosureError(
      `The ${audience} policy's threshold is ${shown(threshold)}; it must be an integer of at least 3 ` +
        '(with 2, "<2" would itself reveal a count of 1). Use the default 5 unless your programme agreed another.',
    );
  }
  if (!isAreaLevel(areaLevel)) {
    throw new DisclosureError(
      `The ${audience} policy's areaLevel is ${shown(areaLevel)}; it must be 0 (country), 1 (province), ` +
        '2 (district) or 3 (commune).',
    );
  }
  if (!isGranularity(finestPeriod)) {
    throw new DisclosureError(
      `The ${audience} policy's finestPeriod is ${JSON.stringify(finestPeriod)}; use one of ${periodGranularities.join(', ')}.`,
    );
  }
  if (audience !== 'internal' && rank(finestPeriod) < rank(finestOutsidePeriod)) {
    throw new DisclosureError(
      `The ${audience} policy allows periods by ${finestPeriod}, but releases outside the programme carry ` +
        `periods no finer than a month. Set finestPeriod to "month" or coarser.`,
    );
  }
  return policy;
};

/**
 * The policy for `audience`: its defaults ({@link defaultDisclosurePolicies}) with `overrides` on top,
 * validated. Throws a DisclosureError for a threshold that is not an integer ≥ 3, an area level outside
 * 0..3, an unknown period, or a period finer than a month for `donor` or `public`.
 */
export const resolvePolicy = (
  audience: Audience,
  overrides?: Partial<DisclosurePolicy>,
): DisclosurePolicy => {
  const base = defaultDisclosurePolicies[requireAudience(audience)];
  const policy: DisclosurePolicy = {
    threshold: overrides?.threshold ?? base.threshold,
    areaLevel: overrides?.areaLevel ?? base.areaLevel,
    finestPeriod: overrides?.finestPeriod ?? base.finestPeriod,
  };
  return Object.freeze(requirePolicy(audience, policy));
};

/** The level of an area code: `KH` 0, `KH-12` 1, `KH-12-06` 2, `KH-12-06-03` 3. */
export const areaLevelOf = (code: string): AreaLevel => {
  if (!areaCode.safeParse(code).success) {
    throw new DisclosureError(
      `"${code}" is not an area code. Use the programme's codes: country, then up to three levels, e.g. KH-12-06.`,
    );
  }
  return (code.split('-').length - 1) as AreaLevel;
};

/**
 * `code` truncated to `level`: `coarsenArea('KH-12-06-03', 1)` is `'KH-12'`. A code already at or above
 * `level` is returned unchanged.
 */
export const coarsenArea = (code: string, level: AreaLevel): string => {
  areaLevelOf(code);
  if (!isAreaLevel(level)) {
    throw new DisclosureError(
      `Area level ${String(level)} does not exist: use 0 (country), 1 (province), 2 (district) or 3 (commune).`,
    );
  }
  return code
    .split('-')
    .slice(0, level + 1)
    .join('-');
};

/**
 * Throws a DisclosureError when periods of `granularity` are finer than `policy` allows for `audience`
 * (e.g. `'day'` or `'week'` for a donor: periods no finer than a month). Weeks count as finer than
 * months; quarters and years are coarser.
 */
export const checkPeriodGranularity = (
  granularity: PeriodGranularity,
  audience: Audience,
  policy: DisclosurePolicy,
): void => {
  requireAudience(audience);
  if (!isGranularity(granularity)) {
    throw new DisclosureError(
      `Unknown period granularity ${JSON.stringify(granularity)}; use one of ${periodGranularities.join(', ')}.`,
    );
  }
  const finest =
    audience === 'internal' || rank(policy.finestPeriod) > rank(finestOutsidePeriod)
      ? policy.finestPeriod
      : finestOutsidePeriod;
  if (rank(granularity) < rank(finest)) {
    throw new DisclosureError(
      `A ${audience} release may not show periods by ${granularity}: periods no finer than a ${finest}. ` +
        `Group the figures by ${finest} (or coarser) before releasing them.`,
    );
  }
};

/** Throws a DisclosureError when `code` is finer than `policy.areaLevel` allows for `audience`. */
export const checkAreaLevel = (code: string, audience: Audience, policy: DisclosurePolicy): void => {
  const level = areaLevelOf(code);
  if (level > policy.areaLevel) {
    throw new DisclosureError(
      `Area "${code}" (level ${level}) is finer than the ${audience} policy allows (level ${policy.areaLevel}). ` +
        `Coarsen it first, e.g. with coarsenArea(code, ${policy.areaLevel}) or coarsenAreas(table, dimension, ${policy.areaLevel}).`,
    );
  }
};
