import { rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import {
  eventsIn,
  type Job,
  type Measurement,
  type PreparedScenario,
  prepareScenario,
  type WorkerReply,
} from './scenarios.js';
import { reasonOf, subjects } from './subjects/index.js';
import { describeTally, sameTally } from './workload.js';

/**
 * Runs the scenario's warm-up on a throwaway file beside the job's, then deletes it: the code the
 * timed part runs is then compiled and its caches filled, as in a process that has been appending
 * for a while, while the job's own file starts empty.
 */
const warmUp = async (job: Job, scenario: PreparedScenario): Promise<void> => {
  if (!scenario.warmUp || job.settings.warmUp === 0) return;
  const file = `${job.file}.warm-up`;
  const store = await subjects[job.subject].open(file);
  try {
    await scenario.warmUp(store, job.settings.warmUp);
  } finally {
    await store.close();
    for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${file}${suffix}`, { force: true });
  }
};

/**
 * A worker process: runs one job (one scenario, one subject, one run) and sends its measurement
 * to the parent. Started by runInWorker, never by hand.
 */
const runJob = async (job: Job): Promise<WorkerReply> => {
  const scenario = prepareScenario(job.scenario, job.settings);
  await warmUp(job, scenario);
  const store = await subjects[job.subject].open(job.file);
  try {
    globalThis.gc?.();
    const started = performance.now();
    const folded = await scenario.run(store);
    const seconds = (performance.now() - started) / 1000;
    const peakRssBytes = process.resourceUsage().maxRSS * 1024;
    // After appending, read the file back (untimed): it must hold exactly what was appended.
    const found = folded ?? (await store.readAll());
    const problem = sameTally(found, scenario.expected)
      ? undefined
      : `expected ${describeTally(scenario.expected)}, found ${describeTally(found)}`;
    const remark = store.remark?.();
    const measurement: Measurement = {
      events: eventsIn(job.scenario, job.settings),
      seconds,
      peakRssBytes,
      ...(problem ? { problem } : {}),
      ...(remark ? { remark } : {}),
    };
    return { ok: true, measurement };
  } finally {
    await store.close();
  }
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
const reply = await runJob(job).catch(
  (error: unknown): WorkerReply => ({ ok: false, error: reasonOf(error) }),
);
await send(reply);
// Exit even if a store left a handle open: the measurement is sent, the file is thrown away.
process.exit(reply.ok ? 0 : 1);
