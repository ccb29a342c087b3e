import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createMemoryEventStore, createMemoryReadModelStore } from '@lantern/adapters/memory';
import { createPostgresReadModelStore } from '@lantern/adapters/postgres';
import { createSqliteEventStore, createSqliteReadModelStore, withLocalCopy } from '@lantern/adapters/sqlite';
import type { EventStore, Principal, ReadModelDocument, ReadModelStore, RecordedEvent } from '@lantern/core';
import {
  builtInIndicators,
  createCaseFunnelProjection,
  createIndicatorProjection,
  createProjectionEngine,
  fundingProjection,
  type Granularity,
  loadIndicatorData,
  type Projection,
  type ProjectionEngine,
  type ProjectionView,
  releaseCaseFunnel,
  releaseIndicator,
} from '@lantern/projections';
import pg from 'pg';
import { openDatabase } from '../subjects/betterSqlite3.js';
import type { Tally } from '../workload.js';
import { checkBuiltIns, checkBuiltInsWithSql, checkTally } from './checks.js';
import { createHandFold, foldByHand, type HandFolded, handFoldProblem, writeHandFolded } from './handFold.js';
import { programmeEvents } from './programmeWorkload.js';
import {
  type Job,
  type LiveLag,
  type Measurement,
  type Percentiles,
  postgresConnectionString,
  type Releases,
  type ReleaseTally,
} from './scenarios.js';
import { foldCollection, foldKey, foldProjection, idleProjection } from './simpleFold.js';
import { appendInOrder, copyDatabase, type Timing, time } from './timing.js';

/** The programmes' time zone: it decides which day and month an event falls in. */
const timeZone = 'Asia/Phnom_Penh';

/** Every built-in projection, as an application runs them. */
export const builtInProjections = (): Projection[] => [
  createIndicatorProjection({ indicators: builtInIndicators, timeZone }),
  fundingProjection,
  createCaseFunnelProjection({ timeZone }),
];

interface Stores {
  eventStore: EventStore;
  readModels: ReadModelStore;
  /** The last event's position. */
  last: bigint;
}

const memoryStores = async (job: Job): Promise<Stores> => {
  const eventStore = createMemoryEventStore();
  const last = await appendInOrder(eventStore, programmeEvents(job.settings));
  return { eventStore, readModels: createMemoryReadModelStore(), last };
};

/** A copy of the prepared file, holding events and (once rebuilt) read models, as Lantern does by default. */
const sqliteStores = (job: Job): Stores => {
  const path = join(job.work, 'lantern.db');
  copyDatabase(job.files.lantern, path);
  return {
    eventStore: createSqliteEventStore({ path }),
    readModels: createSqliteReadModelStore({ path }),
    last: BigInt(job.files.lanternLastPosition ?? job.summary.events),
  };
};

/**
 * The position of the last event any of `projections` reads: where a rebuild of them ends. The
 * engine reads only the types its projections handle, so a projection whose types stop before
 * the end of the log (the case funnel alone, say) ends there.
 */
const lastHandled = async (eventStore: EventStore, projections: readonly Projection[]): Promise<bigint> => {
  const eventTypes = [...new Set(projections.flatMap((projection) => projection.eventTypes))];
  let last = 0n;
  for await (const event of eventStore.readAll({ filter: { eventTypes } })) last = event.position;
  return last;
};

/** Whatever stopped some projection short of the end of the log. */
const statusProblem = async (
  engine: ProjectionEngine,
  stores: Stores,
  projections: readonly Projection[],
): Promise<string | undefined> => {
  const statuses = engine.status();
  // Read again only when some projection did not end at the last event of the log.
  const end = statuses.some((status) => status.position !== stores.last)
    ? await lastHandled(stores.eventStore, projections)
    : stores.last;
  const behind = statuses.filter(
    (status) => status.position !== end || status.error !== undefined || status.state === 'failed',
  );
  return behind.length === 0
    ? undefined
    : behind
        .map((s) => `${s.name} ${s.state} at ${s.position} of ${end}${s.error ? `: ${s.error}` : ''}`)
        .join('; ');
};

