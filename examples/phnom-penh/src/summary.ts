import { addDays, type CatalogEvent, localDateOf, type RecordedEvent } from '@lantern/core';
import { phnomPenh } from './programme.js';

/**
 * The programme's headline figures, computed from the events alone. (Lantern's projections
 * package computes indicators in general; this fold is the example's own check that the
 * events it recorded reproduce the reports.)
 */
export interface HeadlineFigures {
  events: number;
  streams: number;
  kidsClubsEstablished: number;
  /** The calendar year by which the last kids' club was established. */
  lastClubEstablishedIn: string;
  healingArtsClubs: number;
  clubSessions: number;
  clubsSuspendedForCovid: number;
  nightOutreachShifts: number;
  childContactsOnNightOutreach: number;
  homeVisitsRestartedOn: string | undefined;
  /** Cases disclosed in the 21 days from the first home visit after clubs were suspended. */
  newCasesInThreeWeeks: number;
  casesDisclosed: number;
  childrenPlacedSafely: number;
  placementsByType: Record<string, number>;
  householdsGivenFoodAid: number;
  foodAidByItem: Record<string, { quantity: number; unit: string }>;
  awarenessParticipants: number;
  leafletsDistributed: number;
  staffTrained: number;
  /** Budget periods with amounts, funds received or committed, and the gap, in cents. */
  budgets: { periodStart: string; periodEnd: string; budget: number; funded: number; gap: number }[];
  totalBudget: number;
}

export const summarise = async (events: AsyncIterable<RecordedEvent>): Promise<HeadlineFigures> => {
  const local = (instant: string): string => localDateOf(instant, phnomPenh.timeZone);
  const streams = new Set<string>();
  const figures: HeadlineFigures = {
    events: 0,
    streams: 0,
    kidsClubsEstablished: 0,
    lastClubEstablishedIn: '',
    healingArtsClubs: 0,
    clubSessions: 0,
    clubsSuspendedForCovid: 0,
    nightOutreachShifts: 0,
    childContactsOnNightOutreach: 0,
    homeVisitsRestartedOn: undefined,
    newCasesInThreeWeeks: 0,
    casesDisclosed: 0,
    childrenPlacedSafely: 0,
    placementsByType: {},
    householdsGivenFoodAid: 0,
    foodAidByItem: {},
    awarenessParticipants: 0,
    leafletsDistributed: 0,
    staffTrained: 0,
    budgets: [],
    totalBudget: 0,
  };
  let suspendedOn: string | undefined;
  const disclosureDates: string[] = [];
  const households = new Set<string>();
  const trainedStaff = new Set<string>();
  const funds: { on: string; amount: number }[] = [];

  for await (const recorded of events) {
    figures.events += 1;
    streams.add(recorded.streamId);
    const event = recorded as unknown as CatalogEvent & { metadata: { occurredAt: string } };
    switch (event.type) {
      case 'ClubEstablished':
        if (event.data.kind === 'kids-club') {
          figures.kidsClubsEstablished += 1;
          const year = event.data.establishedOn.slice(0, 4);
          if (year > figures.lastClubEstablishedIn) figures.lastClubEstablishedIn = year;
        } else {
          figures.healingArtsClubs += 1;
        }
        break;
      case 'ClubSessionHeld':
        figures.clubSessions += 1;
        break;
      case 'ClubSuspended':
        if (event.data.reason === 'covid-19-restrictions') {
          figures.clubsSuspendedForCovid += 1;
          suspendedOn ??= local(event.metadata.occurredAt);
        }
        break;
      case 'OutreachConducted':
        if (event.data.mode === 'night-outreach') {
          figures.nightOutreachShifts += 1;
          figures.childContactsOnNightOutreach += event.data.contacts
            .filter((c) => c.ageBand !== '18+')
            .reduce((sum, c) => sum + c.count, 0);
          figures.leafletsDistributed += event.data.leafletsDistributed;
        }
        break;
      case 'HomeVisitConducted': {
        const on = local(event.metadata.occurredAt);
        if (suspendedOn && on >= suspendedOn && figures.homeVisitsRestartedOn === undefined) {
          figures.homeVisitsRestartedOn = on;
        }
        break;
      }
      case 'CaseDisclosed':
        figures.casesDisclosed += 1;
        disclosureDates.push(local(event.metadata.occurredAt));
        break;
      case 'ChildPlacedSafely':
        figures.childrenPlacedSafely += 1;
        figures.placementsByType[event.data.placementType] =
          (figures.placementsByType[event.data.placementType] ?? 0) + 1;
        break;
      case 'AidDistributed':
        households.add(event.data.householdRef);
        for (const item of event.data.items) {
          const total = figures.foodAidByItem[item.item] ?? { quantity: 0, unit: item.unit };
          total.quantity += item.quantity;
          figures.foodAidByItem[item.item] = total;
        }
        break;
      case 'AwarenessSessionHeld':
        figures.awarenessParticipants += event.data.participants.reduce((sum, p) => sum + p.count, 0);
        break;
      case 'LiteratureDistributed':
        figures.leafletsDistributed += event.data.quantity;
        break;
      case 'StaffTrained':
        trainedStaff.add(event.data.staffRef);
        break;
      case 'BudgetApproved':
        figures.budgets.push({
          periodStart: event.data.periodStart,
          periodEnd: event.data.periodEnd,
          budget: event.data.amount.amount,
          funded: 0,
          gap: 0,
        });
        figures.totalBudget += event.data.amount.amount;
        break;
      case 'FundsReceived':
        // Funding gap = budget − funds received − commitments; pledges are not money in hand.
        if (event.data.kind !== 'pledge') {
          funds.push({ on: event.data.receivedOn, amount: event.data.amount.amount });
        }
        break;
      default:
        break;
    }
  }

  figures.streams = streams.size;
  figures.householdsGivenFoodAid = households.size;
  figures.staffTrained = trainedStaff.size;
  const restart = figures.homeVisitsRestartedOn;
  if (restart) {
    const last = addDays(restart, 20);
    figures.newCasesInThreeWeeks = disclosureDates.filter((d) => d >= restart && d <= last).length;
  }
  for (const budget of figures.budgets) {
    budget.funded = funds
      .filter((f) => f.on >= budget.periodStart && f.on <= budget.periodEnd)
      .reduce((sum, f) => sum + f.amount, 0);
    budget.gap = Math.max(0, budget.budget - budget.funded);
  }
  return figures;
};

