import { z } from 'zod';
import { isKnownTimeZone } from '../time/time.js';

/**
 * Building blocks shared by the event catalog. Child-linked events carry a pseudonym, a sex,
 * an age band and an area code: never a name, a birth date, a photo or an address.
 */

export const sexes = ['female', 'male', 'other', 'unknown'] as const;
export const sex = z.enum(sexes);
export type Sex = z.infer<typeof sex>;

export const ageBands = ['0-4', '5-11', '12-17', '18+'] as const;
export const ageBand = z.enum(ageBands);
export type AgeBand = z.infer<typeof ageBand>;

/** Counts may be recorded before a child's age is known (a crowd on a night shift). */
export const countedAgeBand = z.enum([...ageBands, 'unknown']);
export type CountedAgeBand = z.infer<typeof countedAgeBand>;

/** Calendar date in the programme's own time zone, `YYYY-MM-DD`. */
export const localDate = z.iso.date({ error: 'must be a calendar date written YYYY-MM-DD' });

/** A moment in the field, ISO-8601 with its offset, e.g. `2020-05-31T23:30:00+07:00`. */
export const instant = z.iso.datetime({
  offset: true,
  error: 'must be an ISO-8601 date-time with an offset, e.g. 2020-05-31T23:30:00+07:00',
});

/**
 * Location code from the programme's hierarchy: country › province › district › commune,
 * e.g. `KH`, `KH-12`, `KH-12-09`, `KH-12-09-03`.
 */
export const areaCode = z
  .string()
  .regex(
    /^[A-Z]{2}(-[0-9A-Z]{1,4}){0,3}$/,
    'must be an area code such as KH-12-09 (country, then up to three levels)',
  );

/** The levels of an area code, coarsest first: `KH` country, `KH-12` province, `KH-12-09` district, `KH-12-09-03` commune. */
export const areaLevels = ['country', 'province', 'district', 'commune'] as const;
export type AreaLevelName = (typeof areaLevels)[number];

/**
 * An area code cut to `level`: `KH-12-09-03` at `district` is `KH-12-09`. A code at or above
 * `level` is returned as it is.
 */
export const coarsenAreaCode = (code: string, level: AreaLevelName): string => {
  const depth = areaLevels.indexOf(level);
  if (depth < 0) {
    throw new TypeError(`"${String(level)}" is not an area level; use one of ${areaLevels.join(', ')}.`);
  }
  return code
    .split('-')
    .slice(0, depth + 1)
    .join('-');
};

/** Identifier of a thing the programme runs (club, case, team, objective…): a lowercase slug. */
export const slugId = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9-]{0,62}$/,
    'must be a lowercase slug of letters, digits and hyphens (at most 63 characters)',
  );

/**
 * Case numbers are the programme's own references (`PP-2020-014`); they must hold a digit so
 * that a name can never pass as one.
 */
export const caseId = z
  .string()
  .regex(
    /^(?=.*[0-9])[A-Z0-9][A-Z0-9-]{2,31}$/,
    'must be a case number of capital letters, digits and hyphens with at least one digit, e.g. PP-2020-014',
  );

export const pseudonymPrefixes = {
  child: 'ch',
  household: 'hh',
  staff: 'st',
  donor: 'dn',
  agency: 'ag',
} as const;
export type PseudonymKind = keyof typeof pseudonymPrefixes;

/**
 * A pseudonym: a kind prefix and 16–64 lowercase hex digits (`ch_3f9a1c0b7e2d4a61`), minted at
 * random or derived with a keyed HMAC. Anything else — a name, a birth date — is refused.
 */
export const pseudonym = (kind: PseudonymKind) =>
  z
    .string()
    .regex(
      new RegExp(`^${pseudonymPrefixes[kind]}_[0-9a-f]{16,64}$`),
      `must be a ${kind} pseudonym such as ${pseudonymPrefixes[kind]}_3f9a1c0b7e2d4a61 (never a name or a date); mint one with mintPseudonym("${kind}")`,
    );

export const childRef = pseudonym('child');
export const householdRef = pseudonym('household');
export const staffRef = pseudonym('staff');
export const donorRef = pseudonym('donor');
export const agencyRef = pseudonym('agency');

export const currencyCode = z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 currency code such as USD');

export const timeZone = z
  .string()
  .refine(isKnownTimeZone, 'must be an IANA time zone such as Asia/Phnom_Penh');

const minorUnits = z
  .number()
  .int('must be a whole number of minor units (cents), not a fraction')
  .positive('must be more than zero')
  .max(Number.MAX_SAFE_INTEGER, 'is too large to be held exactly');

/**
 * Money in integer minor units (cents) of the programme's currency. A gift in another currency
 * keeps its original amount and currency beside the converted one, with the rate's date.
 */
export const money = z.strictObject({
  amount: minorUnits,
  currency: currencyCode,
  original: z
    .strictObject({
      amount: minorUnits,
      currency: currencyCode,
      rateDate: localDate,
    })
    .optional(),
});
export type Money = z.infer<typeof money>;

const count = z.number().int('must be a whole number').nonnegative('cannot be negative');

/**
 * True when no two cells are the same. Breakdowns are short (at most one cell per sex × age band
 * when valid), so they are compared pairwise, without building keys; long lists use a Set of keys.
 */
const noRepeats = <T>(
  cells: readonly T[],
  same: (a: T, b: T) => boolean,
  key: (cell: T) => unknown,
): boolean => {
  if (cells.length > 32) return new Set(cells.map(key)).size === cells.length;
  for (let i = 1; i < cells.length; i++) {
    for (let j = 0; j < i; j++) if (same(cells[i] as T, cells[j] as T)) return false;
  }
  return true;
};

/** Counts broken down by sex × age band; each pair appears at most once. */
export const sexAgeCounts = z.array(z.strictObject({ sex, ageBand: countedAgeBand, count })).refine(
  (cells) =>
    noRepeats(
      cells,
      (a, b) => a.sex === b.sex && a.ageBand === b.ageBand,
      (c) => `${c.sex}|${c.ageBand}`,
    ),
  'lists a sex × age band pair more than once',
);
export type SexAgeCounts = z.infer<typeof sexAgeCounts>;

/** Counts broken down by sex; each sex appears at most once. */
export const sexCounts = z.array(z.strictObject({ sex, count })).refine(
  (cells) =>
    noRepeats(
      cells,
      (a, b) => a.sex === b.sex,
      (c) => c.sex,
    ),
  'lists a sex more than once',
);
export type SexCounts = z.infer<typeof sexCounts>;

/** A list without repeats. */
export const uniqueList = <T extends z.ZodType>(item: T) =>
  z.array(item).refine(
    (items) =>
      // JSON text tells strings apart exactly as the strings themselves do: no need to write it.
      new Set(items.every((i) => typeof i === 'string') ? items : items.map((i) => JSON.stringify(i)))
        .size === items.length,
    'lists the same value twice',
  );

export const nonNegativeCount = count;
export const positiveCount = z.number().int('must be a whole number').positive('must be more than zero');