/** The timed part: from starting the engine on empty read models until it has taken in the whole log. */
const rebuild = async (
  stores: Stores,
  projections: readonly Projection[],
  batchSize: number | undefined,
): Promise<{ timing: Timing; problem?: string }> => {
  const engine = createProjectionEngine({
    eventStore: stores.eventStore,
    readModels: stores.readModels,
    projections,
    ...(batchSize === undefined ? {} : { batchSize }),
  });
  try {
    const timing = await time(async () => {
      await engine.start();
      await engine.waitFor(stores.last);
    });
    const problem = await statusProblem(engine, stores, projections);
    return problem ? { timing, problem } : { timing };
  } finally {
    await engine.stop();
  }
};

const closeAll = async (stores: Stores): Promise<void> => {
  await stores.readModels.close();
  await stores.eventStore.close();
};

const joinProblems = (...problems: (string | undefined)[]): string | undefined => {
  const found = problems.filter((p): p is string => p !== undefined);
  return found.length > 0 ? found.join('; ') : undefined;
};

const measured = (
  events: number,
  timing: Timing,
  problem: string | undefined,
  digest?: string,
): Measurement => ({
  events,
  ...timing,
  ...(problem ? { problem } : {}),
  ...(digest ? { digest } : {}),
});

/** (a), (b): every built-in projection rebuilt from the whole log. */
export const rebuildBuiltIns = async (job: Job, where: 'memory' | 'sqlite', batchSize?: number) => {
  const stores = where === 'memory' ? await memoryStores(job) : sqliteStores(job);
  try {
    const projections = builtInProjections();
    const { timing, problem } = await rebuild(stores, projections, batchSize ?? job.settings.batchSize);
    const checked = await checkBuiltIns(stores.readModels, projections, job.summary);
    return measured(job.summary.events, timing, joinProblems(problem, checked.problem), checked.digest);
  } finally {
    await closeAll(stores);
  }
};

const donor: Principal = { id: 'dn_00000000000000b1', role: 'donor' };
const releasePeriods: readonly Granularity[] = ['month', 'quarter', 'year', 'life'];

/**
 * (h): what a donor's reports cost. The indicators projection and the case funnel are rebuilt
 * from the memory store, untimed, each into read models of its own (released from the same ones,
 * the second would be refused: they count the same cases, protected apart); then, timed: every indicator's observations and the children's
 * consent are loaded once, every built-in indicator is released to a donor by month, quarter, year
 * and life, with no breakdown and by each of its dimensions, and so is the case funnel by each
 * period; then all of it again to the public, which reads the protections the donor's made.
 * The first release of an indicator protects its whole table, every later one reads it; the
 * slowest release shows what that costs for the largest table. The funnel is protected once, for
 * the donor and the public alike, and its later releases read that protection.
 */
