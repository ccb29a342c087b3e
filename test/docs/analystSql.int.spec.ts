import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPostgresReadModelStore } from '@lantern/adapters/postgres';
import { createSqliteEventStore, createSqliteReadModelStore } from '@lantern/adapters/sqlite';
import type { NewEvent, Principal } from '@lantern/core';
import { catalogEvent } from '@lantern/core/testing';
import {
  builtInIndicators,
  caseFunnel,
  createCaseFunnelProjection,
  createIndicatorProjection,
  createProjectionEngine,
  fundingProjection,
  fundingStatus,
  funnelStages,
  type IndicatorData,
  indicatorTable,
  loadIndicatorData,
} from '@lantern/projections';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  postgresConnectionString,
  sql as postgresQuery,
  usePostgresSchema,
} from '../multiInstance/postgresServer.js';

/**
 * The SQL docs/projections.md gives analysts, run as written against read models built from a
 * generated programme: each query must give what the library's own query gives (`indicatorTable`,
 * `caseFunnel` or `fundingStatus`), so an analyst in the sqlite3 shell or a BI tool counts
 * exactly the children the library counts.
 */

const docs = fileURLToPath(new URL('../../docs/projections.md', import.meta.url));

interface DocumentedQuery {
  readonly sql: string;
  /** The indicator it reads; `caseFunnel` or `funding` for those. */
  readonly indicator: string;
  /** Where it runs: PostgreSQL when it names the store's default schema (`lantern.`). */
  readonly database: 'sqlite' | 'postgres';
}

/** Every SQL statement of the "Read-model stores" section, each with what it reads. */
const documentedQueries = (): DocumentedQuery[] => {
  const text = readFileSync(docs, 'utf8');
  const section = text.slice(text.indexOf('## Read-model stores'), text.indexOf('### Several instances'));
  const blocks = [...section.matchAll(/```sql\n([\s\S]*?)```/g)].map((match) => match[1] as string);
  return blocks
    .flatMap((block) => block.split(/;\s*(?:\n|$)/))
    .map((sql) => sql.trim())
    .filter((sql) => sql !== '')
    .map((sql) => {
      // SQLite's json_extract(doc, '$.indicator') or PostgreSQL's doc->>'indicator'.
      const named = sql.includes('funding__budgets')
        ? 'funding'
        : sql.includes('case_funnel__cases')
          ? 'caseFunnel'
          : /(?:'\$\.indicator'\)|->>'indicator') = '([a-z0-9-]+)'/.exec(sql)?.[1];
      if (!named) throw new Error(`A documented query reads no indicator, case funnel or funding: ${sql}`);
      const database = sql.includes('lantern.') ? 'postgres' : 'sqlite';
      return { sql, indicator: named, database };
    });
};

const staff = 'st_00000000000000a1';
const analyst: Principal = { id: 'st_00000000000000e1', role: 'analyst', scope: { kind: 'programme' } };
const programmeId = 'pp';
const children = Array.from({ length: 30 }, (_, i) => `ch_${String(i).padStart(16, '0')}`);
const months = ['01', '02', '03', '04', '05', '06'];

const event = (type: string, data: Record<string, unknown>, occurredAt: string): NewEvent =>
  catalogEvent(type, data, { occurredAt, recordedBy: staff });
const at = (date: string, time = '10:00'): string => `${date}T${time}:00+07:00`;
const consent = (reporting: boolean) => ({ services: true, reporting, tracing: false, sharing: [] });

/**
 * A half-year of one programme: 30 children, a quarter of whom did not consent to reporting when
 * registered (some consent later), a sixth withdraw in April; two clubs' sessions every month, a
 * case disclosed for each child, and a night-outreach shift a month.
 */
