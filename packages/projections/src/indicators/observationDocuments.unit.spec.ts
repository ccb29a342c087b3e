import { createMemoryEventStore, createMemoryReadModelStore } from '@lantern/adapters/memory';
import type { NewEvent, ReadModelDocument } from '@lantern/core';
import { catalogEvent } from '@lantern/core/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createProjectionEngine } from '../engine/projectionEngine.js';
import { loadIndicatorData } from '../queries/indicatorValues.js';
import type { Indicator } from './compileIndicator.js';
import { cellsPerPage, createIndicatorProjection, mostPages } from './indicatorProjection.js';

/**
 * The indicators projection keeps a count, sum or distinct indicator's figures in one document per
 * month and combination of dimension values, with a cell per child or per value counted once, and
 * grows them a read at a time. Whatever the reads, the documents must be the same, and the
 * observations `loadIndicatorData` reads out of them must be exactly those the events make,
 * worked out here directly from the events.
 */

const staff = 'st_00000000000000a1';
const programmeId = 'pp';
const children = ['ch_000000000000000a', 'ch_000000000000000b', 'ch_000000000000000c'];
const services = ['medical', 'shelter', 'legal'] as const;
/** Club names are free text: bars, backslashes and names an object holds of its own. */
const names = ['a|b', 'c\\d', '__proto__', 'toString', 'Club \\|'] as const;
const areas = ['KH-12-06', 'KH-12-02'] as const;

const at = (month: number): string => `2019-0${month}-10T10:00:00+07:00`;
const event = (type: string, data: Record<string, unknown>, month: number): NewEvent =>
  catalogEvent(type, data, { occurredAt: at(month), recordedBy: staff });

type Action =
  | { readonly kind: 'disclose'; readonly case: number; readonly child: number; readonly month: number }
  | { readonly kind: 'refer'; readonly case: number; readonly service: number; readonly month: number }
  | { readonly kind: 'club'; readonly name: number; readonly area: number; readonly month: number }
  | { readonly kind: 'session'; readonly attendees: readonly number[]; readonly month: number };

const month = fc.integer({ min: 1, max: 3 });
const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({
    kind: fc.constant('disclose' as const),
    case: fc.integer({ min: 0, max: 3 }),
    child: fc.integer({ min: 0, max: 2 }),
    month,
  }),
  fc.record({
    kind: fc.constant('refer' as const),
    case: fc.integer({ min: 0, max: 4 }),
    service: fc.integer({ min: 0, max: 2 }),
    month,
  }),
  fc.record({
    kind: fc.constant('club' as const),
    name: fc.integer({ min: 0, max: names.length - 1 }),
    area: fc.integer({ min: 0, max: 1 }),
    month,
  }),
  fc.record({
    kind: fc.constant('session' as const),
    attendees: fc.uniqueArray(fc.integer({ min: 0, max: 2 }), { maxLength: 3 }),
    month,
  }),
);

const caseId = (index: number): string => `PP-2019-00${index}`;

const eventOf = (act: Action, index: number): NewEvent => {
  switch (act.kind) {
    case 'disclose':
      return event(
        'CaseDisclosed',
        {
          programmeId,
          caseId: caseId(act.case),
          childRef: children[act.child],
          sex: 'female',
          ageBand: '12-17',
          area: 'KH-12-06',
          concerns: ['neglect'],
          disclosedVia: 'outreach',
        },
        act.month,
      );
    case 'refer':
      return event(
        'CaseReferred',
        {
          caseId: caseId(act.case),
          referralId: `r${index}`,
          service: services[act.service],
          toAgencyRef: 'ag_00000000000000a1',
          consentBasis: { kind: 'given' },
        },
        act.month,
      );
    case 'club':
      return event(
        'ClubEstablished',
        {
          programmeId,
          clubId: `c${index}`,
          name: names[act.name],
          area: areas[act.area],
          kind: 'kids-club',
          establishedOn: `2019-0${act.month}-10`,
        },
        act.month,
      );
    case 'session':
      return event(
        'ClubSessionHeld',
        {
          clubId: 'c0',
          heldOn: `2019-0${act.month}-10`,
          activity: 'play',
          attendance: [{ sex: 'female', ageBand: '12-17', count: act.attendees.length }],
          attendeeRefs: act.attendees.map((child) => children[child]),
        },
        act.month,
      );
  }
};

const indicator = (id: string, definition: Indicator['definition']): Indicator => ({
  id,
  title: id,
  unit: 'things',
  measure: 'unit',
  ascending: true,
  definition,
});