export const donorReleases = async (job: Job): Promise<Measurement> => {
  const stores = await memoryStores(job);
  // The funnel in read models of its own: it counts the cases the indicators about cases count,
  // protected apart, and from the read models those went out from it would be refused.
  const funnelReadModels = createMemoryReadModelStore();
  const projection = createIndicatorProjection({ indicators: builtInIndicators, timeZone });
  try {
    const rebuilt = await rebuild(stores, [projection], job.settings.batchSize);
    const funnelRebuilt = await rebuild(
      { ...stores, readModels: funnelReadModels },
      [createCaseFunnelProjection({ timeZone })],
      job.settings.batchSize,
    );
    const stoppedShort = joinProblems(rebuilt.problem, funnelRebuilt.problem);
    if (stoppedShort) throw new Error(`The rebuild before the releases stopped short: ${stoppedShort}`);
    const breakdowns = (id: string): string[][] => [
      [],
      ...[...new Set(projection.indicators.get(id)?.dimensions.map((d) => d.path))].map((d) => [d]),
    ];
    const hash = createHash('sha256');
    const releases: Releases = {
      asked: 0,
      refused: {},
      figures: 0,
      hidden: 0,
      loadMs: 0,
      slowestMs: 0,
      slowest: '',
      digest: '',
    };
    const problems: string[] = [];
    /** Times one release; `figures` gives what it released, to count and fingerprint. */
    const timed = async (asked: string, figures: () => Promise<readonly { actual: unknown }[]>) => {
      const started = performance.now();
      try {
        const released = await figures();
        releases.figures += released.length;
        releases.hidden += released.filter(
          (figure) =>
            typeof figure.actual === 'object' && figure.actual !== null && 'suppressed' in figure.actual,
        ).length;
        hash.update(JSON.stringify([asked, released]));
      } catch (error) {
        const name = error instanceof Error ? error.name : typeof error;
        if (name === 'DisclosureError' || name === 'ValidationError') {
          const seen = releases.refused[name];
          if (seen) seen.count += 1;
          else releases.refused[name] = { count: 1, first: `${asked}: ${(error as Error).message}` };
          hash.update(JSON.stringify([asked, name]));
        } else {
          problems.push(`${asked}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      const took = performance.now() - started;
      releases.asked += 1;
      if (took > releases.slowestMs) {
        releases.slowestMs = took;
        releases.slowest = asked;
      }
    };
    const timing = await time(async () => {
      const loading = performance.now();
      const data = await loadIndicatorData(stores.readModels, projection);
      releases.loadMs = performance.now() - loading;
      // The donor first: the public's releases read the protections the donor's made.
      for (const audience of ['donor', 'public'] as const) {
        for (const { id } of builtInIndicators) {
          for (const period of releasePeriods) {
            for (const by of breakdowns(id)) {
              await timed(`${id} by ${[period, ...by].join(' × ')} to the ${audience}`, async () => {
                const released = await releaseIndicator(projection, data, {
                  indicator: id,
                  period,
                  by,
                  audience,
                  principal: donor,
                });
                return [...released.rows, ...released.totals];
              });
            }
          }
        }
        for (const period of releasePeriods) {
          await timed(`the case funnel by ${period} to the ${audience}`, async () =>
            (await releaseCaseFunnel(funnelReadModels, { audience, principal: donor, period })).flatMap(
              (row) => row.steps.map((step) => ({ period: row.period, ...step, actual: step.cases })),
            ),
          );
        }
      }
    });
    releases.digest = hash.digest('hex').slice(0, 16);
    const problem = problems.length > 0 ? `${problems.length} releases failed: ${problems[0]}` : undefined;
    return { ...measured(job.summary.events, timing, problem), releases };
  } finally {
    await funnelReadModels.close();
    await closeAll(stores);
  }
};

/** The last month of the quarter a month (`YYYY-MM`) lies in. */
const quarterEndOf = (month: string): string =>
  `${month.slice(0, 4)}-${String(Math.ceil(Number(month.slice(5, 7)) / 3) * 3).padStart(2, '0')}`;

/**
 * Reports made as the log grows. The workload is appended in order, a quarter at a time (an
 * event of an earlier month that comes after the quarter's end in the log goes in with the next
 * quarter: a late record); after each, the indicators projection catches up and every built-in
 * indicator is released to a donor by quarter, with no breakdown and by each of its dimensions,
 * up to that quarter's end: each round's new quarter becomes a vintage (docs/projections.md).
 * Timed: every round, the catch-ups included. Untimed, the same releases from the whole log at
 * once, one vintage: what the last round gives is set beside them.
 */
/**
 * Every built-in indicator but the cases by concern: from one read-model store, a count of the
 * concerns disclosures list and a count of the disclosures do not both go outside the programme
 * (the concerns could give the cases away), and every round releases `cases-disclosed`.
 */
const grownLogIndicators = builtInIndicators
  .map(({ id }) => id)
  .filter((id) => id !== 'cases-disclosed-by-concern');

export const releasesAsLogGrows = async (job: Job): Promise<Measurement> => {
  const projection = createIndicatorProjection({ indicators: builtInIndicators, timeZone });
  const planned = [...programmeEvents(job.settings)];
  const monthOf = ({ event }: (typeof planned)[number]): string =>
    (event.metadata as { occurredAt: string }).occurredAt.slice(0, 7);
  const quarterEnds = [...new Set(planned.map((p) => quarterEndOf(monthOf(p))))].sort();
  const breakdowns = (id: string): string[][] => [
    [],
    ...[...new Set(projection.indicators.get(id)?.dimensions.map((d) => d.path))].map((d) => [d]),
  ];
  /** Every release of a round, up to `to`: what it gave, and its figures for the digest. */
  const round = async (readModels: ReadModelStore, to: string, hash?: ReturnType<typeof createHash>) => {
    const data = await loadIndicatorData(readModels, projection);
    const tally: ReleaseTally = { figures: 0, primary: 0, secondary: 0, partlyHidden: 0, refused: 0 };
    for (const id of grownLogIndicators) {
      for (const by of breakdowns(id)) {
        try {
          const released = await releaseIndicator(projection, data, {
            indicator: id,
            period: 'quarter',
            by,
            to,
            audience: 'donor',
            principal: donor,
          });
          for (const row of [...released.rows, ...released.totals]) {
            tally.figures += 1;
            const why = 'suppressed' in row.actual ? row.actual.suppressed : undefined;
            if (why === 'primary') tally.primary += 1;
            else if (why === 'secondary') tally.secondary += 1;
            else if (why === 'partly-hidden') tally.partlyHidden += 1;
            hash?.update(JSON.stringify([id, by, row]));
          }
        } catch (error) {
          tally.refused += 1;
          hash?.update(JSON.stringify([id, by, error instanceof Error ? error.name : 'refused']));
        }
      }
    }
    return tally;
  };
  /** Appends the planned events from `from` up to the first after `end`; gives where it stopped. */
  const appendUpTo = async (eventStore: EventStore, from: number, end: string) => {
    let at = from;
    let last = 0n;
    while (at < planned.length && monthOf(planned[at] as (typeof planned)[number]) <= end) {
      const { streamId, event } = planned[at] as (typeof planned)[number];
      last = (await eventStore.append(streamId, [event])).position;
      at += 1;
    }
    return { at, last };
  };
  const catchUp = async (eventStore: EventStore, readModels: ReadModelStore, last: bigint) => {
    const engine = createProjectionEngine({ eventStore, readModels, projections: [projection] });
    try {
      await engine.start();
      await engine.waitFor(last);
    } finally {
      await engine.stop();
    }
  };
  const lastEnd = quarterEnds.at(-1) as string;
  // Untimed: the whole log, then one round of releases.
  const whole = { eventStore: createMemoryEventStore(), readModels: createMemoryReadModelStore() };
  const all = await appendUpTo(whole.eventStore, 0, '9999-12');
  await catchUp(whole.eventStore, whole.readModels, all.last);
  const once = await round(whole.readModels, lastEnd);
  const eventStore = createMemoryEventStore();
  const readModels = createMemoryReadModelStore();
  const hash = createHash('sha256');
  let last: ReleaseTally = once;
  const timing = await time(async () => {
    let at = 0;
    for (const end of quarterEnds) {
      const appended = await appendUpTo(eventStore, at, end);
      at = appended.at;
      if (appended.last > 0n) await catchUp(eventStore, readModels, appended.last);
      last = await round(readModels, end, end === lastEnd ? hash : undefined);
    }
  });
  const problem = last.refused > 0 ? `${last.refused} releases of the last round were refused` : undefined;
  return {
    ...measured(job.summary.events, timing, problem),
    growing: { rounds: quarterEnds.length, last, once, digest: hash.digest('hex').slice(0, 16) },
  };
};

/** A view over plain maps, one per collection: what `apply` needs and nothing else. */
const mapView = (collections: readonly string[]) => {
  const maps = new Map(collections.map((collection) => [collection, new Map<string, ReadModelDocument>()]));
  const mapOf = (collection: string): Map<string, ReadModelDocument> => {
    const map = maps.get(collection);
    if (!map) throw new TypeError(`No collection "${collection}".`);
    return map;
  };
  const view: ProjectionView = {
    get: (collection, key) => mapOf(collection).get(key),
    put: (collection, key, document) => {
      mapOf(collection).set(key, document);
    },
    delete: (collection, key) => {
      mapOf(collection).delete(key);
    },
    keys: (collection) => mapOf(collection).keys(),
  };
  return { view, maps };
};

/** The engine's default read: what `applyEvents` is given at a time when no `--batch-size` is set. */
const engineBatchSize = 1000;

/**
 * Folds events into a projection as the engine does: runs of one read's length, each run's events
 * of the types it handles given to `applyEvents` at once when it has one, else to `apply` in turn.
 */
const foldInRuns = (
  projection: Projection,
  handles: ReadonlySet<string>,
  events: readonly RecordedEvent[],
  view: ProjectionView,
  runLength: number,
  beforeEach?: () => void,
): void => {
  for (let start = 0; start < events.length; start += runLength) {
    const run: RecordedEvent[] = [];
    const end = Math.min(events.length, start + runLength);
    for (let i = start; i < end; i += 1) {
      const event = events[i] as RecordedEvent;
      if (handles.has(event.type)) run.push(event);
    }
    if (run.length === 0) continue;
    if (projection.applyEvents) {
      beforeEach?.();
      projection.applyEvents(run, view);
      continue;
    }
    for (const event of run) {
      beforeEach?.();
      projection.apply(event, view);
    }
  }
};

/** Documents in plain maps, committed untimed to a memory store and checked like a rebuild's. */
const checkMaps = async (
  job: Job,
  last: bigint,
  runs: readonly { projection: Projection; maps: Map<string, Map<string, ReadModelDocument>> }[],
  timing: Timing,
): Promise<Measurement> => {
  const readModels = createMemoryReadModelStore();
  try {
    for (const { projection, maps } of runs) {
      await readModels.prepare(projection.name, projection.collections);
      await readModels.reset(projection.name, projection.version, projection.collections);
      await readModels.commit([
        {
          projection: projection.name,
          version: projection.version,
          after: 0n,
          position: last,
          changes: [...maps].flatMap(([collection, map]) =>
            [...map].map(([key, document]) => ({ collection, key, document })),
          ),
          deadLetters: [],
        },
      ]);
    }
    const checked = await checkBuiltIns(
      readModels,
      runs.map((run) => run.projection),
      job.summary,
    );
    return measured(job.summary.events, timing, checked.problem, checked.digest);
  } finally {
    await readModels.close();
  }
};

/** Every event of the workload, read from a filled memory store into an array. */
const eventsInArray = async (job: Job): Promise<{ events: RecordedEvent[]; last: bigint }> => {
  const { eventStore, last } = await memoryStores(job);
  try {
    const events: RecordedEvent[] = [];
    for await (const event of eventStore.readAll()) events.push(event);
    return { events, last };
  } finally {
    await eventStore.close();
  }
};

/**
 * (a'): every built-in projection's fold alone, over events already read into an array and
 * documents in plain maps: no engine, no store, no commit. Each read's events (`--batch-size`, or
 * the engine's 1,000) are folded as the engine folds them, with `applyEvents` where a projection
 * has it. What evaluating the indicators costs by itself, so the ceiling any engine could reach
 * with them. The documents are then committed,
 * untimed, to a memory read-model store and checked like a rebuild's.
 */
export const applyBuiltIns = async (job: Job): Promise<Measurement> => {
  const { events, last } = await eventsInArray(job);
  const runs = builtInProjections().map((projection) => ({
    projection,
    handles: new Set(projection.eventTypes),
    ...mapView(projection.collections),
  }));
  const runLength = job.settings.batchSize ?? engineBatchSize;
  const timing = await time(async () => {
    for (const run of runs) foldInRuns(run.projection, run.handles, events, run.view, runLength);
  });
  return checkMaps(job, last, runs, timing);
};

/**
 * (a''): only the document reads and writes that the built-ins' folds make. Untimed, they fold
 * every event as (a') does and each `get` and `put` is recorded; timed, the same operations are
 * made again, in order, on plain maps, each key made anew from its two halves as the folds make
 * their keys (a new string is hashed when first looked up). A put of the key the operation before
 * read, within one call of the fold, reuses that string, as a fold does when it reads a document
 * and writes it back. No evaluation, no engine, no store: the floor under any rebuild that keeps these
 * documents in maps, whatever else gets faster.
 */
export const documentOperationsBuiltIns = async (job: Job): Promise<Measurement> => {
  const { events, last } = await eventsInArray(job);
  const projections = builtInProjections();
  /** Per operation: its map (an index into `maps`), whether it is a put, the key's halves, what is put. */
  const mapOf: number[] = [];
  const isPut: boolean[] = [];
  const heads: string[] = [];
  const tails: string[] = [];
  const documents: (ReadModelDocument | undefined)[] = [];
  /** Whether the operation is a put of the very key the one before it read, in the same event. */
  const reusesKey: boolean[] = [];
  let lastRead: { map: number; key: string } | undefined;
  const record = (map: number, put: boolean, key: string, document?: ReadModelDocument): void => {
    const half = Math.ceil(key.length / 2);
    reusesKey.push(put && lastRead !== undefined && lastRead.map === map && lastRead.key === key);
    lastRead = put ? undefined : { map, key };
    mapOf.push(map);
    isPut.push(put);
    heads.push(key.slice(0, half));
    tails.push(key.slice(half));
    documents.push(document);
  };
  const names: string[] = [];
  for (const projection of projections) {
    const { maps } = mapView(projection.collections);
    const indexOf = (collection: string): number => {
      const name = `${projection.name}/${collection}`;
      const found = names.indexOf(name);
      return found >= 0 ? found : names.push(name) - 1;
    };
    const mapAt = (collection: string) => maps.get(collection) as Map<string, ReadModelDocument>;
    const view: ProjectionView = {
      get: (collection, key) => {
        record(indexOf(collection), false, key);
        return mapAt(collection).get(key);
      },
      put: (collection, key, document) => {
        record(indexOf(collection), true, key, document);
        mapAt(collection).set(key, document);
      },
      delete: () => {
        throw new Error('The built-in projections delete no documents while rebuilding.');
      },
      keys: (collection) => mapAt(collection).keys(),
    };
    const handles = new Set(projection.eventTypes);
    foldInRuns(projection, handles, events, view, job.settings.batchSize ?? engineBatchSize, () => {
      lastRead = undefined;
    });
  }
  events.length = 0;
  const replayed = names.map(() => new Map<string, ReadModelDocument>());
  let found = 0;
  let reused = 0;
  for (const reuses of reusesKey) if (reuses) reused += 1;
  const timing = await time(async () => {
    let key = '';
    for (let i = 0; i < mapOf.length; i += 1) {
      const map = replayed[mapOf[i] as number] as Map<string, ReadModelDocument>;
      if (!reusesKey[i]) key = (heads[i] as string) + (tails[i] as string);
      if (isPut[i]) map.set(key, documents[i] as ReadModelDocument);
      else if (map.get(key) !== undefined) found += 1;
    }
  });
  const runs = projections.map((projection) => ({
    projection,
    maps: new Map(
      projection.collections.map((collection) => [
        collection,
        replayed[names.indexOf(`${projection.name}/${collection}`)] ?? new Map<string, ReadModelDocument>(),
      ]),
    ),
  }));
  const checked = await checkMaps(job, last, runs, timing);
  const perEvent = (mapOf.length / job.summary.events).toFixed(2);
  return {
    ...checked,
    remark: `${mapOf.length.toLocaleString('en-US')} document reads and writes, ${perEvent} an event; ${found.toLocaleString('en-US')} reads found a document; ${reused.toLocaleString('en-US')} writes put back the key just read`,
  };
};

/**
 * (a'''): a floor under every built-in projection: what they keep, folded by code written by hand
 * for this workload (see handFold.ts), over events already read into an array. Checked, untimed,
 * against the built-in projections' own documents, folded as (a') folds them.
 */
export const floorBuiltIns = async (job: Job): Promise<Measurement> => {
  const { events } = await eventsInArray(job);
  let folded: HandFolded | undefined;
  const timing = await time(async () => {
    folded = foldByHand(events);
  });
  const problem = handFoldProblem(folded as HandFolded, builtInMaps(events));
  return measured(job.summary.events, timing, problem);
};

/** The built-in projections' documents, folded untimed from `events` as (a') folds them, for a floor's check. */
const builtInMaps = (events: readonly RecordedEvent[]) => {
  const [indicators, funding, funnel] = builtInProjections() as [Projection, Projection, Projection];
  const built = [indicators, funding, funnel].map((projection) => {
    const { view, maps } = mapView(projection.collections);
    foldInRuns(projection, new Set(projection.eventTypes), events, view, engineBatchSize);
    return maps;
  });
  const collection = (at: number, name: string) =>
    built[at]?.get(name) ?? new Map<string, ReadModelDocument>();
  return {
    observations: collection(0, 'observations'),
    budgets: collection(1, 'budgets'),
    funds: collection(1, 'funds'),
    funnelCases: collection(2, 'cases'),
  };
};

/**
 * (e'): the floor from SQLite: the raw scan of Lantern's file as (e) makes it, each event folded by
 * the hand-written fold as it is read, and what that keeps written once to a fresh SQLite file in
 * one transaction (synchronous off). Checked, untimed, as (a''') is.
 */
export const floorBuiltInsSqlite = async (job: Job): Promise<Measurement> => {
  const db = openDatabase(job.files.lantern);
  const out = openDatabase(join(job.work, 'floor.db'));
  try {
    out.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF');
    const select = db.prepare('SELECT id, type, data, metadata FROM events ORDER BY position');
    const { fold, folded } = createHandFold();
    let rows = 0;
    const timing = await time(async () => {
      for (const row of select.iterate() as IterableIterator<
        Record<'id' | 'type' | 'data' | 'metadata', string>
      >) {
        fold({ id: row.id, type: row.type, data: JSON.parse(row.data), metadata: JSON.parse(row.metadata) });
      }
      rows = writeHandFolded(out, folded);
    });
    const { events } = await eventsInArray(job);
    const problem = handFoldProblem(folded, builtInMaps(events));
    return {
      ...measured(job.summary.events, timing, problem),
      remark: `${rows.toLocaleString('en-US')} rows written`,
    };
  } finally {
    db.close();
    out.close();
  }
};

/** (f): the engine running the simple fold, so its own overhead compares with Emmett's and raw's. */
export const rebuildFold = async (job: Job, where: 'memory' | 'sqlite'): Promise<Measurement> => {
  const stores = where === 'memory' ? await memoryStores(job) : sqliteStores(job);
  try {
    const { timing, problem } = await rebuild(stores, [foldProjection], job.settings.batchSize);
    const tally = (await stores.readModels.getDocument(foldProjection.name, foldCollection, foldKey)) as
      | Tally
      | undefined;
    return measured(job.summary.events, timing, joinProblems(problem, checkTally(tally, job.summary)));
  } finally {
    await closeAll(stores);
  }
};

/**
 * (f'): the engine running a projection that changes nothing: what the engine costs by itself, the
 * ceiling of every projection it runs. Checked: every event of the log was handed to it once.
 */
export const rebuildIdle = async (job: Job, where: 'memory' | 'sqlite'): Promise<Measurement> => {
  const stores = where === 'memory' ? await memoryStores(job) : sqliteStores(job);
  try {
    const idle = idleProjection();
    const { timing, problem } = await rebuild(stores, [idle.projection], job.settings.batchSize);
    const seen = idle.seen();
    return measured(
      job.summary.events,
      timing,
      joinProblems(
        problem,
        seen === job.summary.events ? undefined : `handed ${seen} events of ${job.summary.events}`,
      ),
    );
  } finally {
    await closeAll(stores);
  }
};

/**
 * (h): peak RSS of a rebuild of the big workload. The log is opened read-only where the parent
 * wrote it (copying gigabytes per run would measure the disk); the read models go to a fresh file
 * of this run's own.
 */
export const rebuildForRss = async (job: Job, what: 'builtIns' | 'fold'): Promise<Measurement> => {
  const { rss } = job.files;
  if (!rss) throw new Error('The peak-RSS workload was not prepared.');
  const readModelsPath = join(job.work, 'read-models.db');
  const stores: Stores = {
    eventStore: createSqliteEventStore({ path: rss, readonly: true }),
    readModels: createSqliteReadModelStore({ path: readModelsPath }),
    last: BigInt(job.files.rssLastPosition ?? job.summary.events),
  };
  try {
    const projections = what === 'builtIns' ? builtInProjections() : [foldProjection];
    const { timing, problem } = await rebuild(stores, projections, job.settings.batchSize);
    const checked =
      what === 'builtIns'
        ? checkBuiltInsWithSql(readModelsPath, job.summary)
        : checkTally(
            (await stores.readModels.getDocument(foldProjection.name, foldCollection, foldKey)) as
              | Tally
              | undefined,
            job.summary,
          );
    return measured(job.summary.events, timing, joinProblems(problem, checked));
  } finally {
    await closeAll(stores);
  }
};

/**
 * (i): peak RSS of the same rebuild with the read models in PostgreSQL, in a schema of the run's
 * own (dropped after): with every document held in memory, as the engine does with a store it
 * cannot read synchronously, or paged through a local SQLite copy (`withLocalCopy`).
 */
export const rebuildIntoPostgres = async (job: Job, how: 'held' | 'localCopy'): Promise<Measurement> => {
  const { rss } = job.files;
  if (!rss) throw new Error('The peak-RSS workload was not prepared.');
  const schema = `lantern_bench_${process.pid}`;
  const postgres = createPostgresReadModelStore({ connectionString: postgresConnectionString }, { schema });
  const stores: Stores = {
    eventStore: createSqliteEventStore({ path: rss, readonly: true }),
    readModels: how === 'held' ? postgres : withLocalCopy(postgres, { path: join(job.work, 'copy.db') }),
    last: BigInt(job.files.rssLastPosition ?? job.summary.events),
  };
  try {
    const projections = builtInProjections();
    const { timing, problem } = await rebuild(stores, projections, job.settings.batchSize);
    const checked = await checkBuiltIns(stores.readModels, projections, job.summary);
    return measured(job.summary.events, timing, joinProblems(problem, checked.problem), checked.digest);
  } finally {
    await closeAll(stores);
    const client = new pg.Client({ connectionString: postgresConnectionString });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).finally(() => client.end());
  }
};

const percentiles = (values: readonly number[]): Percentiles => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number =>
    sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
  return { p50: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? 0 };
};

const waitUntil = async (condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> => {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`Timed out waiting until ${what}.`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
};

/**
 * Spins for a second and counts the pauses longer than 1 ms between two readings of the clock:
 * time the process was not running (descheduled by the OS, or collecting garbage). On an idle
 * machine there are almost none; on a shared one they set a floor under any p99.
 */
const schedulingStalls = (): LiveLag['stalls'] => {
  const end = performance.now() + 1000;
  let previous = performance.now();
  let count = 0;
  let longestMs = 0;
  for (let now = previous; now < end; now = performance.now()) {
    const gap = now - previous;
    if (gap > 1) {
      count += 1;
      longestMs = Math.max(longestMs, gap);
    }
    previous = now;
  }
  return { count, longestMs };
};

/** How long an append's changes may take before the run gives up on them. */
const lagTimeoutMs = 5_000;

/**
 * (g): live lag. The first `liveHistory` events are in the memory store when the engine starts
 * (every built-in projection and the fold, so that every event changes some read model); once it
 * is live, the next `liveEvents` events of the workload are appended one at a time, each awaited,
 * and timed until the engine publishes the changes their commit made (`engine.changes`).
 */
export const liveLag = async (job: Job): Promise<Measurement> => {
  const { liveHistory, liveEvents, seed } = job.settings;
  const history = Math.min(liveHistory, job.settings.events);
  const planned = [...programmeEvents({ events: history + liveEvents, seed })];
  const eventStore = createMemoryEventStore();
  const readModels = createMemoryReadModelStore();
  const last = await appendInOrder(eventStore, planned.slice(0, history));
  const projections = [...builtInProjections(), foldProjection];
  const engine = createProjectionEngine({
    eventStore,
    readModels,
    projections,
    ...(job.settings.batchSize === undefined ? {} : { batchSize: job.settings.batchSize }),
  });

  /** When the changes of each committed position were published (the last projection's, if several). */
  const published = new Map<bigint, number>();
  let highest = 0n;
  let waiting: { position: bigint; resolve: () => void } | undefined;
  const subscription = engine.changes.subscribe(({ position }) => {
    published.set(position, performance.now());
    if (position > highest) highest = position;
    if (waiting && position >= waiting.position) {
      const { resolve } = waiting;
      waiting = undefined;
      // Every projection's changes of one commit are published in one go: take the last of them.
      setImmediate(resolve);
    }
  });

  const fromResolve: number[] = [];
  const fromCall: number[] = [];
  let timeouts = 0;
  let problem: string | undefined;
  try {
    await engine.start();
    await engine.waitFor(last);
    await waitUntil(() => engine.status().every((s) => s.state === 'live'), 'every projection is live');
    const stalls = schedulingStalls();
    const timing = await time(async () => {
      for (const { streamId, event } of planned.slice(history)) {
        const called = performance.now();
        const { position } = await eventStore.append(streamId, [event]);
        const resolved = performance.now();
        if (highest < position) {
          const arrived = await new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => resolve(false), lagTimeoutMs);
            waiting = {
              position,
              resolve: () => {
                clearTimeout(timer);
                resolve(true);
              },
            };
          });
          if (!arrived) {
            waiting = undefined;
            timeouts += 1;
            continue;
          }
        } else {
          await new Promise((resolve) => setImmediate(resolve));
        }
        const at = published.get(position) ?? performance.now();
        fromResolve.push(Math.max(0, at - resolved));
        fromCall.push(at - called);
      }
    });
    problem = joinProblems(
      await statusProblem(engine, { eventStore, readModels, last: last + BigInt(liveEvents) }, projections),
      timeouts > 0 ? `${timeouts} appends' changes were not published within ${lagTimeoutMs} ms` : undefined,
    );
    const lag: LiveLag = {
      count: fromResolve.length,
      fromResolve: percentiles(fromResolve),
      fromCall: percentiles(fromCall),
      timeouts,
      stalls,
    };
    return { events: liveEvents, ...timing, ...(problem ? { problem } : {}), lag };
  } finally {
    subscription.unsubscribe();
    await engine.stop();
    await readModels.close();
    await eventStore.close();
  }
};
