import { isLeaseLostError, isStoreError, StoreError } from '@lantern/core';

/** What the driver puts on its errors: Node's socket fields, PostgreSQL's SQLSTATE. */
interface DriverError {
  readonly code?: unknown;
  readonly address?: unknown;
  readonly port?: unknown;
  readonly hostname?: unknown;
  readonly message?: unknown;
}

const fieldsOf = (error: unknown): DriverError =>
  typeof error === 'object' && error !== null ? (error as DriverError) : {};

/** SQLSTATE classes and codes that mean the server cannot be talked to. */
const unreachable = new Set(['57P01', '57P02', '57P03', '53300']);

/** The server went away or could not be reached: worth trying again later, not a bug. */
export const isConnectionError = (error: unknown): boolean => {
  const { code, message } = fieldsOf(error);
  if (typeof code === 'string') {
    // Node's socket errors (ECONNRESET, EPIPE…), SQLSTATE class 08 (connection exception).
    if (/^E[A-Z]+$/.test(code) || code.startsWith('08') || unreachable.has(code)) return true;
  }
  return (
    typeof message === 'string' &&
    /Connection terminated|timeout exceeded when trying to connect/i.test(message)
  );
};

/**
 * Turns a driver error into a StoreError saying what to do. Lantern's own errors (a lost lease, a
 * bad name) pass through unchanged. `server` names the server for messages (`host:port/database`,
 * never the password); `doing` says what the store was doing (`committing projection "x"`).
 */
export const translateError = (error: unknown, server: string, doing: string): Error => {
  if (isLeaseLostError(error) || isStoreError(error) || error instanceof TypeError) return error;
  const { code, address, port, message } = fieldsOf(error);
  const detail = typeof message === 'string' ? message : String(error);
  const at = typeof address === 'string' && typeof port === 'number' ? `${address}:${port}` : server;
  const store = (text: string) => new StoreError(text, { cause: error });
  switch (code) {
    case 'ECONNREFUSED':
      return store(
        `PostgreSQL at ${at} refused the connection while ${doing}: start it, or check the connection string.`,
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return store(
        `PostgreSQL host of ${server} could not be found while ${doing}: check the connection string.`,
      );
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return store(
        `PostgreSQL at ${at} could not be reached while ${doing} (${String(code)}): check the network and the connection string.`,
      );
    case '28P01':
    case '28000':
      return store(
        `PostgreSQL at ${server} did not accept the user or password while ${doing}: check the credentials in the connection string.`,
      );
    case '3D000':
      return store(
        `PostgreSQL at ${server} has no such database (${detail}): create it (createdb), or check the connection string.`,
      );
    case '42501':
      return store(
        `PostgreSQL at ${server} denied the user while ${doing} (${detail}): grant it CREATE and USAGE on the schema, or use another schema.`,
      );
    case '53300':
      return store(
        `PostgreSQL at ${server} has too many connections (${detail}): lower the pool size (max) or raise max_connections.`,
      );
    case '57P03':
      return store(`PostgreSQL at ${server} is starting up or shutting down; try again in a moment.`);
    default:
      break;
  }
  // pg's words for a connection not made within connectionTimeoutMillis (client, and pool).
  if (
    typeof message === 'string' &&
    /due to connection timeout|timeout exceeded when trying to connect/i.test(message)
  ) {
    return store(
      `PostgreSQL at ${at} did not answer the connection in time while ${doing}: check that the server is running and reachable, or give a longer connectionTimeoutMs.`,
    );
  }
  if (isConnectionError(error)) {
    return store(
      `PostgreSQL at ${at} closed or dropped the connection while ${doing} (${detail}): check that the server is running.`,
    );
  }
  return store(`PostgreSQL at ${server} failed while ${doing}: ${detail}`);
};

/** `host:port/database` from a connection string or pool settings, without credentials. */
export const describeServer = (settings: {
  connectionString?: string | undefined;
  host?: string | undefined;
  port?: number | undefined;
  database?: string | undefined;
}): string => {
  if (settings.connectionString) {
    try {
      const url = new URL(settings.connectionString);
      const host = url.hostname || url.searchParams.get('host') || 'localhost';
      return `${host}:${url.port || '5432'}${url.pathname || ''}`;
    } catch {
      return 'the server in the connection string';
    }
  }
  const host = settings.host ?? process.env.PGHOST ?? 'localhost';
  const port = settings.port ?? Number(process.env.PGPORT ?? 5432);
  const database = settings.database ?? process.env.PGDATABASE;
  return `${host}:${port}${database ? `/${database}` : ''}`;
};
