import { RuleViolationError } from '../errors/errors.js';
import {
  BudgetApproved,
  type CatalogEventData,
  ExpenditureRecorded,
  FundsReceived,
  IndicatorDefined,
  ObjectiveDefined,
  ProgrammeLaunched,
  TargetRevised,
  TargetSet,
} from '../events/catalog.js';
import type { Money } from '../events/common.js';
import type { EventOf } from '../events/defineEvent.js';
import type { Command, Decider } from './decider.js';
import { type ProgrammeWindow, requireDateInProgramme, requireSameProgramme } from './programmeWindow.js';

/**
 * Stream `programme-{programmeId}`: the programme's plan, its results framework (objectives,
 * indicators, targets) and its money (budgets, funds received, expenditure).
 */

export type ProgrammeEvent =
  | EventOf<typeof ProgrammeLaunched>
  | EventOf<typeof ObjectiveDefined>
  | EventOf<typeof IndicatorDefined>
  | EventOf<typeof TargetSet>
  | EventOf<typeof TargetRevised>
  | EventOf<typeof BudgetApproved>
  | EventOf<typeof FundsReceived>
  | EventOf<typeof ExpenditureRecorded>;

export type ProgrammeCommand =
  | Command<'LaunchProgramme', CatalogEventData<'ProgrammeLaunched'>>
  | Command<'DefineObjective', CatalogEventData<'ObjectiveDefined'>>
  | Command<'DefineIndicator', CatalogEventData<'IndicatorDefined'>>
  | Command<'SetTarget', CatalogEventData<'TargetSet'>>
  | Command<'ReviseTarget', CatalogEventData<'TargetRevised'>>
  | Command<'ApproveBudget', CatalogEventData<'BudgetApproved'>>
  | Command<'ReceiveFunds', CatalogEventData<'FundsReceived'>>
  | Command<'RecordExpenditure', CatalogEventData<'ExpenditureRecorded'>>;

type ObjectiveData = CatalogEventData<'ObjectiveDefined'>;
type IndicatorData = CatalogEventData<'IndicatorDefined'>;
type BudgetData = CatalogEventData<'BudgetApproved'>;

export type ProgrammeState =
  | { readonly status: 'none' }
  | {
      readonly status: 'launched';
      /** Dates, time zone and currency: what the other deciders need to know of the programme. */
      readonly window: ProgrammeWindow;
      readonly title: string;
      /** Objectives by id: their level in the results framework and the objective above them. */
      readonly objectives: ReadonlyMap<
        string,
        { readonly level: ObjectiveData['level']; readonly parentId?: string }
      >;
      /** Indicators by id. */
      readonly indicators: ReadonlyMap<
        string,
        Pick<IndicatorData, 'objectiveId' | 'title' | 'measure' | 'ascending' | 'definition'>
      >;
      /** Target periods by indicator id, as last set or revised. */
      readonly targets: ReadonlyMap<
        string,
        readonly {
          readonly periodStart: string;
          readonly periodEnd: string;
          readonly value: number;
          readonly baseline?: number;
        }[]
      >;
      /** Approved budgets; amounts in minor units of the programme's currency. */
      readonly budgets: readonly {
        readonly periodStart: string;
        readonly periodEnd: string;
        readonly amount: number;
        readonly status: BudgetData['status'];
      }[];
      /** Funds received by kind, in minor units of the programme's currency. */
      readonly funds: { readonly pledge: number; readonly commitment: number; readonly funds: number };
      /** Total expenditure, in minor units of the programme's currency. */
      readonly expenditure: number;
    };

type LaunchedState = Extract<ProgrammeState, { status: 'launched' }>;

interface Period {
  readonly periodStart: string;
  readonly periodEnd: string;
}

const overlaps = (a: Period, b: Period): boolean =>
  a.periodStart <= b.periodEnd && b.periodStart <= a.periodEnd;

const describePeriod = (p: Period): string => `${p.periodStart} to ${p.periodEnd}`;

const notLaunched = (programmeId: string): RuleViolationError =>
  new RuleViolationError(
    'programme-launched',
    `Programme "${programmeId}" has not been launched. Record LaunchProgramme on stream programme-${programmeId} first.`,
  );

/** The level an objective's parent must have: impact › outcome › output. */
const parentLevel = { impact: undefined, outcome: 'impact', output: 'outcome' } as const;

const requireIndicator = (state: LaunchedState, indicatorId: string, what: string): void => {
  if (!state.indicators.has(indicatorId)) {
    throw new RuleViolationError(
      'indicator-defined',
      `${what} names indicator "${indicatorId}", which programme "${state.window.programmeId}" has not defined. Record DefineIndicator for it first.`,
    );
  }
};

const requirePeriodInProgramme = (window: ProgrammeWindow, period: Period, what: string): void => {
  requireDateInProgramme(window, period.periodStart, `The start of the ${what}`);
  requireDateInProgramme(window, period.periodEnd, `The end of the ${what}`);
};