const indicators: readonly Indicator[] = [
  // Cells by child (the case's).
  indicator('referrals', {
    filter: { eventTypes: ['CaseReferred'] },
    value: { kind: 'count' },
    dimensions: ['data.service'],
    about: { case: 'data.caseId' },
  }),
  // Cells by child and value counted once.
  indicator('services-per-child', {
    filter: { eventTypes: ['CaseReferred'] },
    value: { kind: 'distinct', field: 'data.service' },
    about: { case: 'data.caseId' },
  }),
  // Cells by value counted once.
  indicator('club-names', {
    filter: { eventTypes: ['ClubEstablished'] },
    value: { kind: 'distinct', field: 'data.name' },
  }),
  // One value.
  indicator('clubs', {
    filter: { eventTypes: ['ClubEstablished'] },
    value: { kind: 'count' },
    dimensions: ['data.area'],
  }),
  // Cells by child, the child counted once.
  indicator('attendees', {
    filter: { eventTypes: ['ClubSessionHeld'] },
    unnest: 'data.attendeeRefs',
    value: { kind: 'distinct', field: 'item' },
    about: { child: 'item' },
  }),
];

/** The observations the events make, one per cell, worked out without the projection. */
const expectedObservations = (actions: readonly Action[]): string[] => {
  const out = new Map<string, Record<string, unknown>>();
  const childOfCase = new Map<number, string>();
  const add = (key: string, observation: Record<string, unknown>, counted: boolean) => {
    const found = out.get(key);
    if (found && counted) return;
    if (found) found.value = Number(found.value) + 1;
    else out.set(key, { ...observation, value: 1 });
  };
  for (const act of actions) {
    const m = `2019-0${act.month}`;
    if (act.kind === 'disclose') {
      // The first disclosure of a case names its child; the projection keeps the latest.
      childOfCase.set(act.case, children[act.child] as string);
    } else if (act.kind === 'refer') {
      const child = childOfCase.get(act.case) ?? '';
      const service = services[act.service] as string;
      const dims = { 'data.service': service };
      add(`r|${m}|${service}|${child}`, { indicator: 'referrals', month: m, dims, child }, false);
      add(
        `s|${m}|${child}|${service}`,
        { indicator: 'services-per-child', month: m, dims: {}, child, ref: service },
        true,
      );
    } else if (act.kind === 'club') {
      const name = names[act.name] as string;
      add(`n|${m}|${name}`, { indicator: 'club-names', month: m, dims: {}, ref: name }, true);
      const area = areas[act.area] as string;
      add(`c|${m}|${area}`, { indicator: 'clubs', month: m, dims: { 'data.area': area } }, false);
    } else {
      for (const index of act.attendees) {
        const child = children[index] as string;
        add(`a|${m}|${child}`, { indicator: 'attendees', month: m, dims: {}, child, ref: child }, true);
      }
    }
  }
  return [...out.values()].map((observation) => JSON.stringify(observation)).sort();
};

const rebuilt = async (actions: readonly Action[], batchSize: number) => {
  const eventStore = createMemoryEventStore();
  const readModels = createMemoryReadModelStore();
  const projection = createIndicatorProjection({ indicators, timeZone: 'Asia/Phnom_Penh' });
  let last = 0n;
  for (const [index, act] of actions.entries()) {
    const stream =
      act.kind === 'club' ? `club-c${index}` : act.kind === 'session' ? 'club-c0' : `case-${index}`;
    last = (await eventStore.append(stream, [eventOf(act, index)])).position;
  }
  const engine = createProjectionEngine({ eventStore, readModels, projections: [projection], batchSize });
  await engine.start();
  await engine.waitFor(last);
  await engine.stop();
  const documents = await readModels.documents(projection.name, 'observations');
  const data = await loadIndicatorData(readModels, projection);
  return {
    documents: JSON.stringify(documents),
    observations: data.observations.map((o: ReadModelDocument) => JSON.stringify(o)).sort(),
    months: data.months,
  };
};

/** The first and last month of the observations given, as `coverage` should keep them. */
const monthsOf = (observations: readonly string[]) => {
  const months = observations.map((o) => String(JSON.parse(o).month)).sort();
  return months.length === 0 ? undefined : { first: months[0], last: months.at(-1) };
};

