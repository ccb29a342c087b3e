import type { Principal, ReadModelStore } from '@lantern/core';
import { defineProjection, type Projection } from '../engine/projection.js';
import { requireFiguresFor } from './requireFiguresFor.js';

/**
 * Funding status per budget period: the budget approved, funds received, commitments and
 * pledges made within it, and the gap still to raise (budget − funds received − commitments;
 * a pledge is not money the programme can count on yet). Amounts are integer minor units.
 */

export interface BudgetDocument {
  readonly periodStart: string;
  readonly periodEnd: string;
  readonly amount: number;
  readonly currency: string;
  readonly status: string;
}

export interface FundsDocument {
  readonly receivedOn: string;
  readonly amount: number;
  readonly currency: string;
  readonly kind: 'pledge' | 'commitment' | 'funds';
}

export const fundingProjection: Projection = defineProjection({
  name: 'funding',
  version: 1,
  eventTypes: ['BudgetApproved', 'FundsReceived'],
  collections: ['budgets', 'funds'],
  apply: (event, view) => {
    if (event.type === 'BudgetApproved') {
      const data = event.data as {
        periodStart: string;
        periodEnd: string;
        amount: { amount: number; currency: string };
        status: string;
      };
      // A budget approved again for the same period replaces the earlier figure.
      view.put('budgets', `${data.periodStart}|${data.periodEnd}`, {
        periodStart: data.periodStart,
        periodEnd: data.periodEnd,
        amount: data.amount.amount,
        currency: data.amount.currency,
        status: data.status,
      });
      return;
    }
    const data = event.data as {
      amount: { amount: number; currency: string };
      receivedOn: string;
      kind: FundsDocument['kind'];
    };
    view.put('funds', event.id, {
      receivedOn: data.receivedOn,
      amount: data.amount.amount,
      currency: data.amount.currency,
      kind: data.kind,
    });
  },
});

export interface FundingStatus {
  readonly periodStart: string;
  readonly periodEnd: string;
  readonly currency: string;
  readonly budget: number;
  readonly fundsReceived: number;
  readonly commitments: number;
  readonly pledges: number;
  /** budget − funds received − commitments, never below 0. */
  readonly gap: number;
}

export interface FundingStatusRequest {
  /**
   * Who asks, checked before any work: the programme's staff and its donors (roles given `donor`
   * figures). A service is refused. Required.
   */
  principal: Principal;
  /** The funding projection's name. Default `funding`. */
  projection?: string;
}

/**
 * Funding status of every budget period, in date order. Donor figures: sums of money per budget
 * period, with no child, case or funder named in them (IATI publishes the same budgets, incoming funds
 * and commitments), given exactly to the programme's staff and its donors; services, which are
 * given public figures only, are refused.
 */
export const fundingStatus = async (
  readModels: ReadModelStore,
  request: FundingStatusRequest,
): Promise<FundingStatus[]> => {
  requireFiguresFor(request?.principal, {
    query: 'fundingStatus',
    audience: 'donor',
    instead: () => "funding status is given to the programme's staff and its donors only",
  });
  const projection = request.projection ?? 'funding';
  const budgets = (await readModels.documents(projection, 'budgets')).map(
    (row) => row.document as unknown as BudgetDocument,
  );
  const funds = (await readModels.documents(projection, 'funds')).map(
    (row) => row.document as unknown as FundsDocument,
  );
  return budgets
    .sort((a, b) => (a.periodStart < b.periodStart ? -1 : 1))
    .map((budget) => {
      const within = funds.filter(
        (f) =>
          f.currency === budget.currency &&
          f.receivedOn >= budget.periodStart &&
          f.receivedOn <= budget.periodEnd,
      );
      const total = (kind: FundsDocument['kind']) =>
        within.filter((f) => f.kind === kind).reduce((sum, f) => sum + f.amount, 0);
      const fundsReceived = total('funds');
      const commitments = total('commitment');
      return {
        periodStart: budget.periodStart,
        periodEnd: budget.periodEnd,
        currency: budget.currency,
        budget: budget.amount,
        fundsReceived,
        commitments,
        pledges: total('pledge'),
        gap: Math.max(0, budget.amount - fundsReceived - commitments),
      };
    });
};
