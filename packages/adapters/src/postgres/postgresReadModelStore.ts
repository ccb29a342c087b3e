import {
  changeJson,
  checkBatches,
  checkLeaseOwner,
  checkLeaseTtl,
  checkProjectionVersion,
  checkReadModelName,
  checkReadModelTableName,
  type DeadLetter,
  documentsPageOf,
  isKeepableText,
  keyPrefixBound,
  keyPrefixOf,
  type Lease,
  LeaseLostError,
  type ProjectionBatch,
  type ProjectionCheckpoint,
  type ReadModelDocument,
  type ReadModelStore,
  readModelTableName,
  StoreError,
} from '@lantern/core';
import pg from 'pg';
import { describeServer, isConnectionError, translateError } from './postgresErrors.js';

/** Where the read models live: a connection string (the store opens and ends its own pool), or a pool. */
export type PostgresConnection =
  | {
      /** `postgres://user:password@host:5432/database`. The store creates a pool and ends it on close. */
      readonly connectionString: string;
      /** Connections in the store's pool. Default: 10 (pg's default). */
      readonly maxConnections?: number;
      /**
       * How long to wait for a new connection before the call fails, in milliseconds (the engine
       * then reports it and tries again). Without it, a server that accepts the connection and
       * never answers would hold the engine for good. Default: 10,000.
       */
      readonly connectionTimeoutMs?: number;
    }
  | {
      /** A pool the application owns: the store uses it and leaves it open on close. */
      readonly pool: pg.Pool;
    };

export interface PostgresReadModelStoreOptions {
  /**
   * The PostgreSQL schema that holds the read-model tables, the checkpoints, dead letters and
   * leases; created if missing. A lowercase identifier. Default: `'lantern'`.
   */
  schema?: string;
  /**
   * The clock for checkpoints' `updatedAt` and for lease expiry, read once per operation and sent
   * to the database. Default: the database's own clock (`clock_timestamp()`, read when each
   * condition is checked, after any wait for a lock), so that every instance judges expiry by one
   * clock whatever the skew between their hosts; `Lease.expiresAt` is then on that clock. Give one
   * only in tests, and then to every store sharing the schema.
   */
  now?: () => Date;
}

const schemaPattern = /^[a-z_][a-z0-9_]{0,62}$/;

const defaultConnectionTimeoutMs = 10_000;

const connectionTimeoutOf = (value: number | undefined): number => {
  if (value === undefined) return defaultConnectionTimeoutMs;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new TypeError(
      `connectionTimeoutMs must be a whole number of milliseconds, 1 or more; got ${String(value)}.`,
    );
  }
  return value;
};

interface Row {
  readonly [column: string]: unknown;
}

/** One collection's share of a commit: the last change per key wins, as in the memory store. */
interface TableChanges {
  readonly table: string;
  readonly projection: string;
  readonly collection: string;
  readonly putKeys: string[];
  readonly putDocuments: string[];
  readonly deleteKeys: string[];
}

const byProjection = (a: ProjectionBatch, b: ProjectionBatch): number =>
  a.projection < b.projection ? -1 : a.projection > b.projection ? 1 : 0;

/**
 * Read models in PostgreSQL, for analysts with SQL and for several engine instances sharing one
 * database. In `schema` (default `lantern`):
 *
 * - one table per projection collection, `{projection}__{collection}` (`key text PRIMARY KEY`,
 *   `doc jsonb NOT NULL`): `SELECT key, doc->>'children' FROM lantern.attendance__clubs`;
 * - `lantern_checkpoints` (position as `numeric(20,0)`: EventStoreDB positions are unsigned
 *   64-bit), `lantern_dead_letters`, `lantern_leases` (owner, token, expires_at).
 *
 * A commit is one transaction: it locks the checkpoint rows (`FOR UPDATE`, in projection order),
 * checks each is at the batch's `after` and, for a leased batch, that the lease row still has the
 * batch's owner and token and has not expired (the lease row is held `FOR SHARE`, so no other
 * instance can take the lease until the commit ends); then one upsert and one delete per
 * collection, the dead letters and the checkpoints. Anything refused rolls back and throws
 * LeaseLostError. Lease expiry is judged by the database's clock unless `now` is given. Table
 * creation is serialised between processes by an advisory lock.
 */
