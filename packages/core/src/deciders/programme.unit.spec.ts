import { describe, expect, it } from 'vitest';
import { RuleViolationError, ValidationError } from '../errors/errors.js';
import type { CatalogEventData } from '../events/catalog.js';
import { DeciderSpecification } from '../testing/deciderSpecification.js';
import { foldEvents } from './decider.js';
import {
  type ProgrammeCommand,
  type ProgrammeEvent,
  programmeDecider,
  programmeWindowOf,
} from './programme.js';

const spec = DeciderSpecification.for(programmeDecider);
const metadata = { occurredAt: '2018-12-01T09:00:00+07:00', recordedBy: 'st_00000000000000a1' };
const programmeId = 'psk-phnom-penh';

const launched: ProgrammeEvent = {
  type: 'ProgrammeLaunched',
  data: {
    programmeId,
    title: 'Protecting Street Kids, Phnom Penh',
    country: 'KH',
    timeZone: 'Asia/Phnom_Penh',
    plannedStart: '2018-12-01',
    plannedEnd: '2020-11-30',
    currency: 'USD',
  },
};
const launch: ProgrammeCommand = { type: 'LaunchProgramme', data: launched.data, metadata };

const impact = {
  programmeId,
  objectiveId: 'children-protected',
  level: 'impact' as const,
  title: 'Children at risk are protected from sexual exploitation',
};
const outcome = {
  programmeId,
  objectiveId: 'abuse-answered',
  level: 'outcome' as const,
  parentId: 'children-protected',
  title: 'Abuse is disclosed and answered',
};
const output = {
  programmeId,
  objectiveId: 'kids-clubs',
  level: 'output' as const,
  parentId: 'abuse-answered',
  title: "65 kids' clubs",
};
const impactDefined: ProgrammeEvent = { type: 'ObjectiveDefined', data: impact };
const outcomeDefined: ProgrammeEvent = { type: 'ObjectiveDefined', data: outcome };
const outputDefined: ProgrammeEvent = { type: 'ObjectiveDefined', data: output };
const defineObjective = (data: CatalogEventData<'ObjectiveDefined'>): ProgrammeCommand => ({
  type: 'DefineObjective',
  data,
  metadata,
});

const clubsIndicator = {
  programmeId,
  indicatorId: 'kids-clubs-established',
  objectiveId: 'kids-clubs',
  title: "Kids' clubs established",
  measure: 'unit' as const,
  ascending: true,
  definition: {
    filter: { eventTypes: ['ClubEstablished'] },
    value: { kind: 'count' as const },
    dateField: 'data.establishedOn',
  },
};
const indicatorDefined: ProgrammeEvent = { type: 'IndicatorDefined', data: clubsIndicator };
const defineIndicator: ProgrammeCommand = { type: 'DefineIndicator', data: clubsIndicator, metadata };
const ratioIndicator = {
  programmeId,
  indicatorId: 'clubs-share',
  objectiveId: 'kids-clubs',
  title: 'Kids clubs among clubs',
  measure: 'percentage' as const,
  ascending: true,
  definition: {
    filter: { eventTypes: ['ClubEstablished'] },
    value: {
      kind: 'ratio' as const,
      numerator: 'kids-clubs-established',
      denominator: 'clubs-established',
      scale: 100,
    },
  },
};
const allClubsDefined: ProgrammeEvent = {
  type: 'IndicatorDefined',
  data: { ...clubsIndicator, indicatorId: 'clubs-established', title: 'Clubs established' },
};

const target = {
  programmeId,
  indicatorId: 'kids-clubs-established',
  periodStart: '2018-12-01',
  periodEnd: '2019-11-30',
  value: 30,
  baseline: 0,
};
const targetSet: ProgrammeEvent = { type: 'TargetSet', data: target };
const setTarget: ProgrammeCommand = { type: 'SetTarget', data: target, metadata };
const reviseTarget: ProgrammeCommand = { type: 'ReviseTarget', data: { ...target, value: 35 }, metadata };

const budget = {
  programmeId,
  periodStart: '2018-12-01',
  periodEnd: '2019-11-30',
  amount: { amount: 4_500_000, currency: 'USD' },
  status: 'committed' as const,
};
const budgetApproved: ProgrammeEvent = { type: 'BudgetApproved', data: budget };
const approveBudget: ProgrammeCommand = { type: 'ApproveBudget', data: budget, metadata };

const funds = {
  programmeId,
  amount: { amount: 2_000_000, currency: 'USD' },
  receivedOn: '2018-12-10',
  donorRef: 'dn_00000000000000b1',
  kind: 'funds' as const,
};
const receiveFunds: ProgrammeCommand = { type: 'ReceiveFunds', data: funds, metadata };

