import { fork } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * Workers run compiled JavaScript, as an application runs Lantern, not TypeScript through a
 * loader: the bench itself starts with `--import tsx`, and a worker started the same way holds
 * tsx's compiler and the transformed sources in its heap. That added 45–60 MB to the peak RSS of
 * a 1,000,000-event rebuild (314–316 MB against 241–277 MB compiled), so the peak-RSS figures
 * measured the loader as much as the library.
 *
 * A worker's entry is bundled once per bench run (Lantern's packages from their sources, as
 * `lantern-source` resolves them), into `bench/node_modules/.cache/lantern-bench/`: the drivers and
 * the peers' libraries stay outside the bundle and load from the bench's own node_modules, so a
 * native module is the one the install built.
 */

/** Packages a worker loads as they are installed: native drivers and the peers being compared. */
const installed = ['better-sqlite3', 'sqlite3', 'pg', '@eventstore/db-client', '@event-driven-io/*'];

const cacheDirectory = new URL('../node_modules/.cache/lantern-bench/', import.meta.url);

/**
 * This process's Node flags without those that load TypeScript (`--import tsx`, and the
 * `lantern-source` condition that points Lantern's packages at their sources), for a compiled worker.
 */
export const compiledWorkerFlags = (execArgv: readonly string[]): string[] => {
  const flags: string[] = [];
  for (let i = 0; i < execArgv.length; i += 1) {
    const flag = execArgv[i] as string;
    const next = execArgv[i + 1];
    if (flag === '--import=tsx' || flag === '--conditions=lantern-source') continue;
    if ((flag === '--import' && next === 'tsx') || (flag === '--conditions' && next === 'lantern-source')) {
      i += 1;
      continue;
    }
    flags.push(flag);
  }
  return flags;
};

/** Bundles `entry` (a worker's TypeScript module) and gives the path of the JavaScript to fork. */
export const compileWorker = async (entry: URL, name: string): Promise<string> => {
  mkdirSync(cacheDirectory, { recursive: true });
  const outfile = fileURLToPath(new URL(`${name}.mjs`, cacheDirectory));
  await build({
    entryPoints: [fileURLToPath(entry)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['lantern-source'],
    external: installed,
    // Bundled CommonJS modules call require(); an ES module has none of its own.
    banner: {
      js: "import { createRequire as createRequireForBundle } from 'node:module'; const require = createRequireForBundle(import.meta.url);",
    },
    logLevel: 'warning',
  });
  return outfile;
};

/**
 * A worker entry compiled on first use, once per bench run: `fork` then starts it in a fresh
 * Node process for each job.
 */
export const compiledWorker = (entry: URL, name: string) => {
  let script: Promise<string> | undefined;
  /**
   * Runs one job in a fresh process (this one's flags without the loader, plus `extraFlags`), so
   * each measurement has its own heap, JIT and peak RSS, and nothing one subject leaves behind
   * slows the next. The reply is the message the worker sends; `failed` makes one when it sends
   * none (it crashed, or could not start).
   */
  return async <Reply>(
    argument: string,
    extraFlags: readonly string[],
    failed: (error: string) => Reply,
  ): Promise<Reply> => {
    script ??= compileWorker(entry, name);
    const path = await script;
    return new Promise((resolve) => {
      let reply: Reply | undefined;
      // The worker's stdout goes to stderr too: a library's logging must not end up in the report.
      const worker = fork(path, [argument], {
        stdio: ['ignore', 2, 2, 'ipc'],
        execArgv: [...compiledWorkerFlags(process.execArgv), ...extraFlags],
      });
      worker.on('message', (message) => {
        reply = message as Reply;
      });
      worker.on('error', (error) => {
        reply ??= failed(error.message);
      });
      worker.on('exit', (code, signal) => {
        resolve(reply ?? failed(`worker exited (${signal ?? `code ${code}`}) without a result`));
      });
    });
  };
};
