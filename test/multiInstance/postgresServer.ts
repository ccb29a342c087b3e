import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';

/**
 * The PostgreSQL server the read-model tests run against: POSTGRES_CONNECTION_STRING, else the
 * local server CI starts (.ci/run). Each test file works in a schema of its own, dropped after.
 */
export const postgresConnectionString =
  process.env.POSTGRES_CONNECTION_STRING ?? 'postgres://postgres@127.0.0.1:5432/test';

const howToStart =
  'start it (on this machine: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start; ' +
  'CI does this in .ci/run), or set POSTGRES_CONNECTION_STRING to a server you can use';

const withClient = async <T>(work: (client: pg.Client) => Promise<T>): Promise<T> => {
  const client = new pg.Client({
    connectionString: postgresConnectionString,
    connectionTimeoutMillis: 5_000,
  });
  try {
    await client.connect();
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
};

/**
 * A schema of this test file's own (random suffix), dropped after its tests. When the server
 * cannot be reached the file FAILS, saying how to start it: these tests never skip.
 */
export const usePostgresSchema = (base: string): { readonly schema: string } => {
  const schema = `${base}_${randomBytes(5).toString('hex')}`;
  let reached = false;
  beforeAll(async () => {
    try {
      await withClient((client) => client.query('SELECT 1'));
      reached = true;
    } catch (error) {
      throw new Error(
        `PostgreSQL at ${postgresConnectionString} cannot be reached (${(error as Error).message}): ${howToStart}.`,
      );
    }
  });
  afterAll(async () => {
    if (reached) await withClient((client) => client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
  });
  return { schema };
};

/** Runs SQL as an analyst would, outside any store. */
export const sql = (text: string, values: unknown[] = []): Promise<pg.QueryResult> =>
  withClient((client) => client.query(text, values));