const spent = {
  programmeId,
  amount: { amount: 180_000, currency: 'USD' },
  spentOn: '2019-01-28',
  category: 'staff' as const,
};
const recordExpenditure: ProgrammeCommand = { type: 'RecordExpenditure', data: spent, metadata };

const framework = [launched, impactDefined, outcomeDefined, outputDefined, indicatorDefined];

describe('programme decider: launch', () => {
  it('launches a programme', () => {
    spec.given([]).when(launch).then([launched]);
  });

  it('launches a programme only once', () => {
    spec.given([launched]).when(launch).thenThrows(RuleViolationError, 'already launched');
  });

  it('refuses a launch whose data breaks the schema', () => {
    spec
      .given([])
      .when({ ...launch, data: { ...launched.data, plannedEnd: '2018-11-30' } })
      .thenThrows(ValidationError, 'data.plannedEnd');
  });

  it('refuses every other command before the programme is launched', () => {
    spec.given([]).when(defineObjective(impact)).thenThrows(RuleViolationError, 'Record LaunchProgramme');
    spec.given([]).when(receiveFunds).thenThrows(RuleViolationError, 'has not been launched');
  });

  it('refuses a command for another programme', () => {
    spec
      .given([launched])
      .when(defineObjective({ ...impact, programmeId: 'other-programme' }))
      .thenThrows(RuleViolationError, 'names programme "other-programme"');
  });
});

describe('programme decider: objectives', () => {
  it('defines an impact, an outcome under it and an output under that', () => {
    spec.given([launched]).when(defineObjective(impact)).then([impactDefined]);
    spec.given([launched, impactDefined]).when(defineObjective(outcome)).then([outcomeDefined]);
    spec.given([launched, impactDefined, outcomeDefined]).when(defineObjective(output)).then([outputDefined]);
  });

  it('refuses an objective id used before', () => {
    spec
      .given([launched, impactDefined])
      .when(defineObjective({ ...impact, title: 'Another impact' }))
      .thenThrows(RuleViolationError, 'already defined');
  });

  it('refuses an impact with a parent', () => {
    spec
      .given([launched, impactDefined])
      .when(defineObjective({ ...impact, objectiveId: 'second-impact', parentId: 'children-protected' }))
      .thenThrows(RuleViolationError, 'has no parent');
  });

  it('refuses a parent that is not defined', () => {
    spec
      .given([launched])
      .when(defineObjective(outcome))
      .thenThrows(RuleViolationError, 'Define the impact objective "children-protected" first');
  });

  it('refuses a parent that does not sit one level above', () => {
    spec
      .given([launched, impactDefined])
      .when(defineObjective({ ...output, parentId: 'children-protected' }))
      .thenThrows(RuleViolationError, 'An output objective sits under an outcome');
    spec
      .given([launched, impactDefined, outcomeDefined])
      .when(defineObjective({ ...outcome, objectiveId: 'nested', parentId: 'abuse-answered' }))
      .thenThrows(RuleViolationError, 'An outcome objective sits under an impact');
  });
});

describe('programme decider: indicators', () => {
  it('defines an indicator of a defined objective', () => {
    spec
      .given([launched, impactDefined, outcomeDefined, outputDefined])
      .when(defineIndicator)
      .then([indicatorDefined]);
  });

  it('refuses an indicator id used before', () => {
    spec.given(framework).when(defineIndicator).thenThrows(RuleViolationError, 'already defined');
  });

  it('refuses an indicator of an objective that is not defined', () => {
    spec.given([launched]).when(defineIndicator).thenThrows(RuleViolationError, 'Record DefineObjective');
  });

  it('refuses an indicator definition that breaks the schema', () => {
    spec
      .given(framework)
      .when({
        ...defineIndicator,
        data: {
          ...clubsIndicator,
          indicatorId: 'bad',
          definition: { ...clubsIndicator.definition, filter: { eventTypes: [] } },
        },
      })
      .thenThrows(ValidationError, 'data.definition.filter.eventTypes');
  });

  it('defines a ratio of two defined indicators', () => {
    spec
      .given([...framework, allClubsDefined])
      .when({ type: 'DefineIndicator', data: ratioIndicator, metadata })
      .then([{ type: 'IndicatorDefined', data: ratioIndicator }]);
  });

  it('refuses a ratio whose numerator or denominator is not defined', () => {
    spec
      .given(framework)
      .when({ type: 'DefineIndicator', data: ratioIndicator, metadata })
      .thenThrows(RuleViolationError, '"clubs-established", which is not defined');
  });
});

