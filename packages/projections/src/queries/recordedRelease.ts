import { auditExport, type ExportAudit } from '@lantern/core';
import type { IndicatorProjection } from '../indicators/indicatorProjection.js';
import { adoptFunnelOrCases, funnelOrCasesClaim, funnelOrCasesOf, storeOf } from './funnelOrCases.js';
import type { IndicatorData } from './indicatorValues.js';
import {
  adoptClaims,
  claimsMadeFrom,
  type ReleasedIndicator,
  type ReleaseRequest,
  releaseIndicator,
} from './releaseIndicator.js';
import { claimAttempts, readReleaseRegister, registerBusy, writeClaims } from './releaseRegister.js';

/**
 * `releaseIndicator`, bound by every release outside the programme recorded in the read-model
 * store the data was loaded from, and recorded there before its figures are given back. The
 * guards `releaseIndicator` applies (one policy per table, one table per count, the case funnel
 * or the indicators about cases) then hold across processes and across store handles on the same
 * file: a donor report made yesterday by another script binds today's. Releases to internal
 * staff are neither bound nor recorded. The data must come from `loadIndicatorData`, which notes
 * the store it read.
 */
export const releaseIndicatorRecorded = async (
  projection: IndicatorProjection,
  data: IndicatorData,
  request: ReleaseRequest,
): Promise<ReleasedIndicator> => {
  if (request.audience === 'internal') return releaseIndicator(projection, data, request);
  const readModels = storeOf(data);
  if (readModels === undefined) {
    throw new TypeError(
      'releaseIndicatorRecorded records a release in the read-model store its data was loaded from: load the data ' +
        'with loadIndicatorData, or use releaseIndicator, which records nothing.',
    );
  }
  for (let attempt = 1; attempt <= claimAttempts; attempt += 1) {
    const register = await readReleaseRegister(readModels);
    adoptClaims(projection, data, register.claims);
    adoptFunnelOrCases(readModels, register.claims.get(funnelOrCasesClaim));
    const released = releaseIndicator(projection, data, request);
    const claims = claimsMadeFrom(projection, data);
    const funnelOrCases = funnelOrCasesOf(readModels);
    if (funnelOrCases !== undefined) claims.set(funnelOrCasesClaim, funnelOrCases);
    if (await writeClaims(readModels, register, claims)) return released;
    // Another writer recorded a release meanwhile: what it recorded may refuse this one.
  }
  throw registerBusy();
};

/**
 * `releaseIndicatorRecorded`, audited: a release to an audience other than `internal` is an
 * export, and is audited (target `indicator/{id}`) and recorded in the register of releases
 * before the figures are handed over; a refusal is audited as `access-denied`. Needs `principal`,
 * and data from `loadIndicatorData`.
 */
export const exportIndicator = (
  projection: IndicatorProjection,
  data: IndicatorData,
  request: ReleaseRequest & { audit: ExportAudit },
): Promise<ReleasedIndicator> =>
  auditExport(request, `indicator/${request.indicator}`, () =>
    releaseIndicatorRecorded(projection, data, request),
  );