const programme = (): [stream: string, events: NewEvent[]][] => [
  ...children.map((childRef, i): [string, NewEvent[]] => [
    `child-${i}`,
    [
      event(
        'ChildRegistered',
        {
          programmeId,
          childRef,
          sex: i % 2 === 0 ? 'female' : 'male',
          ageBand: '12-17',
          area: 'KH-12-06',
          identifiedVia: 'outreach',
          consent: consent(i % 4 !== 0),
          consentGivenBy: 'caregiver',
          legalBasis: 'consent',
        },
        at('2019-01-03'),
      ),
      ...(i % 6 === 1 || i % 8 === 0
        ? [
            event(
              'ConsentChanged',
              {
                childRef,
                consent: consent(i % 8 === 0),
                withdrawn: i % 6 === 1,
                consentGivenBy: 'caregiver',
              },
              at('2019-04-01'),
            ),
          ]
        : []),
    ],
  ]),
  ...['c1', 'c2'].map((clubId, c): [string, NewEvent[]] => [
    `club-${clubId}`,
    [
      event(
        'ClubEstablished',
        {
          programmeId,
          clubId,
          name: `Club ${clubId}`,
          area: 'KH-12-06',
          kind: 'kids-club',
          establishedOn: '2019-01-05',
        },
        at('2019-01-05'),
      ),
      ...months.map((month, m) => {
        const attendeeRefs = children.filter((_, i) => (i + m + c) % 3 === 0);
        return event(
          'ClubSessionHeld',
          {
            clubId,
            heldOn: `2019-${month}-10`,
            activity: 'play',
            attendance: [{ sex: 'female', ageBand: '12-17', count: attendeeRefs.length }],
            attendeeRefs,
          },
          at(`2019-${month}-10`, '16:00'),
        );
      }),
    ],
  ]),
  // Cases: every other one followed up, a third referred, a quarter placed, a fifth closed.
  ...children.map((childRef, i): [string, NewEvent[]] => {
    const month = months[i % months.length] as string;
    const on = `2019-${month}-15`;
    const caseId = `PP-2019-${String(i).padStart(3, '0')}`;
    return [
      `case-${i}`,
      [
        event(
          'CaseDisclosed',
          {
            programmeId,
            caseId,
            childRef,
            sex: 'female',
            ageBand: '12-17',
            area: 'KH-12-06',
            concerns: ['neglect'],
            disclosedVia: 'outreach',
          },
          at(on),
        ),
        ...(i % 2 === 0
          ? [
              event(
                'CaseFollowedUp',
                { caseId, followedUpOn: `2019-${month}-17`, kind: 'home-visit' },
                at(`2019-${month}-17`),
              ),
            ]
          : []),
        ...(i % 3 === 0
          ? [
              event(
                'CaseReferred',
                {
                  caseId,
                  referralId: `r${i}`,
                  service: 'medical',
                  toAgencyRef: 'ag_00000000000000a1',
                  consentBasis: { kind: 'given' },
                },
                at(`2019-${month}-18`),
              ),
            ]
          : []),
        ...(i % 4 === 1
          ? [
              event(
                'ChildPlacedSafely',
                { caseId, childRef, placementType: 'parent', caregiverRelation: 'mother' },
                at(`2019-${month}-20`),
              ),
            ]
          : []),
        ...(i % 5 === 0
          ? [event('CaseClosed', { caseId, reason: 'goals-met' }, at(`2019-${month}-25`))]
          : []),
      ],
    ];
  }),
  [
    'funding-pp',
    [
      ...(
        [
          ['2019-01-01', '2019-12-31', 4_500_000],
          ['2020-01-01', '2020-12-31', 3_800_000],
        ] as const
      ).map(([periodStart, periodEnd, amount]) =>
        event(
          'BudgetApproved',
          { programmeId, periodStart, periodEnd, amount: { amount, currency: 'USD' }, status: 'committed' },
          at(periodStart),
        ),
      ),
      ...(
        [
          ['2019-02-01', 2_000_000, 'funds'],
          ['2019-07-01', 2_800_000, 'funds'],
          ['2020-02-01', 1_000_000, 'funds'],
          ['2020-03-01', 820_000, 'commitment'],
          ['2020-04-01', 500_000, 'pledge'],
          ['2020-05-01', 300_000, 'funds'],
        ] as const
      ).map(([receivedOn, amount, kind]) =>
        event(
          'FundsReceived',
          {
            programmeId,
            amount: { amount, currency: 'USD' },
            receivedOn,
            donorRef: 'dn_00000000000000d1',
            kind,
          },
          at(receivedOn),
        ),
      ),
    ],
  ],
  [
    'outreach-pp',
    months.map((month, m) =>
      event(
        'OutreachConducted',
        {
          programmeId,
          teamId: 'night-1',
          mode: 'night-outreach',
          area: 'KH-12-02',
          shiftStart: `2019-${month}-20T19:00:00+07:00`,
          shiftEnd: `2019-${month}-20T23:30:00+07:00`,
          contacts: [
            { sex: 'female', ageBand: '12-17', count: 2 + m },
            { sex: 'female', ageBand: '18+', count: 4 },
          ],
          newChildRefs: [],
          leafletsDistributed: 10,
        },
        at(`2019-${month}-20`, '23:30'),
      ),
    ),
  ],
];