export const createPostgresReadModelStore = (
  connection: PostgresConnection,
  options: PostgresReadModelStoreOptions = {},
): ReadModelStore => {
  const schema = options.schema ?? 'lantern';
  if (typeof schema !== 'string' || !schemaPattern.test(schema)) {
    throw new TypeError(
      `schema must be a lowercase SQL identifier (letters, digits, underscores, at most 63); got ${JSON.stringify(schema)}.`,
    );
  }
  const owned = !('pool' in connection);
  const pool =
    'pool' in connection
      ? connection.pool
      : new pg.Pool({
          connectionString: connection.connectionString,
          connectionTimeoutMillis: connectionTimeoutOf(connection.connectionTimeoutMs),
          ...(connection.maxConnections === undefined ? {} : { max: connection.maxConnections }),
        });
  // An idle connection the server drops must not crash the process; the next query reports it.
  if (owned) pool.on('error', () => undefined);
  const server = describeServer(
    'pool' in connection ? connection.pool.options : { connectionString: connection.connectionString },
  );
  let closed = false;

  const s = `"${schema}"`;
  const checkpoints = `${s}.lantern_checkpoints`;
  const deadLetters = `${s}.lantern_dead_letters`;
  const leases = `${s}.lantern_leases`;
  /** The time a condition is judged at: the `now` option, else the database's clock at that moment. */
  const clockAt = (parameter: number): string => `coalesce($${parameter}::timestamptz, clock_timestamp())`;
  const nowParameter = (): string | null => (options.now ? options.now().toISOString() : null);
  const epochMs = (column: string): string => `floor(extract(epoch FROM ${column}) * 1000)::float8`;

  const tableOf = (projection: string, collection: string): string => {
    return `${s}."${checkReadModelTableName(projection, collection)}"`;
  };

  const ensureOpen = (): void => {
    if (closed) throw new StoreError('This PostgreSQL read-model store is closed; create a new one.');
  };

  const query = async (doing: string, text: string, values: unknown[] = []): Promise<Row[]> => {
    ensureOpen();
    try {
      return (await pool.query(text, values)).rows as Row[];
    } catch (error) {
      throw translateError(error, server, doing);
    }
  };

  const inTransaction = async <T>(doing: string, work: (client: pg.PoolClient) => Promise<T>): Promise<T> => {
    ensureOpen();
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw translateError(error, server, doing);
    }
    let broken: Error | undefined;
    // A connection that drops while checked out is reported on the client too (besides failing
    // the query in hand): with no listener, Node would end the process with it.
    const dropped = (error: Error): void => {
      broken ??= error;
    };
    client.on('error', dropped);
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      if (isConnectionError(error)) broken = error instanceof Error ? error : new Error(String(error));
      else {
        await client.query('ROLLBACK').catch((rollbackError: unknown) => {
          broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
        });
      }
      throw translateError(error, server, doing);
    } finally {
      // A connection in an unknown state is thrown away rather than handed to the next caller.
      client.off('error', dropped);
      client.release(broken);
    }
  };

  /** Serialises DDL between processes: CREATE … IF NOT EXISTS alone races on the catalog. */
  const lockDdl = (client: pg.PoolClient) =>
    client.query(`SELECT pg_advisory_xact_lock(hashtext('lantern.readModels'), hashtext($1))`, [schema]);

  /** Which of these tables (qualified, quoted) do not exist yet. */
  const missingTables = async (client: pg.PoolClient, tables: readonly string[]): Promise<string[]> => {
    const { rows } = await client.query(
      'SELECT name FROM unnest($1::text[]) AS t(name) WHERE to_regclass(name) IS NULL',
      [tables],
    );
    return (rows as Row[]).map((row) => String(row.name));
  };

  let shared: Promise<void> | undefined;
  /**
   * The schema and the tables every projection shares, once per store (again after a failure).
   * Looked up before any DDL, so a user with no CREATE right can run on tables made by another.
   */
  const ensureShared = (): Promise<void> => {
    shared ??= inTransaction(`creating schema "${schema}"`, async (client) => {
      if ((await missingTables(client, [checkpoints, deadLetters, leases])).length === 0) return;
      await lockDdl(client);
      await client.query(`
        CREATE SCHEMA IF NOT EXISTS ${s};
        CREATE TABLE IF NOT EXISTS ${checkpoints} (
          projection text PRIMARY KEY,
          version integer NOT NULL,
          position numeric(20, 0) NOT NULL,
          status text NOT NULL CHECK (status IN ('active', 'failed')),
          error text,
          updated_at timestamptz NOT NULL
        );
        CREATE TABLE IF NOT EXISTS ${deadLetters} (
          id bigserial PRIMARY KEY,
          projection text NOT NULL,
          version integer NOT NULL,
          position numeric(20, 0) NOT NULL,
          event_id text NOT NULL,
          event_type text NOT NULL,
          stream_id text NOT NULL,
          error text NOT NULL,
          dead_lettered_at timestamptz NOT NULL
        );
        CREATE INDEX IF NOT EXISTS lantern_dead_letters_by_projection ON ${deadLetters} (projection, id);
        CREATE TABLE IF NOT EXISTS ${leases} (
          projection text PRIMARY KEY,
          owner text,
          token bigint NOT NULL,
          expires_at timestamptz
        );`);
    }).catch((error: unknown) => {
      shared = undefined;
      throw error;
    });
    return shared;
  };

  const createTables = async (client: pg.PoolClient, projection: string, collections: readonly string[]) => {
    const missing = await missingTables(
      client,
      collections.map((collection) => tableOf(projection, collection)),
    );
    if (missing.length === 0) return;
    await lockDdl(client);
    await client.query(
      missing
        .map(
          (table) =>
            // COLLATE "C": keys in code-point order, as documents() promises, whatever the database's locale.
            `CREATE TABLE IF NOT EXISTS ${table} (key text COLLATE "C" PRIMARY KEY, doc jsonb NOT NULL);`,
        )
        .join('\n'),
    );
  };

  /**
   * Drops the tables of collections the projection no longer lists: they hold an older version's
   * results, which nobody must read as current (as the SQLite store does). One that something of
   * the analysts' depends on (a view) is emptied instead, the view left as it is. Before the
   * checkpoint is locked, so that DDL is always locked first; a refused reset rolls it all back.
   */
  const dropUnlisted = async (client: pg.PoolClient, projection: string, collections: readonly string[]) => {
    const listed = new Set(collections.map((collection) => readModelTableName(projection, collection)));
    const { rows } = await client.query<{ tablename: string }>(
      'SELECT tablename FROM pg_tables WHERE schemaname = $1 AND starts_with(tablename, $2)',
      [schema, `${projection}__`],
    );
    const unlisted = rows.filter((row) => !listed.has(row.tablename));
    if (unlisted.length === 0) return;
    await lockDdl(client);
    for (const { tablename } of unlisted) {
      const table = `${s}."${tablename}"`;
      await client.query('SAVEPOINT lantern_drop');
      try {
        await client.query(`DROP TABLE IF EXISTS ${table}`);
        await client.query('RELEASE SAVEPOINT lantern_drop');
      } catch (error) {
        if ((error as { code?: unknown }).code !== '2BP01') throw error;
        await client.query('ROLLBACK TO SAVEPOINT lantern_drop');
        await client.query(`DELETE FROM ${table}`);
      }
    }
  };

  /** A missing table means the collection was never prepared: say so in the port's words. */
  const readCollection = async (
    projection: string,
    collection: string,
    text: (table: string) => string,
    values: unknown[],
  ): Promise<Row[]> => {
    const table = tableOf(projection, collection);
    await ensureShared();
    try {
      ensureOpen();
      return (await pool.query(text(table), values)).rows as Row[];
    } catch (error) {
      if ((error as { code?: unknown }).code === '42P01') throw noCollection(projection, collection);
      throw translateError(error, server, `reading projection "${projection}"`);
    }
  };

  const noCollection = (projection: string, collection: string): StoreError =>
    new StoreError(
      `Projection "${projection}" has no collection "${collection}"; list it in the projection's collections.`,
    );

  const tableChangesOf = (batches: readonly ProjectionBatch[]): TableChanges[] => {
    const byTable = new Map<
      string,
      { projection: string; collection: string; last: Map<string, string | null> }
    >();
    for (const batch of batches) {
      for (const change of batch.changes) {
        const table = tableOf(batch.projection, change.collection);
        let entry = byTable.get(table);
        if (!entry) {
          entry = { projection: batch.projection, collection: change.collection, last: new Map() };
          byTable.set(table, entry);
        }
        // Deleted and set again within a map keeps the latest position: the last change wins.
        entry.last.delete(change.key);
        // Checked before anything is sent: a bigint, a cycle, an array or a NUL throws here, not mid-transaction.
        entry.last.set(change.key, changeJson(batch.projection, change));
      }
    }
    return [...byTable].map(([table, { projection, collection, last }]) => {
      const changes: TableChanges = {
        table,
        projection,
        collection,
        putKeys: [],
        putDocuments: [],
        deleteKeys: [],
      };
      for (const [key, json] of last) {
        if (json === null) changes.deleteKeys.push(key);
        else {
          changes.putKeys.push(key);
          changes.putDocuments.push(json);
        }
      }
      return changes;
    });
  };

  const leaseOf = (projection: string, owner: string, row: Row | undefined): Lease | undefined =>
    row && {
      projection,
      owner,
      token: Number(row.token),
      expiresAt: Number(row.expires_at),
    };

  /**
   * Every batch's checkpoint row, locked in projection order. A projection's first commit has no
   * row to lock, so one is inserted first (at 0, inside this transaction): two first commits then
   * meet on the primary key, and the second sees the first's checkpoint once it commits.
   */
  const lockCheckpoints = async (
    client: pg.PoolClient,
    projections: readonly { projection: string; version: number }[],
    at: string | null,
  ): Promise<Map<string, bigint>> => {
    await client.query(
      `INSERT INTO ${checkpoints} (projection, version, position, status, updated_at)
       SELECT projection, version, 0, 'active', ${clockAt(3)}
       FROM unnest($1::text[], $2::integer[]) AS b(projection, version)
       ORDER BY projection
       ON CONFLICT (projection) DO NOTHING`,
      [projections.map((p) => p.projection), projections.map((p) => p.version), at],
    );
    const { rows } = await client.query(
      `SELECT projection, position::text AS position FROM ${checkpoints}
       WHERE projection = ANY($1::text[]) ORDER BY projection FOR UPDATE`,
      [projections.map((p) => p.projection)],
    );
    return new Map((rows as Row[]).map((row) => [String(row.projection), BigInt(String(row.position))]));
  };

  /**
   * Refuses unless every lease is the current one, unexpired. The lease rows are held (FOR SHARE)
   * until the transaction ends, so no acquisition can come between this check and the commit;
   * expiry is judged once they are held, after any wait for them.
   */
  const checkLeases = async (client: pg.PoolClient, held: readonly Lease[], at: string | null) => {
    if (held.length === 0) return;
    const projections = held.map((lease) => lease.projection);
    const { rows } = await client.query(
      `SELECT projection, owner, token::text AS token FROM ${leases}
       WHERE projection = ANY($1::text[]) ORDER BY projection FOR SHARE`,
      [projections],
    );
    const current = new Map((rows as Row[]).map((row) => [String(row.projection), row]));
    for (const lease of held) {
      const row = current.get(lease.projection);
      if (!row || row.owner !== lease.owner || Number(row.token) !== lease.token) {
        throw new LeaseLostError(lease.projection, 'its lease was taken over or released');
      }
    }
    const { rows: live } = await client.query(
      `SELECT projection FROM ${leases} WHERE projection = ANY($1::text[]) AND expires_at > ${clockAt(2)}`,
      [projections, at],
    );
    const unexpired = new Set((live as Row[]).map((row) => String(row.projection)));
    for (const lease of held) {
      if (!unexpired.has(lease.projection)) throw new LeaseLostError(lease.projection, 'its lease expired');
    }
  };

  let leaseCalls: Promise<unknown> = Promise.resolve();
  /**
   * Lease calls run one at a time, in call order, as they do on the memory and SQLite stores: an
   * engine whose lease ticks overlap (a slow round trip, a commit holding the lease row) must
   * never get an older answer ("renewed") after a newer one ("lost").
   */
  const inCallOrder = <T>(call: () => Promise<T>): Promise<T> => {
    const result = leaseCalls.then(call, call);
    leaseCalls = result.catch(() => undefined);
    return result;
  };

  return {
    kind: 'postgres',

    prepare: async (projection, collections) => {
      ensureOpen();
      checkReadModelName('projection', projection);
      for (const collection of collections) tableOf(projection, collection);
      await ensureShared();
      await inTransaction(`preparing projection "${projection}"`, (client) =>
        createTables(client, projection, collections),
      );
    },

    checkpoint: async (projection) => {
      ensureOpen();
      checkReadModelName('projection', projection);
      await ensureShared();
      const [row] = await query(
        `reading the checkpoint of projection "${projection}"`,
        `SELECT version, position::text AS position, status, error, updated_at FROM ${checkpoints}
         WHERE projection = $1`,
        [projection],
      );
      if (!row) return undefined;
      const checkpoint: ProjectionCheckpoint = {
        projection,
        version: Number(row.version),
        position: BigInt(String(row.position)),
        status: row.status === 'failed' ? 'failed' : 'active',
        ...(typeof row.error === 'string' ? { error: row.error } : {}),
        updatedAt: (row.updated_at as Date).toISOString(),
      };
      return checkpoint;
    },

    commit: async (batches) => {
      ensureOpen();
      if (batches.length === 0) return;
      checkBatches(batches);
      const sorted = [...batches].sort(byProjection);
      const tables = tableChangesOf(sorted);
      const letters = sorted.flatMap((batch) => batch.deadLetters ?? []);
      const held = sorted.flatMap((batch) => (batch.lease ? [batch.lease] : []));
      await ensureShared();
      const names = sorted.map((batch) => `"${batch.projection}"`).join(', ');
      await inTransaction(`committing projection ${names}`, async (client) => {
        const at = nowParameter();
        const stored = await lockCheckpoints(client, sorted, at);
        for (const batch of sorted) {
          const position = stored.get(batch.projection) ?? 0n;
          if (position !== batch.after) {
            throw new LeaseLostError(
              batch.projection,
              `its checkpoint is at ${position}, not at ${batch.after} where this batch starts`,
            );
          }
        }
        await checkLeases(client, held, at);
        for (const changes of tables) {
          try {
            if (changes.putKeys.length > 0) {
              await client.query(
                `INSERT INTO ${changes.table} (key, doc)
                 SELECT key, doc FROM unnest($1::text[], $2::jsonb[]) AS c(key, doc)
                 ON CONFLICT (key) DO UPDATE SET doc = EXCLUDED.doc`,
                [changes.putKeys, changes.putDocuments],
              );
            }
            if (changes.deleteKeys.length > 0) {
              await client.query(`DELETE FROM ${changes.table} WHERE key = ANY($1::text[])`, [
                changes.deleteKeys,
              ]);
            }
          } catch (error) {
            if ((error as { code?: unknown }).code === '42P01') {
              throw noCollection(changes.projection, changes.collection);
            }
            throw error;
          }
        }
        if (letters.length > 0) {
          await client.query(
            `INSERT INTO ${deadLetters}
               (projection, version, position, event_id, event_type, stream_id, error, dead_lettered_at)
             SELECT projection, version, position, event_id, event_type, stream_id, error, dead_lettered_at
             FROM unnest($1::text[], $2::integer[], $3::numeric[], $4::text[], $5::text[], $6::text[],
                         $7::text[], $8::timestamptz[])
               WITH ORDINALITY AS d(projection, version, position, event_id, event_type, stream_id, error,
                                    dead_lettered_at, n)
             ORDER BY n`,
            [
              letters.map((l) => l.projection),
              letters.map((l) => l.version),
              letters.map((l) => l.position.toString()),
              letters.map((l) => l.eventId),
              letters.map((l) => l.eventType),
              letters.map((l) => l.streamId),
              letters.map((l) => l.error),
              letters.map((l) => l.deadLetteredAt),
            ],
          );
        }
        const updated = await client.query(
          `UPDATE ${checkpoints} AS cp
           SET version = b.version, position = b.position, status = b.status, error = b.error,
               updated_at = ${clockAt(6)}
           FROM unnest($1::text[], $2::integer[], $3::numeric[], $4::text[], $5::text[])
             AS b(projection, version, position, status, error)
           WHERE cp.projection = b.projection`,
          [
            sorted.map((b) => b.projection),
            sorted.map((b) => b.version),
            sorted.map((b) => b.position.toString()),
            sorted.map((b) => (b.failure === undefined ? 'active' : 'failed')),
            sorted.map((b) => b.failure ?? null),
            at,
          ],
        );
        if (updated.rowCount !== sorted.length) {
          throw new StoreError(
            `Only ${updated.rowCount} of ${sorted.length} checkpoints could be written for ${names}; nothing was committed.`,
          );
        }
      });
    },

    reset: async (projection, version, collections, lease) => {
      ensureOpen();
      checkReadModelName('projection', projection);
      checkProjectionVersion(projection, version);
      for (const collection of collections) tableOf(projection, collection);
      await ensureShared();
      await inTransaction(`resetting projection "${projection}"`, async (client) => {
        const at = nowParameter();
        await createTables(client, projection, collections);
        await dropUnlisted(client, projection, collections);
        await lockCheckpoints(client, [{ projection, version }], at);
        if (lease) await checkLeases(client, [lease], at);
        for (const collection of collections)
          await client.query(`DELETE FROM ${tableOf(projection, collection)}`);
        await client.query(
          `UPDATE ${checkpoints} SET version = $2, position = 0, status = 'active', error = NULL,
             updated_at = ${clockAt(3)}
           WHERE projection = $1`,
          [projection, version, at],
        );
      });
    },

    getDocument: async (projection, collection, key) => {
      ensureOpen();
      // A key no store can hold finds nothing (PostgreSQL would look up another, or fail).
      const keepable = isKeepableText(key);
      const [row] = await readCollection(
        projection,
        collection,
        (table) => `SELECT doc FROM ${table} WHERE ${keepable ? 'key = $1' : 'false'}`,
        keepable ? [key] : [],
      );
      return row ? (row.doc as ReadModelDocument) : undefined;
    },

    documents: async (projection, collection, query) => {
      ensureOpen();
      const prefix = keyPrefixOf(query);
      const { afterKey, limit } = documentsPageOf(query);
      const bound = prefix === undefined ? undefined : keyPrefixBound(prefix);
      // Keys are text COLLATE "C": compared as UTF-8 bytes, so a prefix is a range of the index.
      const conditions: string[] = [];
      const values: (string | number)[] = [];
      const value = (given: string | number): string => {
        values.push(given);
        return `$${values.length}`;
      };
      if (prefix !== undefined) {
        const from = value(prefix);
        conditions.push(`key >= ${from}`);
        conditions.push(bound === undefined ? `starts_with(key, ${from})` : `key < ${value(bound)}`);
      }
      if (afterKey !== undefined) conditions.push(`key > ${value(afterKey)}`);
      const where = conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '';
      const limited = limit === undefined ? '' : ` LIMIT ${value(limit)}`;
      const rows = await readCollection(
        projection,
        collection,
        (table) => `SELECT key, doc FROM ${table}${where} ORDER BY key${limited}`,
        values,
      );
      return rows.map((row) => ({ key: String(row.key), document: row.doc as ReadModelDocument }));
    },

    deadLetters: async (projection) => {
      ensureOpen();
      checkReadModelName('projection', projection);
      await ensureShared();
      const rows = await query(
        `reading the dead letters of projection "${projection}"`,
        `SELECT version, position::text AS position, event_id, event_type, stream_id, error, dead_lettered_at
         FROM ${deadLetters} WHERE projection = $1 ORDER BY id`,
        [projection],
      );
      return rows.map(
        (row): DeadLetter => ({
          projection,
          version: Number(row.version),
          position: BigInt(String(row.position)),
          eventId: String(row.event_id),
          eventType: String(row.event_type),
          streamId: String(row.stream_id),
          error: String(row.error),
          deadLetteredAt: (row.dead_lettered_at as Date).toISOString(),
        }),
      );
    },

    acquireLease: async (projection, owner, ttlMs) => {
      ensureOpen();
      checkReadModelName('projection', projection);
      checkLeaseOwner(owner);
      checkLeaseTtl(ttlMs);
      await ensureShared();
      // One statement: free, expired or already ours (kept with its token) — else no row. The
      // clock is read where each condition is checked, i.e. after any wait for the row's lock.
      const [row] = await inCallOrder(() =>
        query(
          `acquiring the lease of projection "${projection}"`,
          `INSERT INTO ${leases} AS lease (projection, owner, token, expires_at)
           VALUES ($1, $2, 1, ${clockAt(4)} + $3::float8 * interval '1 millisecond')
           ON CONFLICT (projection) DO UPDATE SET
             token = CASE WHEN lease.owner = EXCLUDED.owner AND lease.expires_at > ${clockAt(4)}
                          THEN lease.token ELSE lease.token + 1 END,
             owner = EXCLUDED.owner,
             expires_at = ${clockAt(4)} + $3::float8 * interval '1 millisecond'
           WHERE lease.owner IS NULL OR lease.owner = EXCLUDED.owner OR lease.expires_at <= ${clockAt(4)}
           RETURNING token::text AS token, ${epochMs('lease.expires_at')} AS expires_at`,
          [projection, owner, ttlMs, nowParameter()],
        ),
      );
      return leaseOf(projection, owner, row);
    },

    renewLease: async (lease, ttlMs) => {
      ensureOpen();
      checkReadModelName('projection', lease.projection);
      checkLeaseTtl(ttlMs);
      await ensureShared();
      const [row] = await inCallOrder(() =>
        query(
          `renewing the lease of projection "${lease.projection}"`,
          `UPDATE ${leases} SET expires_at = ${clockAt(5)} + $4::float8 * interval '1 millisecond'
           WHERE projection = $1 AND owner = $2 AND token = $3 AND expires_at > ${clockAt(5)}
           RETURNING token::text AS token, ${epochMs('expires_at')} AS expires_at`,
          [lease.projection, lease.owner, lease.token, ttlMs, nowParameter()],
        ),
      );
      return leaseOf(lease.projection, lease.owner, row);
    },

    releaseLease: async (lease) => {
      ensureOpen();
      checkReadModelName('projection', lease.projection);
      await ensureShared();
      // The token stays: the next acquisition still gets a higher one.
      await inCallOrder(() =>
        query(
          `releasing the lease of projection "${lease.projection}"`,
          `UPDATE ${leases} SET owner = NULL, expires_at = NULL WHERE projection = $1 AND token = $2`,
          [lease.projection, lease.token],
        ),
      );
    },

    close: async () => {
      if (closed) return;
      closed = true;
      if (owned) await pool.end();
    },
  };
};