describe('flow observations kept by month and combination, a cell per child or value', () => {
  it('are the same whatever the reads, and read back as exactly the cells the events make (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 25 }), async (actions) => {
        const one = await rebuilt(actions, 1);
        expect(one.observations).toEqual(expectedObservations(actions));
        // Disclosures and sessions no child attended observe nothing: their months are not kept.
        expect(one.months).toEqual(monthsOf(one.observations));
        for (const batchSize of [3, 1000]) expect(await rebuilt(actions, batchSize)).toEqual(one);
      }),
      { numRuns: 60 },
    );
  });

  it('keep an analyst-readable document: the cells keyed by child, by value, or by both', async () => {
    const actions: Action[] = [
      { kind: 'disclose', case: 1, child: 0, month: 1 },
      { kind: 'refer', case: 1, service: 0, month: 1 },
      { kind: 'refer', case: 1, service: 0, month: 1 },
      { kind: 'refer', case: 2, service: 1, month: 1 },
      { kind: 'club', name: 0, area: 0, month: 2 },
      { kind: 'club', name: 2, area: 0, month: 2 },
    ];
    const { documents } = await rebuilt(actions, 1000);
    // As JSON text: a field named __proto__ cannot be written as an object literal's own.
    const rows = (JSON.parse(documents) as { key: string; document: unknown }[]).map(({ key, document }) => [
      key,
      JSON.stringify(document),
    ]);
    expect(rows).toEqual([
      [
        'f|club-names|2019-02|',
        '{"indicator":"club-names","month":"2019-02","dims":{},"cells":{"a|b":1,"__proto__":1}}',
      ],
      [
        'f|clubs|2019-02|KH-12-06',
        '{"indicator":"clubs","month":"2019-02","dims":{"data.area":"KH-12-06"},"value":2}',
      ],
      [
        'f|referrals|2019-01|medical',
        '{"indicator":"referrals","month":"2019-01","dims":{"data.service":"medical"},"cells":{"ch_000000000000000a":2}}',
      ],
      [
        'f|referrals|2019-01|shelter',
        '{"indicator":"referrals","month":"2019-01","dims":{"data.service":"shelter"},"cells":{"":1}}',
      ],
      [
        'f|services-per-child|2019-01|',
        '{"indicator":"services-per-child","month":"2019-01","dims":{},"cells":{"ch_000000000000000a|medical":1,"|shelter":1}}',
      ],
    ]);
  });

  it('stop doubling the pages of a month at mostPages, when names typed in a field share a hash', async () => {
    // FNV-1a over UTF-16 code units, as the projection pages cells: names found to share the
    // page number mostPages pages would give them, one more than a page holds.
    const hashOf = (text: string): number => {
      let hash = 0x811c9dc5;
      for (let i = 0; i < text.length; i += 1) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
      return hash >>> 0;
    };
    const byPage = new Map<number, string[]>();
    let sharing: string[] = [];
    for (let i = 0; sharing.length <= cellsPerPage; i += 1) {
      const name = `Club ${i}`;
      const page = hashOf(name) & (mostPages - 1);
      const found = [...(byPage.get(page) ?? []), name];
      byPage.set(page, found);
      if (found.length > sharing.length) sharing = found;
    }
    const eventStore = createMemoryEventStore();
    const readModels = createMemoryReadModelStore();
    const projection = createIndicatorProjection({
      indicators: indicators.filter((one) => one.id === 'club-names'),
      timeZone: 'Asia/Phnom_Penh',
    });
    let last = 0n;
    for (const [index, name] of sharing.entries()) {
      const established = catalogEvent(
        'ClubEstablished',
        {
          programmeId,
          clubId: `c${index}`,
          name,
          area: 'KH-12-06',
          kind: 'kids-club',
          establishedOn: '2019-01-10',
        },
        { occurredAt: at(1), recordedBy: staff },
      );
      last = (await eventStore.append(`club-c${index}`, [established])).position;
    }
    const engine = createProjectionEngine({ eventStore, readModels, projections: [projection] });
    await engine.start();
    await engine.waitFor(last);
    await engine.stop();
    const documents = await readModels.documents(projection.name, 'observations');
    expect(documents.find((row) => row.key === 'f|club-names|2019-01|')?.document.pages).toBe(mostPages);
    const cells = documents.flatMap((row) => Object.keys(row.document.cells as Record<string, number>));
    expect(cells.sort()).toEqual([...sharing].sort());
  });

  describe('a month of many children', () => {
    const many = Array.from({ length: 600 }, (_, i) => `ch_${i.toString(16).padStart(16, '0')}`);
    /** Session s: 20 children, each at most once, children coming back in later sessions. */
    const attendeesOf = (session: number): string[] =>
      Array.from({ length: 20 }, (_, k) => many[(session * 13 + k * 37) % many.length] as string);
    const sessions = Array.from({ length: 60 }, (_, session) => attendeesOf(session));
    const sessionEvent = (attendees: readonly string[], day: number): NewEvent =>
      catalogEvent(
        'ClubSessionHeld',
        {
          clubId: 'c0',
          heldOn: `2019-01-${String(day).padStart(2, '0')}`,
          activity: 'play',
          attendance: [{ sex: 'female', ageBand: '12-17', count: attendees.length }],
          attendeeRefs: attendees,
        },
        { occurredAt: `2019-01-${String(day).padStart(2, '0')}T16:00:00+07:00`, recordedBy: staff },
      );
    const manyIndicators: readonly Indicator[] = [
      indicator('attendances', {
        filter: { eventTypes: ['ClubSessionHeld'] },
        unnest: 'data.attendeeRefs',
        value: { kind: 'count' },
        dateField: 'data.heldOn',
        about: { child: 'item' },
      }),
      indicator('attendees', {
        filter: { eventTypes: ['ClubSessionHeld'] },
        unnest: 'data.attendeeRefs',
        value: { kind: 'distinct', field: 'item' },
        dateField: 'data.heldOn',
        about: { child: 'item' },
      }),
    ];

    const built = async (batchSize: number) => {
      const eventStore = createMemoryEventStore();
      const readModels = createMemoryReadModelStore();
      const projection = createIndicatorProjection({
        indicators: manyIndicators,
        timeZone: 'Asia/Phnom_Penh',
      });
      let last = 0n;
      for (const [index, attendees] of sessions.entries()) {
        last = (await eventStore.append('club-c0', [sessionEvent(attendees, (index % 28) + 1)])).position;
      }
      const engine = createProjectionEngine({ eventStore, readModels, projections: [projection], batchSize });
      await engine.start();
      await engine.waitFor(last);
      return { eventStore, readModels, projection, engine };
    };

    it('keeps them in pages of at most cellsPerPage cells, the same whatever the reads', async () => {
      const documentsOf = async (batchSize: number) => {
        const { readModels, projection, engine } = await built(batchSize);
        await engine.stop();
        return {
          documents: await readModels.documents(projection.name, 'observations'),
          data: await loadIndicatorData(readModels, projection),
        };
      };
      const { documents, data } = await documentsOf(1);
      for (const batchSize of [7, 1000]) expect((await documentsOf(batchSize)).documents).toEqual(documents);
      // 600 children: more than one page, each page at most cellsPerPage, and every child once.
      for (const id of ['attendances', 'attendees']) {
        const own = documents.filter((row) => row.document.indicator === id);
        const first = own.find((row) => row.key === `f|${id}|2019-01|`);
        expect(first?.document.pages).toBe(own.length);
        expect(own.length).toBeGreaterThan(1);
        expect(Number.isInteger(Math.log2(own.length))).toBe(true);
        const cells = own.flatMap((row) => Object.keys(row.document.cells as Record<string, number>));
        for (const row of own) {
          expect(Object.keys(row.document.cells as Record<string, number>).length).toBeLessThanOrEqual(
            cellsPerPage,
          );
        }
        expect(cells.sort()).toEqual([...many].sort());
      }
      // What they read back as: each child's attendances, counted directly.
      const attended = new Map<string, number>();
      for (const attendees of sessions)
        for (const child of attendees) attended.set(child, (attended.get(child) ?? 0) + 1);
      const read = (id: string) =>
        new Map(
          data.observations
            .filter((o) => o.indicator === id)
            .map((o) => [o.child as string, o.value as number] as const),
        );
      expect(read('attendances')).toEqual(attended);
      expect(read('attendees')).toEqual(new Map(many.map((child) => [child, 1])));
    });

    it('rewrites only the pages an event changes, live', async () => {
      const { eventStore, readModels, projection, engine } = await built(1000);
      const pages = (await readModels.documents(projection.name, 'observations')).length;
      const published: string[] = [];
      engine.changes.subscribe(({ changes }) => {
        for (const change of changes) if (change.collection === 'observations') published.push(change.key);
      });
      // One child new this month, one who came before: the new one's page of each indicator, and
      // the page of the other's attendances. The other's distinct cell is there already.
      const newcomer = 'ch_00000000000fffff';
      const { position } = await eventStore.append('club-c0', [
        sessionEvent([newcomer, many[0] as string], 28),
      ]);
      await engine.waitFor(position);
      await engine.stop();
      expect(published.length).toBeGreaterThan(0);
      expect(published.length).toBeLessThanOrEqual(3);
      expect(published.length).toBeLessThan(pages / 4);
    });
  });
});
