import type { ReadModelDocument, RecordedEvent } from '@lantern/core';
import type { Database } from '../subjects/betterSqlite3.js';

/**
 * A floor under any rebuild of the built-in projections: what they keep, folded by code written
 * by hand for this workload. No definitions are read, no filter is evaluated from data, nothing
 * is escaped or checked, dates are placed in the programme's month by its fixed offset (Phnom
 * Penh keeps UTC+7 all year), and what is kept lies in `Map`s rather than documents. Each
 * indicator's cells (a month, its dimension values and, where the indicator has them, the child or
 * the value counted once) are grown as the indicators projection grows them, and each key of a
 * keyed indicator, each case of the funnel and each budget and receipt of funding is kept once.
 *
 * It is not a design: it would be wrong for another programme, another time zone or one more
 * indicator. It is what the built-ins' own work costs at the least in JavaScript on this
 * machine, so a throughput goal that leaves less than this for them is out of reach however the
 * engine, the stores or the evaluation of definitions are made faster. Its figures are checked
 * against the built-in projections' own (`handFoldProblem`), so it keeps the same cells they do.
 */

/** A month and combination of one indicator: a count or sum, or cells by child or value. */
interface Group {
  value: number;
  cells: Record<string, number> | undefined;
}

/** One key of a keyed indicator (a club, a case, a referral, a child). */
interface Keyed {
  readonly from: string;
  readonly child: string | undefined;
  to?: string;
  closed?: string;
  latest?: number;
}

/** A case as the funnel keeps it: the first date of each stage. */
interface FunnelCase {
  readonly disclosed: string;
  followedUp?: string;
  referred?: string;
  placed?: string;
  closed?: string;
}

export interface HandFolded {
  /** By `f|<indicator>|<month>|<dimension values>`. */
  readonly groups: Map<string, Group>;
  /** By `k|<indicator>|<key>`. */
  readonly keyed: Map<string, Keyed>;
  readonly consent: Map<string, boolean>;
  /** Each case's child. */
  readonly cases: Map<string, string>;
  readonly funnel: Map<string, FunnelCase>;
  readonly budgets: Map<string, number>;
  readonly funds: Map<string, number>;
}

const hoursAhead = 7;

const daysIn = (year: number, month: number): number =>
  month === 2
    ? year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
      ? 29
      : 28
    : [4, 6, 9, 11].includes(month)
      ? 30
      : 31;

/**
 * The month, in UTC+7, of a date (`YYYY-MM-DD`), of an instant at +07:00, or of a UTC instant
 * (`…Z`): a UTC instant is in the next month only from 17:00 on its month's last day.
 */
const monthOf = (when: string): string => {
  if (when.length === 10 || when.endsWith('+07:00')) return when.slice(0, 7);
  const hour = (when.charCodeAt(11) - 48) * 10 + (when.charCodeAt(12) - 48);
  if (hour < 24 - hoursAhead) return when.slice(0, 7);
  const year = Number(when.slice(0, 4));
  const month = (when.charCodeAt(5) - 48) * 10 + (when.charCodeAt(6) - 48);
  const day = (when.charCodeAt(8) - 48) * 10 + (when.charCodeAt(9) - 48);
  if (day < daysIn(year, month)) return when.slice(0, 7);
  return month === 12 ? `${year + 1}-01` : `${year}-${month < 9 ? '0' : ''}${month + 1}`;
};

/** The date, in UTC+7, of a date or an instant, as the funnel keeps it. */
const dayOf = (when: string): string => {
  if (when.length === 10 || when.endsWith('+07:00')) return when.slice(0, 10);
  return new Date(Date.parse(when) + hoursAhead * 3_600_000).toISOString().slice(0, 10);
};

const familyCare = new Set(['parent', 'kinship', 'foster', 'adoptive']);

/* biome-ignore lint/suspicious/noExplicitAny: the floor reads the workload's fields as they are, unchecked */
type Data = any;

/** What the hand-written fold reads of an event: the raw SQLite scan gives no more. */
export type HandFoldedEvent = Pick<RecordedEvent, 'id' | 'type' | 'data' | 'metadata'>;

/**
 * A hand-written fold, fed one event at a time (`fold`), what it keeps in `folded`; see the
 * module's comment.
 */
