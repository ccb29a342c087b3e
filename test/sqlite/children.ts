import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Runs one of this folder's scripts in a child process, as a user would run Lantern in another
 * process: Node with the workspace's TypeScript sources, from the repository root.
 */

const repositoryRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface Child {
  readonly process: ChildProcess;
  /** Every line the child printed so far. */
  readonly lines: string[];
  /** Resolves with the exit code (or signal) once the child ended. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** What the child printed on stderr, for failure messages. */
  stderr(): string;
}

export const runChild = (script: string, args: string[], options: SpawnOptions = {}): Child => {
  const file = fileURLToPath(new URL(script, import.meta.url));
  const child = spawn(process.execPath, ['--conditions=lantern-source', '--import', 'tsx', file, ...args], {
    cwd: repositoryRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options,
  });
  const lines: string[] = [];
  let partial = '';
  let errors = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    errors += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (partial !== '') lines.push(partial);
      resolve({ code, signal });
    });
  });
  return { process: child, lines, exited, stderr: () => errors };
};

/**
 * Waits until a condition holds; fails with the description (and the child's stderr) after a
 * generous limit. A limit, not a timing assertion: a slow machine only makes the wait longer.
 */
export const waitFor = async (
  condition: () => boolean,
  description: string,
  child?: Child,
  timeoutMs = 60_000,
): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(
        `Timed out waiting until ${description}.${child ? `\nchild stderr:\n${child.stderr()}` : ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};