describe('programme decider: targets', () => {
  it('sets a target inside the programme', () => {
    spec.given(framework).when(setTarget).then([targetSet]);
  });

  it('refuses a target of an indicator that is not defined', () => {
    spec
      .given([launched])
      .when(setTarget)
      .thenThrows(RuleViolationError, 'has not defined. Record DefineIndicator');
  });

  it('refuses a target period that starts or ends outside the programme', () => {
    spec
      .given(framework)
      .when({ ...setTarget, data: { ...target, periodStart: '2018-11-01' } })
      .thenThrows(RuleViolationError, 'The start of the target period (2018-11-01) is outside programme');
    spec
      .given(framework)
      .when({ ...setTarget, data: { ...target, periodEnd: '2020-12-31' } })
      .thenThrows(RuleViolationError, 'The end of the target period (2020-12-31) is outside programme');
  });

  it('refuses a target period that ends before it starts', () => {
    spec
      .given(framework)
      .when({ ...setTarget, data: { ...target, periodEnd: '2018-11-30' } })
      .thenThrows(ValidationError, 'data.periodEnd');
  });

  it('refuses a target overlapping an earlier one for the same indicator, and says to revise it', () => {
    spec
      .given([...framework, targetSet])
      .when({ ...setTarget, data: { ...target, periodStart: '2019-11-01', periodEnd: '2020-10-31' } })
      .thenThrows(RuleViolationError, 'Record ReviseTarget');
  });

  it('sets the next period and targets of other indicators alongside', () => {
    const next = { ...target, periodStart: '2019-12-01', periodEnd: '2020-11-30', value: 65 };
    spec
      .given([...framework, targetSet])
      .when({ ...setTarget, data: next })
      .then([{ type: 'TargetSet', data: next }]);
    const other = { ...target, indicatorId: 'clubs-established' };
    spec
      .given([...framework, allClubsDefined, targetSet])
      .when({ ...setTarget, data: other })
      .then([{ type: 'TargetSet', data: other }]);
  });

  it('revises a target with exactly its period', () => {
    spec
      .given([...framework, targetSet])
      .when(reviseTarget)
      .then([{ type: 'TargetRevised', data: { ...target, value: 35 } }]);
  });

  it('refuses a revision of a target that was never set', () => {
    spec.given(framework).when(reviseTarget).thenThrows(RuleViolationError, 'record SetTarget');
    spec
      .given([...framework, targetSet])
      .when({ ...reviseTarget, data: { ...target, periodEnd: '2019-12-31' } })
      .thenThrows(RuleViolationError, 'its target periods: 2018-12-01 to 2019-11-30');
  });

  it('keeps the baseline when a revision gives none', () => {
    const { baseline: _, ...withoutBaseline } = target;
    const state = foldEvents(programmeDecider, [
      ...framework,
      targetSet,
      { type: 'TargetRevised', data: { ...withoutBaseline, value: 40 } },
    ]);
    expect(state.status === 'launched' && state.targets.get('kids-clubs-established')).toEqual([
      { periodStart: '2018-12-01', periodEnd: '2019-11-30', value: 40, baseline: 0 },
    ]);
  });
});

describe('programme decider: budgets', () => {
  it('approves a budget of exactly twelve months', () => {
    spec.given([launched]).when(approveBudget).then([budgetApproved]);
  });

  it('refuses a budget period longer than a year, as IATI requires', () => {
    spec
      .given([launched])
      .when({ ...approveBudget, data: { ...budget, periodEnd: '2019-12-01' } })
      .thenThrows(ValidationError, 'at most a year');
  });

  it('refuses a budget period outside the programme', () => {
    spec
      .given([launched])
      .when({ ...approveBudget, data: { ...budget, periodStart: '2020-12-01', periodEnd: '2021-06-30' } })
      .thenThrows(RuleViolationError, 'The start of the budget period (2020-12-01) is outside programme');
    spec
      .given([launched])
      .when({ ...approveBudget, data: { ...budget, periodStart: '2020-06-01', periodEnd: '2021-05-31' } })
      .thenThrows(RuleViolationError, 'The end of the budget period (2021-05-31) is outside programme');
  });

  it('approves the following year and refuses a budget period that overlaps another', () => {
    const yearTwo = {
      ...budget,
      periodStart: '2019-12-01',
      periodEnd: '2020-11-30',
      amount: { amount: 3_800_000, currency: 'USD' },
    };
    spec
      .given([launched, budgetApproved])
      .when({ ...approveBudget, data: yearTwo })
      .then([{ type: 'BudgetApproved', data: yearTwo }]);
    spec
      .given([launched, budgetApproved])
      .when({ ...approveBudget, data: { ...yearTwo, periodStart: '2019-11-30', periodEnd: '2020-06-30' } })
      .thenThrows(RuleViolationError, 'may not overlap');
  });

  it('refuses a budget in another currency', () => {
    spec
      .given([launched])
      .when({ ...approveBudget, data: { ...budget, amount: { amount: 4_100_000, currency: 'EUR' } } })
      .thenThrows(RuleViolationError, 'keeps its accounts in USD');
  });

  it('refuses an amount that is not whole cents', () => {
    spec
      .given([launched])
      .when({ ...approveBudget, data: { ...budget, amount: { amount: 45_000.5, currency: 'USD' } } })
      .thenThrows(ValidationError, 'data.amount.amount');
  });
});