export const createHandFold = (): { fold: (event: HandFoldedEvent) => void; folded: HandFolded } => {
  const groups = new Map<string, Group>();
  const keyed = new Map<string, Keyed>();
  const consent = new Map<string, boolean>();
  const cases = new Map<string, string>();
  const funnel = new Map<string, FunnelCase>();
  const budgets = new Map<string, number>();
  const funds = new Map<string, number>();

  const groupOf = (key: string, withCells: boolean): Group => {
    let group = groups.get(key);
    if (group === undefined) {
      group = { value: 0, cells: withCells ? (Object.create(null) as Record<string, number>) : undefined };
      groups.set(key, group);
    }
    return group;
  };
  const add = (key: string, value: number): void => {
    groupOf(key, false).value += value;
  };
  const count = (key: string, cell: string): void => {
    const cells = groupOf(key, true).cells as Record<string, number>;
    cells[cell] = (cells[cell] ?? 0) + 1;
  };
  const countOnce = (key: string, cell: string): void => {
    const cells = groupOf(key, true).cells as Record<string, number>;
    if (cells[cell] === undefined) cells[cell] = 1;
  };
  const open = (key: string, from: string, child: string | undefined): void => {
    if (!keyed.has(key)) keyed.set(key, { from, child });
  };
  const reach = (key: string, on: string): void => {
    const found = keyed.get(key);
    if (found !== undefined && found.to === undefined && on >= found.from) found.to = on;
  };
  const stage = (caseId: string, name: 'followedUp' | 'referred' | 'placed' | 'closed', on: string): void => {
    const found = funnel.get(caseId);
    if (found !== undefined && found[name] === undefined) found[name] = on;
  };

  const fold = (event: HandFoldedEvent): void => {
    const data = event.data as Data;
    const occurredAt = (event.metadata as { occurredAt: string }).occurredAt;
    switch (event.type) {
      case 'ChildRegistered':
      case 'ConsentChanged':
        consent.set(data.childRef, data.consent.reporting === true);
        break;
      case 'ClubEstablished':
        if (data.kind === 'kids-club')
          open(`k|active-kids-clubs|${data.clubId}`, data.establishedOn, undefined);
        break;
      case 'ClubClosed': {
        const club = keyed.get(`k|active-kids-clubs|${data.clubId}`);
        if (club !== undefined) club.closed = dayOf(occurredAt);
        break;
      }
      case 'ClubSessionHeld': {
        const refs = data.attendeeRefs as string[] | undefined;
        if (refs === undefined) break;
        const key = `f|children-in-clubs|${data.heldOn.slice(0, 7)}|`;
        for (let j = 0; j < refs.length; j += 1) countOnce(key, refs[j] as string);
        break;
      }
      case 'OutreachConducted': {
        const month = monthOf(data.shiftStart);
        if (data.mode === 'night-outreach') {
          for (const contact of data.contacts) {
            if (contact.ageBand === '18+') continue;
            add(
              `f|children-reached-night-outreach|${month}|${contact.sex}|${contact.ageBand}|${data.area}`,
              contact.count,
            );
          }
        }
        if (typeof data.leafletsDistributed === 'number') {
          add(`f|leaflets-on-outreach|${month}|${data.area}`, data.leafletsDistributed);
        }
        break;
      }
      case 'CaseDisclosed': {
        const month = monthOf(occurredAt);
        const child = data.childRef as string;
        cases.set(data.caseId, child);
        count(`f|cases-disclosed|${month}|${data.sex}|${data.ageBand}|${data.area}`, child);
        for (const concern of data.concerns) count(`f|cases-disclosed-by-concern|${month}|${concern}`, child);
        open(`k|cases-followed-up-within-7-days|${data.caseId}`, dayOf(occurredAt), child);
        open(`k|median-days-disclosure-to-placement|${data.caseId}`, dayOf(occurredAt), child);
        if (!funnel.has(data.caseId)) funnel.set(data.caseId, { disclosed: dayOf(occurredAt) });
        break;
      }
      case 'CaseFollowedUp':
        reach(`k|cases-followed-up-within-7-days|${data.caseId}`, data.followedUpOn);
        stage(data.caseId, 'followedUp', data.followedUpOn);
        break;
      case 'CaseReferred': {
        const child = cases.get(data.caseId) ?? '';
        count(`f|referrals-made|${monthOf(occurredAt)}|${data.service}`, child);
        open(`k|referrals-completed|${data.referralId}`, dayOf(occurredAt), child);
        stage(data.caseId, 'referred', dayOf(occurredAt));
        break;
      }
      case 'ServiceDelivered':
        reach(`k|referrals-completed|${data.referralId}`, data.deliveredOn);
        break;
      case 'ChildPlacedSafely':
        if (familyCare.has(data.placementType)) {
          count(`f|children-placed-family-care|${monthOf(occurredAt)}|${data.placementType}`, data.childRef);
        }
        reach(`k|median-days-disclosure-to-placement|${data.caseId}`, dayOf(occurredAt));
        stage(data.caseId, 'placed', dayOf(occurredAt));
        break;
      case 'CaseClosed': {
        const month = monthOf(occurredAt);
        const child = cases.get(data.caseId) ?? '';
        count(`f|cases-closed|${month}|${data.reason}`, child);
        if (data.reason === 'goals-met') count(`f|cases-closed-goals-met|${month}|`, child);
        stage(data.caseId, 'closed', dayOf(occurredAt));
        break;
      }
      case 'CaseReopened': {
        const found = funnel.get(data.caseId);
        if (found !== undefined) delete found.closed;
        break;
      }
      case 'WellbeingAssessed':
        for (const id of ['children-wellbeing-reassessed', 'children-wellbeing-improved']) {
          const key = `k|${id}|${data.childRef}`;
          if (data.kind === 'initial') open(key, dayOf(occurredAt), data.childRef);
          else if (data.kind === 'follow-up') {
            const found = keyed.get(key);
            if (found !== undefined) {
              found.to = dayOf(occurredAt);
              found.latest = data.score;
            }
          }
        }
        break;
      case 'AidDistributed': {
        const month = monthOf(occurredAt);
        countOnce(`f|households-food-aid|${month}|${data.area}`, data.householdRef);
        for (const item of data.items) {
          add(`f|food-aid-quantity|${month}|${item.item}|${item.unit}|${data.area}`, item.quantity);
        }
        break;
      }
      case 'HomeVisitConducted':
        add(`f|home-visits|${monthOf(occurredAt)}|${data.reason}|${data.area}`, 1);
        break;
      case 'AwarenessSessionHeld':
        if (data.audience !== 'parents') break;
        for (const participant of data.participants) {
          add(
            `f|parents-reached-awareness|${monthOf(occurredAt)}|${participant.sex}|${data.area}`,
            participant.count,
          );
        }
        break;
      case 'LiteratureDistributed':
        add(`f|leaflets-distributed|${monthOf(occurredAt)}|${data.material}|${data.area}`, data.quantity);
        break;
      case 'StaffTrained':
        countOnce(`f|staff-trained|${monthOf(occurredAt)}|${data.course}`, data.staffRef);
        break;
      case 'BudgetApproved':
        budgets.set(`${data.periodStart}|${data.periodEnd}`, data.amount.amount);
        break;
      case 'FundsReceived':
        funds.set(event.id, data.amount.amount);
        break;
    }
  };
  return { fold, folded: { groups, keyed, consent, cases, funnel, budgets, funds } };
};

