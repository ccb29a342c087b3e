import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import sqlite3 from 'sqlite3';
import { sqliteVersion } from './subjects/betterSqlite3.js';

/** Where a run happened, so two result files can be compared fairly. */
export interface Machine {
  cpus: string;
  node: string;
  os: string;
  memory: string;
  drivers: string;
  commit: string;
  /** What the checkout held when the run began (see `confirmCode`); not printed. */
  codeFingerprint: string;
}

const installedVersion = (name: string): string => {
  try {
    const manifest = new URL(`../node_modules/${name}/package.json`, import.meta.url);
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
};

const git = (...args: string[]): string =>
  execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();

const commitOf = (): string => {
  try {
    const dirty = git('status', '--porcelain').length > 0;
    return `${git('rev-parse', '--short', 'HEAD')}${dirty ? ' with uncommitted changes' : ''}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
};

/**
 * HEAD, the status of every file and a hash of every change to tracked files: workers load the
 * code when each one starts, so an edit during a run would mix versions under one commit.
 */
const codeFingerprint = (): string => {
  try {
    const diff = createHash('sha256').update(git('diff', 'HEAD')).digest('hex');
    return [git('rev-parse', 'HEAD'), git('status', '--porcelain'), diff].join('\n');
  } catch {
    return 'unknown';
  }
};

/**
 * The machine as the report should name it: its commit line says so when the checkout changed
 * while the run went on (a commit, an edit), since workers started later ran other code.
 */
export const confirmCode = (machine: Machine): Machine =>
  codeFingerprint() === machine.codeFingerprint
    ? machine
    : {
        ...machine,
        commit: `${machine.commit}, but the code changed during the run: workers started after the change ran it, so these figures may mix versions`,
      };

export const describeMachine = (): Machine => {
  const cpus = os.cpus();
  return {
    cpus: `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'} (os.availableParallelism ${os.availableParallelism()})`,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    drivers: [
      `better-sqlite3 ${installedVersion('better-sqlite3')} (SQLite ${sqliteVersion()})`,
      `node-sqlite3 ${installedVersion('sqlite3')} (SQLite ${sqlite3.VERSION})`,
      `@event-driven-io/emmett-sqlite ${installedVersion('@event-driven-io/emmett-sqlite')}`,
    ].join(', '),
    commit: commitOf(),
    codeFingerprint: codeFingerprint(),
  };
};