/** Amounts are kept in the programme's currency; a gift in another keeps that amount in `original`. */
const requireProgrammeCurrency = (window: ProgrammeWindow, money: Money, what: string): void => {
  if (money.currency !== window.currency) {
    throw new RuleViolationError(
      'programme-currency',
      `${what} is in ${money.currency}, but programme "${window.programmeId}" keeps its accounts in ${window.currency}. Convert the amount to ${window.currency} and keep the ${money.currency} amount in \`original\` with the rate's date.`,
    );
  }
  if (money.original && money.original.currency === window.currency) {
    throw new RuleViolationError(
      'original-currency',
      `${what} gives an original amount in ${window.currency}, the programme's own currency. \`original\` is only for a gift made in another currency: remove it.`,
    );
  }
};

/** The programme decider: one programme per stream, no context needed. */
export const programmeDecider: Decider<ProgrammeCommand, ProgrammeState, ProgrammeEvent> = {
  initialState: () => ({ status: 'none' }),

  decide: (command, state) => {
    if (command.type === 'LaunchProgramme') {
      if (state.status !== 'none') {
        throw new RuleViolationError(
          'programme-launched-once',
          `Programme "${state.window.programmeId}" was already launched (${state.window.plannedStart} to ${state.window.plannedEnd}). A programme is launched once; choose another programme id for a new programme.`,
        );
      }
      return [ProgrammeLaunched.create(command.data)];
    }
    if (state.status === 'none') throw notLaunched(command.data.programmeId);
    const { window } = state;
    requireSameProgramme(window, command.data.programmeId);

    switch (command.type) {
      case 'DefineObjective': {
        const event = ObjectiveDefined.create(command.data);
        const { objectiveId, level, parentId } = event.data;
        if (state.objectives.has(objectiveId)) {
          throw new RuleViolationError(
            'objective-unique',
            `Objective "${objectiveId}" is already defined in programme "${window.programmeId}"; choose another objective id.`,
          );
        }
        const expectedParent = parentLevel[level];
        if (parentId !== undefined) {
          if (expectedParent === undefined) {
            throw new RuleViolationError(
              'objective-hierarchy',
              `An impact objective sits at the top of the results framework and has no parent; remove parentId "${parentId}" from "${objectiveId}".`,
            );
          }
          const parent = state.objectives.get(parentId);
          if (!parent) {
            throw new RuleViolationError(
              'objective-parent-defined',
              `Objective "${objectiveId}" names parent "${parentId}", which is not defined. Define the ${expectedParent} objective "${parentId}" first.`,
            );
          }
          if (parent.level !== expectedParent) {
            throw new RuleViolationError(
              'objective-hierarchy',
              `An ${level} objective sits under an ${expectedParent} (impact › outcome › output), but "${parentId}" is an ${parent.level}. Name an ${expectedParent} objective as the parent.`,
            );
          }
        }
        return [event];
      }

      case 'DefineIndicator': {
        const event = IndicatorDefined.create(command.data);
        const { indicatorId, objectiveId, definition } = event.data;
        if (state.indicators.has(indicatorId)) {
          throw new RuleViolationError(
            'indicator-unique',
            `Indicator "${indicatorId}" is already defined in programme "${window.programmeId}"; choose another indicator id.`,
          );
        }
        if (!state.objectives.has(objectiveId)) {
          throw new RuleViolationError(
            'indicator-objective-defined',
            `Indicator "${indicatorId}" measures objective "${objectiveId}", which is not defined. Record DefineObjective for it first.`,
          );
        }
        if (definition.value.kind === 'ratio') {
          for (const part of [definition.value.numerator, definition.value.denominator]) {
            if (!state.indicators.has(part)) {
              throw new RuleViolationError(
                'ratio-parts-defined',
                `Ratio indicator "${indicatorId}" is built from indicator "${part}", which is not defined. Define its numerator and denominator indicators first.`,
              );
            }
          }
        }
        return [event];
      }

      case 'SetTarget': {
        const event = TargetSet.create(command.data);
        const target = event.data;
        requireIndicator(state, target.indicatorId, 'The target');
        requirePeriodInProgramme(window, target, 'target period');
        const clash = state.targets.get(target.indicatorId)?.find((t) => overlaps(t, target));
        if (clash) {
          throw new RuleViolationError(
            'target-periods-distinct',
            `Indicator "${target.indicatorId}" already has a target for ${describePeriod(clash)}, which overlaps ${describePeriod(target)}. Record ReviseTarget for that period to change it, or choose a period that does not overlap.`,
          );
        }
        return [event];
      }

      case 'ReviseTarget': {
        const event = TargetRevised.create(command.data);
        const target = event.data;
        requireIndicator(state, target.indicatorId, 'The target revision');
        const periods = state.targets.get(target.indicatorId) ?? [];
        if (!periods.some((t) => t.periodStart === target.periodStart && t.periodEnd === target.periodEnd)) {
          const existing = periods.length > 0 ? periods.map(describePeriod).join('; ') : 'none';
          throw new RuleViolationError(
            'target-set',
            `Indicator "${target.indicatorId}" has no target for ${describePeriod(target)} to revise (its target periods: ${existing}). Revise one of those periods exactly, or record SetTarget for a new period.`,
          );
        }
        return [event];
      }

      case 'ApproveBudget': {
        const event = BudgetApproved.create(command.data);
        const budget = event.data;
        requireProgrammeCurrency(window, budget.amount, 'The budget');
        // A period of at most a year (IATI's rule) is enforced by the BudgetApproved schema itself.
        requirePeriodInProgramme(window, budget, 'budget period');
        const clash = state.budgets.find((b) => overlaps(b, budget));
        if (clash) {
          throw new RuleViolationError(
            'budget-periods-distinct',
            `A budget for ${describePeriod(clash)} is already approved and overlaps ${describePeriod(budget)}. Budget periods may not overlap: choose the period that follows it.`,
          );
        }
        return [event];
      }

      case 'ReceiveFunds': {
        const event = FundsReceived.create(command.data);
        requireProgrammeCurrency(window, event.data.amount, 'The funds received');
        requireDateInProgramme(window, event.data.receivedOn, 'The date the funds were received');
        return [event];
      }

      case 'RecordExpenditure': {
        const event = ExpenditureRecorded.create(command.data);
        requireProgrammeCurrency(window, event.data.amount, 'The expenditure');
        requireDateInProgramme(window, event.data.spentOn, 'The expenditure date');
        return [event];
      }

      default: {
        const unknown: never = command;
        throw new RuleViolationError(
          'known-command',
          `The programme stream takes no command "${(unknown as { type: string }).type}".`,
        );
      }
    }
  },

  evolve: (state, event) => {
    if (event.type === 'ProgrammeLaunched') {
      const { programmeId, plannedStart, plannedEnd, timeZone, currency, title } = event.data;
      return {
        status: 'launched',
        window: { programmeId, plannedStart, plannedEnd, timeZone, currency },
        title,
        objectives: new Map(),
        indicators: new Map(),
        targets: new Map(),
        budgets: [],
        funds: { pledge: 0, commitment: 0, funds: 0 },
        expenditure: 0,
      };
    }
    if (state.status === 'none') return state;
    switch (event.type) {
      case 'ObjectiveDefined': {
        const { objectiveId, level, parentId } = event.data;
        return {
          ...state,
          objectives: new Map(state.objectives).set(objectiveId, {
            level,
            ...(parentId === undefined ? {} : { parentId }),
          }),
        };
      }
      case 'IndicatorDefined': {
        const { indicatorId, objectiveId, title, measure, ascending, definition } = event.data;
        return {
          ...state,
          indicators: new Map(state.indicators).set(indicatorId, {
            objectiveId,
            title,
            measure,
            ascending,
            definition,
          }),
        };
      }
      case 'TargetSet': {
        const { indicatorId, periodStart, periodEnd, value, baseline } = event.data;
        const periods = state.targets.get(indicatorId) ?? [];
        return {
          ...state,
          targets: new Map(state.targets).set(indicatorId, [
            ...periods,
            { periodStart, periodEnd, value, ...(baseline === undefined ? {} : { baseline }) },
          ]),
        };
      }
      case 'TargetRevised': {
        const { indicatorId, periodStart, periodEnd, value, baseline } = event.data;
        const periods = state.targets.get(indicatorId) ?? [];
        return {
          ...state,
          targets: new Map(state.targets).set(
            indicatorId,
            // A revision that gives no baseline keeps the one set before.
            periods.map((t) =>
              t.periodStart === periodStart && t.periodEnd === periodEnd
                ? { ...t, value, ...(baseline === undefined ? {} : { baseline }) }
                : t,
            ),
          ),
        };
      }
      case 'BudgetApproved': {
        const { periodStart, periodEnd, amount, status } = event.data;
        return {
          ...state,
          budgets: [...state.budgets, { periodStart, periodEnd, amount: amount.amount, status }],
        };
      }
      case 'FundsReceived':
        return {
          ...state,
          funds: {
            ...state.funds,
            [event.data.kind]: state.funds[event.data.kind] + event.data.amount.amount,
          },
        };
      case 'ExpenditureRecorded':
        return { ...state, expenditure: state.expenditure + event.data.amount.amount };
      default:
        return state;
    }
  },
};

/** The programme's dates, time zone and currency, for the club, case, child and activity deciders. */
export const programmeWindowOf = (state: ProgrammeState): ProgrammeWindow => {
  if (state.status === 'none') {
    throw new RuleViolationError(
      'programme-launched',
      'The programme has not been launched, so its dates, time zone and currency are unknown. Record LaunchProgramme on its stream programme-{programmeId} first.',
    );
  }
  return state.window;
};
