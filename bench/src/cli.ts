import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

/**
 * What both bench commands read from their command line: number options (each may also come
 * from a `BENCH_<NAME>` environment variable), a list, `--out` and `--help`.
 */
export interface BenchCommandLine {
  /** The option's text, from the command line or its environment variable. */
  text(option: string): string | undefined;
  /** A whole number of `least` or more, or `fallback` when the option is absent. */
  count(option: string, fallback: number, least?: number): number;
  /** The names of a comma-separated list option, each one of `known`; all of them when absent. */
  chosen<T extends string>(option: string, known: readonly T[], what: string): T[];
  /**
   * Where to write the report: a relative `--out` means where the command was typed (pnpm runs the
   * script in bench/, and sets INIT_CWD to where it was typed); undefined when not given.
   */
  out: string | undefined;
  help: boolean;
  /** The command as typed, with the BENCH_ variables it ran under, for the report. */
  command: string;
}

const envName = (option: string): string => `BENCH_${option.toUpperCase().replaceAll('-', '_')}`;

export const readCommandLine = (
  script: string,
  numberOptions: readonly string[],
  listOption: string,
): BenchCommandLine => {
  // pnpm may pass a literal `--` ahead of the options.
  const args = process.argv.slice(2).filter((arg, i) => !(i === 0 && arg === '--'));
  const { values } = parseArgs({
    args,
    options: {
      ...Object.fromEntries(numberOptions.map((option) => [option, { type: 'string' as const }])),
      [listOption]: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  const text = (option: string): string | undefined =>
    (values as Record<string, string | undefined>)[option] ?? process.env[envName(option)];
  const out = text('out');
  return {
    text,
    count: (option, fallback, least = 1) => {
      const given = text(option);
      if (given === undefined) return fallback;
      const value = Number(given.replaceAll('_', ''));
      if (!Number.isSafeInteger(value) || value < least) {
        throw new Error(`--${option} must be a whole number of ${least} or more; got "${given}".`);
      }
      return value;
    },
    chosen: (option, known, what) => {
      const names = (text(option)?.split(',') ?? [...known]).map((name) => name.trim());
      const unknown = names.filter((name) => !(known as readonly string[]).includes(name));
      if (unknown.length > 0) {
        throw new Error(`Unknown ${what} ${unknown.join(', ')}; choose from ${known.join(', ')}.`);
      }
      return known.filter((id) => names.includes(id));
    },
    out: out === undefined ? undefined : resolve(process.env.INIT_CWD ?? process.cwd(), out),
    help: (values as { help?: boolean }).help === true,
    command: [
      ...Object.entries(process.env)
        .filter(([name]) => name.startsWith('BENCH_'))
        .map(([name, value]) => `${name}=${value}`),
      `npx -y pnpm@10 ${script}`,
      ...args,
    ].join(' '),
  };
};
