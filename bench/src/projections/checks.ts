import { createHash } from 'node:crypto';
import { documentPages, type ReadModelStore } from '@lantern/core';
import type { Projection } from '@lantern/projections';
import { openDatabase } from '../subjects/betterSqlite3.js';
import { describeTally, sameTally, type Tally } from '../workload.js';
import type { WorkloadSummary } from './programmeWorkload.js';

/**
 * Untimed checks that a subject folded exactly what the workload holds. A built-in rebuild must
 * give figures the generator counted independently; every rebuild of the same workload, from
 * memory or SQLite, must give the same documents (compared by digest across runs).
 */

/** Figures of the built-in read models the generator also counts. */
interface BuiltInFigures {
  cases: number;
  funds: number;
  nightOutreachChildContacts: number;
  leafletsOnOutreach: number;
}

const expectedFigures = (summary: WorkloadSummary): BuiltInFigures => ({
  cases: summary.byType.CaseDisclosed ?? 0,
  funds: summary.byType.FundsReceived ?? 0,
  nightOutreachChildContacts: summary.nightOutreachChildContacts,
  leafletsOnOutreach: summary.leafletsOnOutreach,
});

const differences = (found: BuiltInFigures, expected: BuiltInFigures): string | undefined => {
  const wrong = (Object.keys(expected) as (keyof BuiltInFigures)[]).filter(
    (key) => found[key] !== expected[key],
  );
  return wrong.length === 0
    ? undefined
    : wrong.map((key) => `${key}: expected ${expected[key]}, found ${found[key]}`).join('; ');
};

/** Documents read back per page by the checks: a read model of millions is never held at once. */
const checkPageSize = 10_000;

/**
 * Reads every document of every built-in read model through the store, a page at a time, checks
 * the figures and returns a digest of them all (collections in order, documents in key order).
 */
export const checkBuiltIns = async (
  readModels: ReadModelStore,
  projections: readonly Projection[],
  summary: WorkloadSummary,
): Promise<{ problem?: string; digest: string }> => {
  const hash = createHash('sha256');
  const found: BuiltInFigures = { cases: 0, funds: 0, nightOutreachChildContacts: 0, leafletsOnOutreach: 0 };
  for (const projection of projections) {
    for (const collection of projection.collections) {
      hash.update(`${projection.name}/${collection}\n`);
      let count = 0;
      for await (const page of documentPages(readModels, projection.name, collection, checkPageSize)) {
        count += page.length;
        for (const { key, document } of page) {
          hash.update(`${key}\t${JSON.stringify(document)}\n`);
          if (projection.name === 'indicators' && collection === 'observations') {
            if (document.indicator === 'children-reached-night-outreach') {
              found.nightOutreachChildContacts += Number(document.value);
            } else if (document.indicator === 'leaflets-on-outreach') {
              found.leafletsOnOutreach += Number(document.value);
            }
          }
        }
      }
      if (projection.name === 'case_funnel' && collection === 'cases') found.cases = count;
      if (projection.name === 'funding' && collection === 'funds') found.funds = count;
    }
  }
  const problem = differences(found, expectedFigures(summary));
  return { ...(problem ? { problem } : {}), digest: hash.digest('hex').slice(0, 16) };
};

/**
 * The same figures read with SQL from a SQLite read-model file, for rebuilds too big to read back
 * through the store in one go.
 */
export const checkBuiltInsWithSql = (path: string, summary: WorkloadSummary): string | undefined => {
  const db = openDatabase(path);
  try {
    const one = (sql: string): number => Number(Object.values(db.prepare(sql).all()[0] as object)[0] ?? 0);
    const sumOf = (indicator: string): number =>
      one(
        `SELECT total(json_extract(doc, '$.value')) FROM indicators__observations WHERE json_extract(doc, '$.indicator') = '${indicator}'`,
      );
    return differences(
      {
        cases: one('SELECT count(*) FROM case_funnel__cases'),
        funds: one('SELECT count(*) FROM funding__funds'),
        nightOutreachChildContacts: sumOf('children-reached-night-outreach'),
        leafletsOnOutreach: sumOf('leaflets-on-outreach'),
      },
      expectedFigures(summary),
    );
  } finally {
    db.close();
  }
};

export const checkTally = (found: Tally | undefined, summary: WorkloadSummary): string | undefined =>
  found && sameTally(found, summary.tally)
    ? undefined
    : `expected ${describeTally(summary.tally)}, found ${found ? describeTally(found) : 'nothing'}`;
