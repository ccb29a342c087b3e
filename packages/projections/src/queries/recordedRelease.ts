import { auditExport, type ExportAudit } from '@lantern/core';
import type { IndicatorProjection } from '../indicators/indicatorProjection.js';
import { adoptPeriods } from './frozenPeriods.js';
import { adoptFunnelOrCases, funnelOrCasesClaim, funnelOrCasesOf, storeOf } from './funnelOrCases.js';
import type { IndicatorData } from './indicatorValues.js';
import {
  adoptClaims,
  claimsMadeFrom,
  keepMade,
  type ReleasedIndicator,
  type ReleaseRequest,
  releaseMaking,
  releaseNow,
} from './releaseIndicator.js';
import { claimAttempts, readReleaseRegister, registerBusy, writeClaims } from './releaseRegister.js';
import { requireFiguresFor } from './requireFiguresFor.js';
import { adoptVintages } from './vintages.js';

/**
 * Indicator values by period and breakdown, fit for the audience: exact for the programme's
 * staff; for a donor or the public, through disclosure control (areas coarsened, small counts as
 * "<5", secondary suppression, percentages and medians only over enough cases: see
 * releaseIndicator.ts). A release outside the programme is bound by every release outside it
 * recorded in the register of releases of the read-model store the data was loaded from, and is
 * recorded there before its figures are given back: the guards (one policy per table, one table
 * per count, the case funnel or the indicators about cases) then hold across processes, scripts
 * and store handles on the same file, so a donor report made yesterday binds today's. What went
 * out is kept there too, and given again as it went out: counts that add up over time in
 * vintages of months (vintages.ts), counts of things counted once and stocks period by period
 * once a period has ended (frozenPeriods.ts). Outside the programme the data must come from
 * `loadIndicatorData`, which notes the store it read, and the store must take writes. Releases to
 * internal staff are neither bound nor recorded.
 */
export const releaseIndicator = async (
  projection: IndicatorProjection,
  data: IndicatorData,
  request: ReleaseRequest,
): Promise<ReleasedIndicator> => {
  if (request.audience === 'internal') return releaseNow(projection, data, request);
  // A principal who may not have these figures is refused before the register is read or made.
  requireFiguresFor(request.principal, { query: 'releaseIndicator', audience: request.audience });
  const readModels = storeOf(data);
  if (readModels === undefined) {
    throw new TypeError(
      'A release outside the programme is recorded in the register of releases of the read-model store its data ' +
        'was loaded from, and this data was not loaded from one: load it with loadIndicatorData.',
    );
  }
  for (let attempt = 1; attempt <= claimAttempts; attempt += 1) {
    const register = await readReleaseRegister(readModels);
    adoptClaims(projection, data, register.claims);
    adoptVintages(data, register.vintages);
    adoptPeriods(data, register.periods);
    adoptFunnelOrCases(readModels, register.claims.get(funnelOrCasesClaim));
    const made = releaseMaking(projection, data, request);
    const claims = claimsMadeFrom(projection, data);
    const funnelOrCases = funnelOrCasesOf(readModels);
    if (funnelOrCases !== undefined) claims.set(funnelOrCasesClaim, funnelOrCases);
    const vintages = new Map([...made.vintages].map(([key, vintage]) => [key, [vintage]]));
    if (await writeClaims(readModels, register, claims, vintages, made.periods)) {
      // What this release made is the data's once the register holds it, and not before.
      keepMade(data, made, true);
      return made.released;
    }
    // Another writer recorded a release meanwhile: what it recorded may refuse this one.
  }
  throw registerBusy();
};

/**
 * `releaseIndicator`, audited: a release to an audience other than `internal` is an
 * export, and is audited (target `indicator/{id}`) and recorded in the register of releases
 * before the figures are handed over; a refusal is audited as `access-denied`. Needs `principal`,
 * and data from `loadIndicatorData`.
 */
export const exportIndicator = (
  projection: IndicatorProjection,
  data: IndicatorData,
  request: ReleaseRequest & { audit: ExportAudit },
): Promise<ReleasedIndicator> =>
  auditExport(request, `indicator/${request.indicator}`, () => releaseIndicator(projection, data, request));