/** Folds every event of an array by hand. */
export const foldByHand = (events: readonly HandFoldedEvent[]): HandFolded => {
  const { fold, folded } = createHandFold();
  for (let i = 0; i < events.length; i += 1) fold(events[i] as HandFoldedEvent);
  return folded;
};

/** How many entries of a keyed indicator, the funnel or funding one row holds when written. */
const entriesPerRow = 64;

/**
 * Writes what the hand-written fold keeps into `db`, in one transaction, to a fresh table: a row
 * per month and combination (its count, sum or cells as JSON), and keyed entries, cases and
 * funding's entries 64 to a row. The least a SQLite read model of the built-ins holds; once, at
 * the end, where the engine writes every changed document at each commit.
 */
export const writeHandFolded = (db: Database, folded: HandFolded): number => {
  db.exec('CREATE TABLE floor (key TEXT PRIMARY KEY, doc TEXT NOT NULL) WITHOUT ROWID');
  const insert = db.prepare('INSERT INTO floor (key, doc) VALUES (?, ?)');
  let rows = 0;
  const writePacked = (name: string, entries: Iterable<[string, unknown]>): void => {
    let packed: Record<string, unknown> = {};
    let size = 0;
    let page = 0;
    const flush = () => {
      insert.run(`${name}|${page}`, JSON.stringify(packed));
      rows += 1;
      page += 1;
      packed = {};
      size = 0;
    };
    for (const [key, entry] of entries) {
      packed[key] = entry;
      size += 1;
      if (size === entriesPerRow) flush();
    }
    if (size > 0) flush();
  };
  db.transaction(() => {
    for (const [key, group] of folded.groups) {
      insert.run(key, JSON.stringify(group.cells ?? group.value));
      rows += 1;
    }
    writePacked('k', folded.keyed);
    writePacked('consent', folded.consent);
    writePacked('cases', folded.cases);
    writePacked('funnel', folded.funnel);
    writePacked('budgets', folded.budgets);
    writePacked('funds', folded.funds);
  })();
  return rows;
};