describe('programme decider: funds and expenditure', () => {
  it('receives funds in the programme currency', () => {
    spec
      .given([launched])
      .when(receiveFunds)
      .then([{ type: 'FundsReceived', data: funds }]);
  });

  it('receives a gift made in another currency, converted, with the original kept', () => {
    const gift = {
      ...funds,
      amount: {
        amount: 1_100_000,
        currency: 'USD',
        original: { amount: 1_000_000, currency: 'EUR', rateDate: '2018-12-10' },
      },
    };
    spec
      .given([launched])
      .when({ ...receiveFunds, data: gift })
      .then([{ type: 'FundsReceived', data: gift }]);
  });

  it('refuses money in another currency without the conversion', () => {
    spec
      .given([launched])
      .when({ ...receiveFunds, data: { ...funds, amount: { amount: 1_000_000, currency: 'EUR' } } })
      .thenThrows(RuleViolationError, 'keep the EUR amount in `original`');
  });

  it('refuses an original amount in the programme currency itself', () => {
    spec
      .given([launched])
      .when({
        ...receiveFunds,
        data: {
          ...funds,
          amount: {
            amount: 100,
            currency: 'USD',
            original: { amount: 100, currency: 'USD', rateDate: '2018-12-10' },
          },
        },
      })
      .thenThrows(RuleViolationError, 'only for a gift made in another currency');
  });

  it('refuses funds received outside the programme', () => {
    spec
      .given([launched])
      .when({ ...receiveFunds, data: { ...funds, receivedOn: '2018-11-30' } })
      .thenThrows(RuleViolationError, 'outside programme');
  });

  it('refuses a donor named instead of a pseudonym', () => {
    spec
      .given([launched])
      .when({ ...receiveFunds, data: { ...funds, donorRef: 'Jane Donor' } })
      .thenThrows(ValidationError, 'data.donorRef');
  });

  it('records expenditure inside the programme, in its currency', () => {
    spec
      .given([launched])
      .when(recordExpenditure)
      .then([{ type: 'ExpenditureRecorded', data: spent }]);
    spec
      .given([launched])
      .when({ ...recordExpenditure, data: { ...spent, amount: { amount: 700_000, currency: 'KHR' } } })
      .thenThrows(RuleViolationError, 'is in KHR');
    spec
      .given([launched])
      .when({ ...recordExpenditure, data: { ...spent, spentOn: '2020-12-01' } })
      .thenThrows(RuleViolationError, 'The expenditure date (2020-12-01) is outside programme');
  });
});

describe('programme state', () => {
  it('keeps what projections and the other deciders need', () => {
    const state = foldEvents(programmeDecider, [
      ...framework,
      targetSet,
      budgetApproved,
      { type: 'FundsReceived', data: funds },
      {
        type: 'FundsReceived',
        data: { ...funds, kind: 'pledge', amount: { amount: 500_000, currency: 'USD' } },
      },
      { type: 'ExpenditureRecorded', data: spent },
      { type: 'ExpenditureRecorded', data: spent },
    ]);
    expect(programmeWindowOf(state)).toEqual({
      programmeId,
      plannedStart: '2018-12-01',
      plannedEnd: '2020-11-30',
      timeZone: 'Asia/Phnom_Penh',
      currency: 'USD',
    });
    if (state.status !== 'launched') throw new Error('the programme should be launched');
    expect(state.title).toBe('Protecting Street Kids, Phnom Penh');
    expect(state.objectives.get('kids-clubs')).toEqual({ level: 'output', parentId: 'abuse-answered' });
    expect(state.objectives.get('children-protected')).toEqual({ level: 'impact' });
    expect(state.indicators.get('kids-clubs-established')?.objectiveId).toBe('kids-clubs');
    expect(state.targets.get('kids-clubs-established')).toEqual([
      { periodStart: '2018-12-01', periodEnd: '2019-11-30', value: 30, baseline: 0 },
    ]);
    expect(state.budgets).toEqual([
      { periodStart: '2018-12-01', periodEnd: '2019-11-30', amount: 4_500_000, status: 'committed' },
    ]);
    expect(state.funds).toEqual({ pledge: 500_000, commitment: 0, funds: 2_000_000 });
    expect(state.expenditure).toBe(360_000);
  });

  it('has no window before the programme is launched', () => {
    expect(() => programmeWindowOf(programmeDecider.initialState())).toThrow(RuleViolationError);
  });
});
