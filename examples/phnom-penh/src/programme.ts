import type { ProgrammeWindow } from '@lantern/core';

/** Protecting Street Kids, Phnom Penh: the figures its own reports give. */
export const phnomPenh = {
  programmeId: 'psk-phnom-penh',
  title: 'Protecting Street Kids – Phnom Penh',
  country: 'KH',
  timeZone: 'Asia/Phnom_Penh',
  plannedStart: '2018-12-01',
  plannedEnd: '2020-11-30',
  currency: 'USD',
} as const;

export const programmeWindow: ProgrammeWindow = {
  programmeId: phnomPenh.programmeId,
  plannedStart: phnomPenh.plannedStart,
  plannedEnd: phnomPenh.plannedEnd,
  timeZone: phnomPenh.timeZone,
  currency: phnomPenh.currency,
};

/** What the reports say, to check the recorded events against. */
export const reportedFigures = {
  /** "established 65 clubs … by the third year" (final report). */
  kidsClubs: 65,
  /** "After just three short weeks back on the streets, 14 new cases of abuse" (year-2 update). */
  newCasesInThreeWeeks: 14,
  /** "Total Budget $83,000, Dec 18 – Nov 20" (final report), in cents. */
  totalBudget: 8_300_000,
  /** "Budget: Year 2: $38,000" (year-2 update), in cents. */
  yearTwoBudget: 3_800_000,
  /** "$19,800 still needed" (year-2 update), in cents. */
  yearTwoStillNeeded: 1_980_000,
} as const;

/**
 * Area codes follow the country › province › district › commune hierarchy. The district and
 * commune numbers are illustrative: the reports name places, not codes.
 */
export const areas = {
  phnomPenh: 'KH-12',
  /** Daun Penh: the riverfront and the red-light district where the night teams work. */
  riverfront: 'KH-12-02',
  redLightDistrict: 'KH-12-02-01',
  riverfrontCommunes: ['KH-12-02-02', 'KH-12-02-03'],
  /** Mean Chey: the Stung Mean Chey slums. */
  stungMeanChey: 'KH-12-06',
  stungMeanCheyCommunes: ['KH-12-06-01', 'KH-12-06-02', 'KH-12-06-03', 'KH-12-06-04'],
} as const;

/** The two budget periods (at most a year each, as IATI requires), in cents. */
export const budgets = [
  { periodStart: '2018-12-01', periodEnd: '2019-11-30', amount: 4_500_000 },
  { periodStart: '2019-12-01', periodEnd: '2020-11-30', amount: reportedFigures.yearTwoBudget },
] as const;

/** Clubs stopped meeting in mid-March 2020 by government order. */
export const clubsSuspendedOn = '2020-03-16';
/** Home visits began once staff were allowed back into the communities (date illustrative). */
export const homeVisitsRestartedOn = '2020-06-01';
