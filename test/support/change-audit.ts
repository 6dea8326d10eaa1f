import type { Client } from 'pg';

/** A change_audit row as PostgreSQL returns it, for tests that look behind GET /audit. */
export interface AuditRow {
  id: string;
  action: string;
  actor_type: string;
  actor_id: string | null;
  actor_name: string;
  target_type: string;
  target_id: string | null;
  changes: { before: unknown; after: unknown };
  request_id: string | null;
  client_address: string | null;
}

/** The audit rows matching `where`, oldest first. */
export async function auditRows(
  pg: Client,
  where = 'true',
  params: unknown[] = [],
): Promise<AuditRow[]> {
  return (
    await pg.query<AuditRow>(`SELECT * FROM change_audit WHERE ${where} ORDER BY at, id`, params)
  ).rows;
}

export async function auditCount(pg: Client): Promise<number> {
  return (await pg.query<{ n: number }>('SELECT count(*)::int AS n FROM change_audit')).rows[0].n;
}