/** Per indicator: the sum of its counts, sums and cells, and how many keys it keeps. */
type Totals = Map<string, { figure: number; keys: number }>;

const totalOf = (totals: Totals, indicator: string) => {
  let total = totals.get(indicator);
  if (total === undefined) {
    total = { figure: 0, keys: 0 };
    totals.set(indicator, total);
  }
  return total;
};

const sumOf = (cells: Readonly<Record<string, number>>): number => {
  let sum = 0;
  for (const cell in cells) sum += cells[cell] as number;
  return sum;
};

const handTotals = (folded: HandFolded): Totals => {
  const totals: Totals = new Map();
  for (const [key, group] of folded.groups) {
    totalOf(totals, key.split('|')[1] as string).figure += group.cells ? sumOf(group.cells) : group.value;
  }
  for (const key of folded.keyed.keys()) totalOf(totals, key.split('|')[1] as string).keys += 1;
  return totals;
};

/** The same totals from the indicators projection's `observations` documents. */
const projectionTotals = (observations: ReadonlyMap<string, ReadModelDocument>): Totals => {
  const totals: Totals = new Map();
  for (const [key, document] of observations) {
    const [kind, indicator] = key.split('|') as [string, string];
    if (kind === 'k') totalOf(totals, indicator).keys += 1;
    else if (kind === 'f') {
      const { value, cells } = document as { value?: number; cells?: Record<string, number> };
      totalOf(totals, indicator).figure += cells ? sumOf(cells) : (value ?? 0);
    }
  }
  return totals;
};

/**
 * Whether the hand-written fold kept what the built-in projections keep: per indicator, the same
 * total of counts, sums and cells and the same number of keys; the funnel's cases and each stage
 * reached; funding's budgets and receipts. A description of the first differences, or undefined.
 */
export const handFoldProblem = (
  folded: HandFolded,
  built: {
    observations: ReadonlyMap<string, ReadModelDocument>;
    funnelCases: ReadonlyMap<string, ReadModelDocument>;
    budgets: ReadonlyMap<string, ReadModelDocument>;
    funds: ReadonlyMap<string, ReadModelDocument>;
  },
): string | undefined => {
  const problems: string[] = [];
  const byHand = handTotals(folded);
  const byProjection = projectionTotals(built.observations);
  for (const indicator of new Set([...byHand.keys(), ...byProjection.keys()])) {
    const hand = byHand.get(indicator) ?? { figure: 0, keys: 0 };
    const projection = byProjection.get(indicator) ?? { figure: 0, keys: 0 };
    if (hand.figure !== projection.figure || hand.keys !== projection.keys) {
      problems.push(
        `${indicator}: by hand ${hand.figure} (${hand.keys} keys), the projection ${projection.figure} (${projection.keys} keys)`,
      );
    }
  }
  const stages = ['followedUp', 'referred', 'placed', 'closed'] as const;
  for (const name of stages) {
    let hand = 0;
    let projection = 0;
    for (const found of folded.funnel.values()) if (found[name] !== undefined) hand += 1;
    for (const found of built.funnelCases.values())
      if ((found as Record<string, unknown>)[name] !== undefined) projection += 1;
    if (hand !== projection) problems.push(`funnel ${name}: by hand ${hand}, the projection ${projection}`);
  }
  if (folded.funnel.size !== built.funnelCases.size) {
    problems.push(`funnel cases: by hand ${folded.funnel.size}, the projection ${built.funnelCases.size}`);
  }
  if (folded.budgets.size !== built.budgets.size || folded.funds.size !== built.funds.size) {
    problems.push(
      `funding: by hand ${folded.budgets.size} budgets and ${folded.funds.size} receipts, the projection ${built.budgets.size} and ${built.funds.size}`,
    );
  }
  return problems.length > 0
    ? `the hand-written fold differs: ${problems.slice(0, 3).join('; ')}`
    : undefined;
};