const dollars = (cents: number): string =>
  `$${(cents / 100).toLocaleString('en-US', { maximumFractionDigits: 2 })}`;

/** The figures as a short report, the reports' own number beside each one they give. */
export const formatHeadlines = (figures: HeadlineFigures, storeLabel: string): string => {
  const yearTwo = figures.budgets.find((b) => b.periodStart === '2019-12-01');
  const rows: [string, string, string][] = [
    [
      "Kids' clubs established",
      `${figures.kidsClubsEstablished} (last in ${figures.lastClubEstablishedIn})`,
      '65 by the third year',
    ],
    [
      `New abuse cases, 3 weeks after home visits restarted (${figures.homeVisitsRestartedOn ?? 'never'})`,
      String(figures.newCasesInThreeWeeks),
      '14',
    ],
    ['Budget, Dec 2018 – Nov 2020', dollars(figures.totalBudget), '$83,000'],
    ['Budget, year 2 (Dec 2019 – Nov 2020)', yearTwo ? dollars(yearTwo.budget) : '—', '$38,000'],
    ['Year 2 still needed (budget − funds − commitments)', yearTwo ? dollars(yearTwo.gap) : '—', '$19,800'],
  ];
  const illustrative: [string, string][] = [
    ['Healing Arts centres', String(figures.healingArtsClubs)],
    ['Club sessions held before the COVID-19 suspension', String(figures.clubSessions)],
    [
      "Kids' clubs and the Healing Arts centre suspended for COVID-19",
      String(figures.clubsSuspendedForCovid),
    ],
    ['Night outreach shifts', String(figures.nightOutreachShifts)],
    ['Child contacts on night outreach', String(figures.childContactsOnNightOutreach)],
    ['Cases disclosed in all', String(figures.casesDisclosed)],
    [
      'Children placed safely',
      `${figures.childrenPlacedSafely} (${Object.entries(figures.placementsByType)
        .map(([type, n]) => `${type} ${n}`)
        .join(', ')})`,
    ],
    ['Households given food aid', String(figures.householdsGivenFoodAid)],
    ['Rice handed out', `${figures.foodAidByItem.rice?.quantity ?? 0} kg`],
    ['People at awareness sessions', String(figures.awarenessParticipants)],
    ['Leaflets distributed', String(figures.leafletsDistributed)],
    ['Staff trained', String(figures.staffTrained)],
  ];
  const width = Math.max(...rows.map((r) => r[0].length), ...illustrative.map((r) => r[0].length));
  return [
    `Protecting Street Kids – Phnom Penh: ${figures.events} events in ${figures.streams} streams (${storeLabel})`,
    '',
    `${'From the reports'.padEnd(width)}  ${'recorded'.padEnd(22)} reported`,
    ...rows.map(([label, value, reported]) => `${label.padEnd(width)}  ${value.padEnd(22)} ${reported}`),
    '',
    'Illustrative (the reports give no figure; the example invents plausible values)',
    ...illustrative.map(([label, value]) => `${label.padEnd(width)}  ${value}`),
  ].join('\n');
};
