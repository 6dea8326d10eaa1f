import {
  QueryFailedError,
  QueryRunnerAlreadyReleasedError,
  QueryRunnerProviderAlreadyReleasedError,
} from 'typeorm';

interface PgDriverError {
  code?: string;
  constraint?: string;
}

function driverError(err: unknown): PgDriverError | undefined {
  if (err instanceof QueryFailedError) return err.driverError as PgDriverError;
  if (err && typeof err === 'object' && 'code' in err) return err as PgDriverError;
  return undefined;
}

export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = driverError(err);
  return e?.code === '23505' && (constraint === undefined || e.constraint === constraint);
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
  '55000', // object_not_in_prerequisite_state: "database is not currently accepting connections"
  '3D000', // the database was dropped or renamed under the portal
  '28000', // invalid_authorization_specification
  '28P01', // invalid_password
  '08000',
  '08003',
  '08006',
  '08001',
  '08004',
]);

/** True when the failure is the database being unreachable rather than a bad query. */
export function isConnectionError(err: unknown): boolean {
  const e = driverError(err);
  if (e?.code && CONNECTION_CODES.has(e.code)) return true;
  // TypeORM's words for a query, or a transaction, on a connection that died under it.
  if (err instanceof QueryRunnerAlreadyReleasedError) return true;
  if (err instanceof QueryRunnerProviderAlreadyReleasedError) return true;
  const message = err instanceof Error ? err.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|connect ECONNREFUSED|Client has encountered a connection error|Connection ended unexpectedly/i.test(
    message,
  );
}

/**
 * Drops what would put digests in the log, should the error be logged: the query's
 * parameters (a create or a rotation binds the new digests), and PostgreSQL's detail (a
 * failing row is shown whole). The code and the message stay, so the failure is still told
 * and classified.
 */
export function withoutValues(err: unknown): void {
  if (!err || typeof err !== 'object') return;
  const e = err as Record<string, unknown> & { driverError?: Record<string, unknown> };
  if ('parameters' in e) e.parameters = undefined;
  if ('detail' in e) e.detail = undefined;
  if (e.driverError && typeof e.driverError === 'object') e.driverError.detail = undefined;
}
