import { connect, createServer, type Socket } from 'node:net';
import { createMemoryEventStore } from '@lantern/adapters/memory';
import { createPostgresReadModelStore } from '@lantern/adapters/postgres';
import { isLeaseLostError, isStoreError, type ReadModelStore } from '@lantern/core';
import { catalogEvent } from '@lantern/core/testing';
import { createProjectionEngine } from '@lantern/projections';
import pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { clubTotals } from '../multiInstance/clubTotals.js';
import { postgresConnectionString, sql, usePostgresSchema } from '../multiInstance/postgresServer.js';
import { runReadModelContract } from './readModelContract.js';

// The contract against a real PostgreSQL server, in a schema of this run's own; then what is
// particular to PostgreSQL. No server: the file fails, saying how to start one (CI starts it).
const { schema } = usePostgresSchema('contract');

const open = (options: Parameters<typeof createPostgresReadModelStore>[1] = {}) =>
  createPostgresReadModelStore({ connectionString: postgresConnectionString }, { schema, ...options });

runReadModelContract('postgres', async () => ({ readModels: open(), reopen: async () => open() }), {
  durable: true,
});

describe('the PostgreSQL read-model store, particular to PostgreSQL', () => {
  const stores: ReadModelStore[] = [];
  const store = (options: Parameters<typeof open>[0] = {}): ReadModelStore => {
    const opened = open(options);
    stores.push(opened);
    return opened;
  };
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });

  it('keeps each collection in a table analysts can query: key, doc jsonb; positions as numbers', async () => {
    const readModels = store();
    await readModels.prepare('attendance', ['clubs']);
    await readModels.commit([
      {
        projection: 'attendance',
        version: 1,
        after: 0n,
        position: 18_446_744_073_709_551_000n,
        changes: [
          { collection: 'clubs', key: 'stung-meanchey-3', document: { sessions: 2, children: 41 } },
          { collection: 'clubs', key: 'riverfront-1', document: { sessions: 1, children: 17 } },
        ],
      },
    ]);
    const clubs = await sql(
      `SELECT key, doc->>'children' AS children FROM "${schema}".attendance__clubs ORDER BY key`,
    );
    expect(clubs.rows).toEqual([
      { key: 'riverfront-1', children: '17' },
      { key: 'stung-meanchey-3', children: '41' },
    ]);
    const checkpoint = await sql(
      `SELECT position::text AS position, status FROM "${schema}".lantern_checkpoints WHERE projection = 'attendance'`,
    );
    expect(checkpoint.rows).toEqual([{ position: '18446744073709551000', status: 'active' }]);
    expect(await readModels.checkpoint('attendance')).toMatchObject({
      position: 18_446_744_073_709_551_000n,
    });
  });

  it("empties at a reset, rather than drops, a collection's table that an analyst's view reads", async () => {
    const readModels = store();
    await readModels.prepare('viewed', ['clubs', 'old']);
    await readModels.commit([
      {
        projection: 'viewed',
        version: 1,
        after: 0n,
        position: 1n,
        changes: [{ collection: 'old', key: 'a', document: { children: 4 } }],
      },
    ]);
    await sql(
      `CREATE VIEW "${schema}".old_children AS SELECT key, doc->>'children' AS children FROM "${schema}".viewed__old`,
    );
    try {
      await readModels.reset('viewed', 2, ['clubs']);
      expect((await sql(`SELECT * FROM "${schema}".old_children`)).rows).toEqual([]);
      expect(await readModels.checkpoint('viewed')).toMatchObject({ version: 2, position: 0n });
    } finally {
      await sql(`DROP VIEW "${schema}".old_children`);
    }
  });

  it('lets only one of two stores commit a batch after the same checkpoint, first commit included', async () => {
    const [a, b] = [store(), store()];
    await a.prepare('race', ['clubs']);
    for (const after of [0n, 10n]) {
      const batch = (key: string) => ({
        projection: 'race',
        version: 1,
        after,
        position: 10n + after,
        changes: [{ collection: 'clubs', key: `${key}-${after}`, document: { after: Number(after) } }],
      });
      const outcomes = await Promise.allSettled([a.commit([batch('from-a')]), b.commit([batch('from-b')])]);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      const refused = outcomes.find((o) => o.status === 'rejected');
      expect(isLeaseLostError(refused?.status === 'rejected' && refused.reason)).toBe(true);
    }
    expect(await a.documents('race', 'clubs')).toHaveLength(2);
    expect(await a.checkpoint('race')).toMatchObject({ position: 20n });
  });

  it('creates tables safely when several processes prepare the same projection at once', async () => {
    const many = Array.from({ length: 6 }, () => store());
    await Promise.all(many.map((s) => s.prepare('prepared_at_once', ['clubs', 'outreach'])));
    const tables = await sql(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name LIKE 'prepared_at_once%' ORDER BY 1`,
      [schema],
    );
    expect(tables.rows.map((row) => row.table_name)).toEqual([
      'prepared_at_once__clubs',
      'prepared_at_once__outreach',
    ]);
  });

  it('judges lease expiry by the clock it is given, for every instance alike', async () => {
    let now = Date.parse('2019-03-02T09:00:00Z');
    const clock = () => new Date(now);
    const [one, two] = [store({ now: clock }), store({ now: clock })];
    await one.prepare('clocked', ['clubs']);
    const first = await one.acquireLease('clocked', 'one', 60_000);
    expect(first?.expiresAt).toBe(now + 60_000);
    now += 59_000;
    expect(await two.acquireLease('clocked', 'two', 60_000)).toBeUndefined();
    now += 2_000;
    const second = await two.acquireLease('clocked', 'two', 60_000);
    expect(second && first && second.token > first.token).toBe(true);
    if (!first) throw new Error('no lease');
    await expect(
      one.commit([{ projection: 'clocked', version: 1, after: 0n, position: 1n, changes: [], lease: first }]),
    ).rejects.toSatisfy(isLeaseLostError);
  });

  it('refuses a table name PostgreSQL would cut short', async () => {
    await expect(store().prepare('a'.repeat(40), ['b'.repeat(30)])).rejects.toThrow(
      /longer than the 63 PostgreSQL keeps: shorten/,
    );
  });

  it('says what to do when the server refuses the connection', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const address = probe.address();
        probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    const nowhere = createPostgresReadModelStore({
      connectionString: `postgres://postgres@127.0.0.1:${port}/test`,
    });
    stores.push(nowhere);
    const failure = await nowhere.checkpoint('attendance').catch((error: unknown) => error);
    expect(isStoreError(failure)).toBe(true);
    expect((failure as Error).message).toMatch(
      new RegExp(
        `PostgreSQL at 127\\.0\\.0\\.1:${port} refused the connection .*start it, or check the connection string`,
      ),
    );
  });

  it('lets the engine go on once the server can be reached again, reporting the failures meanwhile', async () => {
    // The store reaches the server through a proxy of the test's own, which it cuts: every
    // connection dropped, new ones refused, as when the network or the server goes away.
    const server = new URL(postgresConnectionString);
    const sockets = new Set<Socket>();
    let reachable = true;
    const proxy = createServer((client) => {
      if (!reachable) {
        client.destroy();
        return;
      }
      const upstream = connect(Number(server.port || 5432), server.hostname);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('error', () => undefined);
        socket.on('close', () => {
          sockets.delete(socket);
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    const port = await new Promise<number>((resolve) => {
      proxy.listen(0, '127.0.0.1', () => {
        const address = proxy.address();
        resolve(typeof address === 'object' && address ? address.port : 0);
      });
    });
    const proxied = new URL(postgresConnectionString);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(port);
    const readModels = createPostgresReadModelStore({ connectionString: proxied.toString() }, { schema });
    const eventStore = createMemoryEventStore();
    const engine = createProjectionEngine({
      eventStore,
      readModels,
      projections: [clubTotals],
      retryDelayMs: 5,
      maxRetryDelayMs: 20,
    });
    const held = (day: number) => {
      const date = `2019-03-${String(day).padStart(2, '0')}`;
      return catalogEvent(
        'ClubSessionHeld',
        {
          clubId: 'smc-01',
          heldOn: date,
          activity: 'play',
          attendance: [{ sex: 'female', ageBand: '5-11', count: 4 }],
        },
        { occurredAt: `${date}T16:00:00+07:00`, recordedBy: 'st_5a1c0b7e2d4a61f3' },
      );
    };
    try {
      let last = 0n;
      for (let day = 1; day <= 3; day += 1)
        last = (await eventStore.append('club-smc-01', [held(day)])).position;
      await engine.start();
      await engine.waitFor(last);

      reachable = false;
      for (const socket of sockets) socket.destroy();
      for (let day = 4; day <= 6; day += 1)
        last = (await eventStore.append('club-smc-01', [held(day)])).position;
      // Failing: reported, with the failures in a row growing, the read model where it was.
      await vi.waitFor(() => expect(engine.status()[0]?.retries ?? 0).toBeGreaterThanOrEqual(3), {
        timeout: 10_000,
      });
      expect(engine.status()[0]).toMatchObject({ position: 3n, error: expect.any(String) });

      reachable = true;
      await engine.waitFor(last);
      expect(await readModels.getDocument('club_totals', 'clubs', 'smc-01')).toEqual({
        sessions: 6,
        children: 24,
      });
      expect(engine.status()[0]).toMatchObject({ position: 6n });
      expect(engine.status()[0]).not.toHaveProperty('error');
      expect(engine.status()[0]).not.toHaveProperty('retries');
    } finally {
      reachable = true;
      await engine.stop();
      await readModels.close();
      await eventStore.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it('gives up on a server that takes the connection and never answers, saying what to do', async () => {
    const held = new Set<Socket>();
    const silent = createServer((socket) => {
      held.add(socket);
      socket.on('error', () => undefined);
    });
    const port = await new Promise<number>((resolve) => {
      silent.listen(0, '127.0.0.1', () => {
        const address = silent.address();
        resolve(typeof address === 'object' && address ? address.port : 0);
      });
    });
    try {
      const hanging = createPostgresReadModelStore({
        connectionString: `postgres://postgres@127.0.0.1:${port}/test`,
        connectionTimeoutMs: 200,
      });
      stores.push(hanging);
      const failure = await hanging.checkpoint('attendance').catch((error: unknown) => error);
      expect(isStoreError(failure)).toBe(true);
      expect((failure as Error).message).toMatch(
        new RegExp(
          `PostgreSQL at 127\\.0\\.0\\.1:${port}/test did not answer the connection in time .*give a longer connectionTimeoutMs`,
        ),
      );
      expect(() =>
        createPostgresReadModelStore({ connectionString: postgresConnectionString, connectionTimeoutMs: 0 }),
      ).toThrow(/connectionTimeoutMs must be a whole number of milliseconds, 1 or more; got 0/);
    } finally {
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('ends a pool it created on close, and leaves a pool it was given open', async () => {
    const pool = new pg.Pool({ connectionString: postgresConnectionString });
    try {
      const given = createPostgresReadModelStore({ pool }, { schema });
      await given.prepare('pooled', ['clubs']);
      await given.close();
      expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      await expect(given.checkpoint('pooled')).rejects.toSatisfy(isStoreError);
    } finally {
      await pool.end();
    }
  });
});
