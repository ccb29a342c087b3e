import type { EventStore, Principal, ReadModelStore } from '@lantern/core';
import {
  builtInIndicators,
  createCaseFunnelProjection,
  createIndicatorProjection,
  createProjectionEngine,
  fundingProjection,
  fundingStatus,
  type Indicator,
  type IndicatorProjection,
  indicatorTable,
  loadIndicatorData,
  type Projection,
  type ReleasedIndicator,
  type ReleasedValue,
  releaseIndicator,
} from '@lantern/projections';
import { phnomPenh } from './programme.js';

/**
 * The programme's own indicator, as it defined it in its first month (the DefineIndicator event
 * in record.ts carries exactly this definition), beside Lantern's built-in set.
 */
export const kidsClubsEstablished: Indicator = {
  id: 'kids-clubs-established',
  title: "Kids' clubs established",
  unit: 'clubs',
  measure: 'unit',
  ascending: true,
  definition: {
    filter: {
      eventTypes: ['ClubEstablished'],
      where: [{ field: 'data.kind', op: 'eq', value: 'kids-club' }],
    },
    value: { kind: 'count' },
    dateField: 'data.establishedOn',
    dimensions: ['data.area'],
  },
};

const builtIn = (id: string): Indicator => {
  const indicator = builtInIndicators.find((i) => i.id === id);
  if (!indicator) throw new Error(`Lantern has no built-in indicator "${id}".`);
  return indicator;
};

/** The built-in "active kids' clubs", which the programme adopts with its own target of 65. */
export const activeKidsClubs = builtIn('active-kids-clubs');

export const programmeIndicators: readonly Indicator[] = [...builtInIndicators, kidsClubsEstablished];

export interface ProgrammeProjections {
  indicators: IndicatorProjection;
  all: readonly Projection[];
}

export const programmeProjections = (): ProgrammeProjections => {
  const indicators = createIndicatorProjection({
    indicators: programmeIndicators,
    timeZone: phnomPenh.timeZone,
  });
  return {
    indicators,
    all: [indicators, fundingProjection, createCaseFunnelProjection({ timeZone: phnomPenh.timeZone })],
  };
};

/** Brings every read model up to the end of the log, then stops the engine. */
export const updateReadModels = async (
  eventStore: EventStore,
  readModels: ReadModelStore,
  projections: ProgrammeProjections,
): Promise<void> => {
  const engine = createProjectionEngine({ eventStore, readModels, projections: projections.all });
  await engine.start();
  try {
    await engine.caughtUp();
  } finally {
    await engine.stop();
  }
};

/**
 * Indicators whose total would add different units together (kilograms of rice to bottles of
 * oil): shown by item and unit instead, as their note says to read them.
 */
const shownBy: Readonly<Record<string, readonly [item: string, unit: string]>> = {
  'food-aid-quantity': ['item.item', 'item.unit'],
};

const formatNumber = (value: number | null | undefined): string =>
  value === null || value === undefined ? '—' : value.toLocaleString('en-US', { maximumFractionDigits: 1 });

/**
 * The results framework as the programme's staff see it (internal: nothing suppressed), over the
 * life of the programme: actual, target and % of target, with the funding status per budget.
 * `principal` is who reads it: one of the programme's staff (a donor or a service is refused).
 */
export const formatIndicators = async (
  readModels: ReadModelStore,
  projections: ProgrammeProjections,
  principal: Principal,
): Promise<string> => {
  const data = await loadIndicatorData(readModels, projections.indicators);
  const lines = ['Indicators, life of programme (internal)', ''];
  for (const indicator of programmeIndicators) {
    const breakdown = shownBy[indicator.id];
    if (breakdown) {
      // No total: it would add kilograms to bottles. A line per item and unit instead.
      lines.push(`  ${indicator.title}`);
      const table = indicatorTable(projections.indicators, data, {
        principal,
        indicator: indicator.id,
        by: breakdown,
      });
      const [itemDimension, unitDimension] = breakdown;
      for (const row of table.rows) {
        const item = row.dims[itemDimension] ?? '';
        const unit = row.dims[unitDimension] ?? '';
        lines.push(`    ${item.padEnd(70)} ${formatNumber(row.actual).padStart(8)} ${unit}`);
      }
      continue;
    }
    const row = indicatorTable(projections.indicators, data, { principal, indicator: indicator.id }).rows[0];
    const percent = indicator.measure === 'percentage' && typeof row?.actual === 'number' ? '%' : '';
    const actual =
      row === undefined || row.actual === null ? 'not recorded' : `${formatNumber(row.actual)}${percent}`;
    const target =
      row?.target === undefined
        ? ''
        : `  target ${formatNumber(row.target)} (${formatNumber(row.percentOfTarget)}%)`;
    lines.push(`  ${indicator.title.padEnd(72)} ${actual.padStart(8)}${target}`);
  }
  lines.push('', 'Funding status per budget period');
  for (const period of await fundingStatus(readModels, { principal })) {
    const dollars = (cents: number) => `$${(cents / 100).toLocaleString('en-US')}`;
    lines.push(
      `  ${period.periodStart} – ${period.periodEnd}: budget ${dollars(period.budget)}, received ${dollars(period.fundsReceived)}, committed ${dollars(period.commitments)}, gap ${dollars(period.gap)}`,
    );
  }
  return lines.join('\n');
};

/** How a released figure reads in a report: the number (with its unit), "<5", or why it is not given. */
const formatReleased = (actual: ReleasedValue, unit = ''): string =>
  'suppressed' in actual
    ? typeof actual.value === 'string'
      ? actual.value
      : actual.suppressed === 'few-observations'
        ? 'too few cases'
        : 'hidden'
    : `${formatNumber(actual.value)}${unit}`;

/**
 * What a donor is given of a few headline figures, by quarter and by year: small counts shown as
 * "<5", and whatever else would give one away hidden, the same way in every release, and each
 * month as it first went out.
 */
export const formatDonorView = async (
  readModels: ReadModelStore,
  projections: ProgrammeProjections,
  donor: Principal,
): Promise<string> => {
  const data = await loadIndicatorData(readModels, projections.indicators);
  const lines = [
    'What a donor is given (small counts shown as "<5"; figures that would give one away hidden; medians over too few cases not given)',
    '',
  ];
  const shown: readonly [id: string, unit: string][] = [
    ['cases-disclosed', ''],
    ['children-placed-family-care', ''],
    ['pct-cases-followed-up-within-7-days', '%'],
    // A median goes out over enough cases only, and each period as it first went out.
    ['median-days-disclosure-to-placement', ' days'],
  ];
  for (const [id, unit] of shown) {
    // Recorded in the register of releases in the read models, so that a report made later, by
    // another run, is bound by what this one gave.
    const released = (period: 'quarter' | 'year') =>
      releaseIndicator(projections.indicators, data, {
        principal: donor,
        audience: 'donor',
        indicator: id,
        period,
      });
    const byQuarter = await released('quarter');
    const byYear = await released('year');
    // Each month's figures as they first went out to donors: records made since stay internal.
    lines.push(
      `  ${byQuarter.title}${byQuarter.through ? ` (as first released, to ${byQuarter.through})` : ''}`,
    );
    const cells = (release: ReleasedIndicator) =>
      release.rows.map((row) => `${row.period} ${formatReleased(row.actual, unit)}`).join(', ');
    lines.push(`    by quarter: ${cells(byQuarter)}`, `    by year:    ${cells(byYear)}`);
  }
  return lines.join('\n');
};