describe("the analysts' SQL in docs/projections.md", () => {
  const timeZone = 'Asia/Phnom_Penh';
  const projection = createIndicatorProjection({ indicators: builtInIndicators, timeZone });
  const dir = mkdtempSync(join(tmpdir(), 'lantern-analyst-sql-'));
  const path = join(dir, 'lantern.db');
  // The documented queries name the PostgreSQL store's default schema; this file's own stands in.
  const { schema } = usePostgresSchema('analyst_sql');
  let data: IndicatorData;
  let funding: Awaited<ReturnType<typeof fundingStatus>>;
  let funnel: Awaited<ReturnType<typeof caseFunnel>>;

  beforeAll(async () => {
    const eventStore = createSqliteEventStore({ path });
    const readModels = createSqliteReadModelStore({ path });
    const postgres = createPostgresReadModelStore({ connectionString: postgresConnectionString }, { schema });
    try {
      let last = 0n;
      for (const [stream, events] of programme()) last = (await eventStore.append(stream, events)).position;
      for (const store of [readModels, postgres]) {
        const engine = createProjectionEngine({
          eventStore,
          readModels: store,
          projections: [projection, fundingProjection, createCaseFunnelProjection({ timeZone })],
        });
        await engine.start();
        await engine.waitFor(last);
        await engine.stop();
      }
      data = await loadIndicatorData(readModels, projection);
      funding = await fundingStatus(readModels, { principal: analyst });
      funnel = await caseFunnel(readModels, { principal: analyst, period: 'month' });
    } finally {
      await postgres.close();
      await readModels.close();
      await eventStore.close();
    }
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The rows a documented query gives where it runs, as an analyst would run it. */
  const run = async ({ sql, database }: DocumentedQuery): Promise<Record<string, unknown>[]> => {
    if (database === 'postgres')
      return (await postgresQuery(sql.replaceAll('lantern.', `"${schema}".`))).rows;
    const analystConnection = new Database(path, { readonly: true });
    try {
      return analystConnection.prepare(sql).all() as Record<string, unknown>[];
    } finally {
      analystConnection.close();
    }
  };

  const queries = documentedQueries();

  const indicatorQueries = queries.filter((query) => !['caseFunnel', 'funding'].includes(query.indicator));

  it('documents, in SQLite and in PostgreSQL, queries for indicators about no child and about children', () => {
    const about = (id: string) => projection.indicators.get(id)?.about;
    for (const database of ['sqlite', 'postgres']) {
      const its = indicatorQueries.filter((query) => query.database === database);
      expect(its.some((query) => about(query.indicator) === undefined)).toBe(true);
      expect(its.some((query) => about(query.indicator) !== undefined)).toBe(true);
    }
  });

  it.each(indicatorQueries.map((query) => [query.database, query.indicator, query] as const))(
    '%s, %s: the documented query gives what indicatorTable gives, month by month',
    async (_database, indicator, query) => {
      const expected = Object.fromEntries(
        indicatorTable(projection, data, { principal: analyst, indicator, period: 'month' })
          .rows.filter((row) => row.actual !== null && row.actual !== 0)
          .map((row) => [row.period.label, row.actual]),
      );
      expect(Object.keys(expected).length).toBeGreaterThan(0);
      // PostgreSQL gives a count or a numeric sum as text: compared as the number it is.
      const given = Object.fromEntries(
        (await run(query)).map((row) => {
          const [value] = Object.entries(row).filter(([column]) => column !== 'month');
          return [row.month, Number(value?.[1])];
        }),
      );
      expect(given).toEqual(expected);
      // Where the indicator is about children, some of them may not be counted: the check above
      // then shows the query leaves out exactly those the library leaves out.
      if (projection.indicators.get(indicator)?.about !== undefined) {
        const withheld = data.observations.filter(
          (o) => o.indicator === indicator && typeof o.child === 'string' && !data.reportable?.has(o.child),
        );
        expect(withheld.length).toBeGreaterThan(0);
      }
    },
  );

  it.each(
    queries.filter((query) => query.indicator === 'funding').map((query) => [query.database, query] as const),
  )(
    '%s: the documented funding query gives what fundingStatus gives, period by period',
    async (_database, query) => {
      // Money is in minor units; PostgreSQL gives a bigint as text.
      const given = (await run(query)).map((row) => ({
        periodStart: row.periodStart,
        periodEnd: row.periodEnd,
        budget: Number(row.budget),
        fundsReceived: Number(row.fundsReceived),
        commitments: Number(row.commitments),
        gap: Number(row.gap),
      }));
      expect(funding.length).toBe(2);
      // A period short of money, with a commitment and a pledge; and one given more than its budget.
      const short = funding.find((period) => period.commitments > 0 && period.pledges > 0 && period.gap > 0);
      const over = funding.find((period) => period.fundsReceived > period.budget && period.gap === 0);
      expect([short !== undefined, over !== undefined]).toEqual([true, true]);
      expect(given).toEqual(
        funding.map(({ periodStart, periodEnd, budget, fundsReceived, commitments, gap }) => ({
          periodStart,
          periodEnd,
          budget,
          fundsReceived,
          commitments,
          gap,
        })),
      );
    },
  );

  it.each(
    queries
      .filter((query) => query.indicator === 'caseFunnel')
      .map((query) => [query.database, query] as const),
  )(
    '%s: the documented case funnel query gives what caseFunnel gives, month by month',
    async (_database, query) => {
      const given = Object.fromEntries(
        (await run(query)).map(({ month, ...stages }) => [
          month,
          Object.fromEntries(Object.entries(stages).map(([stage, cases]) => [stage, Number(cases)])),
        ]),
      );
      const expected = Object.fromEntries(
        funnel.map((row) => [
          row.period,
          Object.fromEntries(row.steps.map((step) => [step.stage, step.cases])),
        ]),
      );
      // Every stage is reached by some case, and some cases are left out for their child's consent.
      for (const stage of funnelStages)
        expect(funnel.some((row) => row.steps.some((s) => s.stage === stage && s.cases > 0))).toBe(true);
      const counted = funnel.reduce((sum, row) => sum + (row.steps[0]?.cases ?? 0), 0);
      expect(counted).toBeGreaterThan(0);
      expect(counted).toBeLessThan(children.length);
      expect(given).toEqual(expected);
    },
  );
});
