import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The first ```ts block after a heading in README.md. */
const snippetAfter = async (heading: string): Promise<string> => {
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf(heading));
  const match = /```ts\n([\s\S]*?)```/.exec(section);
  if (!match?.[1]) throw new Error(`README.md has no \`\`\`ts block after "${heading}"`);
  return match[1];
};

describe('README', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('runs its twenty-line example as written', async () => {
    const snippet = await snippetAfter('## Twenty lines');
    expect(snippet.split('\n').filter((line) => line.trim() !== '').length).toBeLessThanOrEqual(20);
    // Inside the workspace, so the snippet resolves @lantern/* as a user's app would.
    const dir = await mkdtemp(join(root, 'test', 'docs', '.snippet-'));
    dirs.push(dir);
    const file = join(dir, 'snippet.ts');
    await writeFile(file, snippet);
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--conditions=lantern-source', '--import', 'tsx', file],
      { cwd: dir, timeout: 60_000 },
    );
    expect(stdout).toMatch(/1n? ClubEstablished/);
    expect(stdout).toContain('Stung Mean Chey Kids Club 1');
  }, 60_000);
});
