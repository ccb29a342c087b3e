import { reasonOf } from '../subjects/index.js';
import {
  applyBuiltIns,
  documentOperationsBuiltIns,
  donorReleases,
  floorBuiltIns,
  floorBuiltInsSqlite,
  liveLag,
  rebuildBuiltIns,
  rebuildFold,
  rebuildForRss,
  rebuildIdle,
  rebuildIntoPostgres,
  releasesAsLogGrows,
} from './lantern.js';
import { emmettMemoryFold, emmettSqliteFold, rawSqliteFold } from './peers.js';
import type { Job, Measurement, ScenarioId, WorkerReply } from './scenarios.js';

/**
 * A worker process: runs one job (one scenario, one run) and sends its measurement to the
 * parent. Started by runInWorker, never by hand.
 */
const runners: Record<ScenarioId, (job: Job) => Promise<Measurement>> = {
  lanternMemory: (job) => rebuildBuiltIns(job, 'memory'),
  lanternSqlite: (job) => rebuildBuiltIns(job, 'sqlite'),
  lanternSqliteBigBatch: (job) => rebuildBuiltIns(job, 'sqlite', job.settings.bigBatchSize),
  applyBuiltIns,
  documentOperationsBuiltIns,
  floorBuiltIns,
  idleLanternMemory: (job) => rebuildIdle(job, 'memory'),
  foldLanternMemory: (job) => rebuildFold(job, 'memory'),
  foldEmmettMemory: emmettMemoryFold,
  idleLanternSqlite: (job) => rebuildIdle(job, 'sqlite'),
  foldLanternSqlite: (job) => rebuildFold(job, 'sqlite'),
  foldRawSqlite: rawSqliteFold,
  floorBuiltInsSqlite,
  foldEmmettSqlite: emmettSqliteFold,
  liveLag,
  donorReleases,
  releasesAsLogGrows,
  rssBuiltIns: (job) => rebuildForRss(job, 'builtIns'),
  rssBuiltInsCapped: (job) => rebuildForRss(job, 'builtIns'),
  rssFold: (job) => rebuildForRss(job, 'fold'),
  rssBuiltInsPostgres: (job) => rebuildIntoPostgres(job, 'held'),
  rssBuiltInsPostgresCopy: (job) => rebuildIntoPostgres(job, 'localCopy'),
  rssBuiltInsPostgresCopyCapped: (job) => rebuildIntoPostgres(job, 'localCopy'),
};

const send = (reply: WorkerReply): Promise<void> =>
  new Promise((resolve) => {
    if (process.send) process.send(reply, () => resolve());
    else {
      console.log(JSON.stringify(reply));
      resolve();
    }
  });

const job = JSON.parse(process.argv[2] ?? '{}') as Job;
const reply = await runners[job.scenario](job).then(
  (measurement): WorkerReply => ({ ok: true, measurement }),
  (error: unknown): WorkerReply => ({ ok: false, error: reasonOf(error) }),
);
await send(reply);
// Exit even if a store left a handle open: the measurement is sent, the files are thrown away.
process.exit(reply.ok ? 0 : 1);
