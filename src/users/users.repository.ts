import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { Injectable } from '@nestjs/common';
import type { SipAccountRow } from '../asterisk/generation/types';
import {
  toUserWithExtension,
  UserWithExtension,
  UserWithExtensionRow,
} from '../extensions/extensions.repository';
import type { NumberFilter } from '../registration/registration';
import { User } from './entities/user.entity';

export interface DeletedUser {
  id: string;
  name: string;
  email: string;
  extension: number | null;
}

/** A user as the list shows it, and whether Asterisk has its aor as loaded config. */
export type ListedUser = UserWithExtension & { applied: boolean };
type ListedUserRow = UserWithExtensionRow & { applied: boolean };
const toListedUser = (row: ListedUserRow): ListedUser => ({
  ...toUserWithExtension(row),
  applied: row.applied,
});

const USER_COLUMNS = 'u.id, u.name, u.email, u.created_at, e.number AS extension, e.sip_username';

/**
 * Whether the user was created before the start (plan time) of the last successful apply, so
 * the config Asterisk loaded has it; false for every user before the first one. One subquery,
 * evaluated once per statement.
 *
 * It reads apply's table: apply imports users (it renders the users' SIP accounts), so users
 * cannot ask apply for the cut-off, and the list must stay one query (its hot path).
 */
const APPLIED = `COALESCE(u.created_at < (SELECT max(a.started_at) FROM apply_audit_log a
  WHERE a.outcome = 'success'), false)`;

const escapeLike = (s: string): string => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * The user table's queries, in the caller's transaction when there is one; creating a user
 * is the extension allocator's (it takes a number).
 */
@Injectable()
export class UsersRepository {
  constructor(private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>) {}

  /**
   * A page of a tenant's users ordered by extension, and how many match: one query, plus a
   * count past the end. `search` matches name and email case-insensitively, or the number;
   * `numbers` keeps only the users whose extension is (or, with `exclude`, is not) listed.
   */
  async page(
    tenantId: string,
    search: string | null,
    limit: number,
    offset: number,
    numbers: NumberFilter | null = null,
  ): Promise<{ rows: ListedUser[]; total: number }> {
    const pattern = search === null ? null : `%${escapeLike(search)}%`;
    const filter = `u.tenant_id = $1 AND ($2::text IS NULL
        OR u.name ILIKE $2 OR u.email ILIKE $2 OR e.number::text LIKE $2)
        AND ($3::int[] IS NULL OR (e.number = ANY($3::int[]) AND ${APPLIED}) <> $4::boolean)`;
    const params = [tenantId, pattern, numbers?.numbers ?? null, numbers?.exclude ?? false];
    // Joins extension rather than asking ExtensionsRepository: one query, ordered and paged
    // by number, is the list's hot path.
    const rows = await this.txHost.tx.query<(ListedUserRow & { total: string })[]>(
      `SELECT ${USER_COLUMNS}, ${APPLIED} AS applied, count(*) OVER () AS total
       FROM "user" u JOIN extension e ON e.user_id = u.id
       WHERE ${filter}
       ORDER BY e.number
       LIMIT $5 OFFSET $6`,
      [...params, limit, offset],
    );
    let total = rows.length > 0 ? Number(rows[0].total) : 0;
    if (rows.length === 0 && offset > 0) {
      // Past the end the window count is unavailable; count separately.
      const [c] = await this.txHost.tx.query<{ total: string }[]>(
        `SELECT count(*) AS total FROM "user" u JOIN extension e ON e.user_id = u.id WHERE ${filter}`,
        params,
      );
      total = Number(c.total);
    }
    return { rows: rows.map(toListedUser), total };
  }

  /** One user of a tenant with its extension, as the list shows it; null when there is none. */
  async findOne(id: string, tenantId: string): Promise<ListedUser | null> {
    const rows = await this.txHost.tx.query<ListedUserRow[]>(
      `SELECT ${USER_COLUMNS}, ${APPLIED} AS applied
       FROM "user" u JOIN extension e ON e.user_id = u.id
       WHERE u.id = $1 AND u.tenant_id = $2`,
      [id, tenantId],
    );
    return rows[0] ? toListedUser(rows[0]) : null;
  }

  /**
   * Sets the fields given (null: unchanged), the row locked until the caller's transaction
   * ends; the user before and after, or null when there is none. A taken email fails on
   * UQ_user_tenant_email, writing nothing.
   */
  async update(
    id: string,
    tenantId: string,
    fields: { name: string | null; email: string | null },
  ): Promise<{ before: UserWithExtension; after: UserWithExtension } | null> {
    const m = this.txHost.tx;
    const [before] = await m.query<UserWithExtensionRow[]>(
      `SELECT ${USER_COLUMNS}
       FROM "user" u JOIN extension e ON e.user_id = u.id
       WHERE u.id = $1 AND u.tenant_id = $2
       FOR UPDATE OF u`,
      [id, tenantId],
    );
    if (!before) return null;
    const [rows] = await m.query<[UserWithExtensionRow[], number]>(
      `UPDATE "user" u SET name = COALESCE($3, u.name), email = COALESCE($4, u.email)
       FROM extension e
       WHERE u.id = $1 AND u.tenant_id = $2 AND e.user_id = u.id
       RETURNING ${USER_COLUMNS}`,
      [id, tenantId, fields.name, fields.email],
    );
    return { before: toUserWithExtension(before), after: toUserWithExtension(rows[0]) };
  }

  /**
   * Everything the config generators need (apply renders it), in one query, sorted by
   * extension. Reads the extension table like the list: a user and its extension are one row
   * to every reader.
   */
  async sipAccounts(tenantId: string): Promise<SipAccountRow[]> {
    const rows: {
      extension: number;
      name: string;
      sip_username: string;
      realm: string;
      md5_digest: string;
      sha256_digest: string;
    }[] = await this.txHost.tx.query(
      `SELECT e.number AS extension, u.name, e.sip_username, e.realm, e.md5_digest, e.sha256_digest
       FROM extension e JOIN "user" u ON u.id = e.user_id
       WHERE e.tenant_id = $1
       ORDER BY e.number`,
      [tenantId],
    );
    return rows.map((r) => ({
      extension: r.extension,
      name: r.name,
      sipUsername: r.sip_username,
      realm: r.realm,
      md5Digest: r.md5_digest,
      sha256Digest: r.sha256_digest,
    }));
  }

  /** How many users the tenant has. */
  async count(tenantId: string): Promise<number> {
    const [row] = await this.txHost.tx.query<{ n: number }[]>(
      'SELECT count(*)::int AS n FROM "user" WHERE tenant_id = $1',
      [tenantId],
    );
    return row.n;
  }

  /** Every extension number of a tenant's users, and whether each user is in the applied config. */
  extensionNumbers(tenantId: string): Promise<{ extension: number; applied: boolean }[]> {
    return this.txHost.tx.query(
      `SELECT e.number AS extension, ${APPLIED} AS applied
       FROM "user" u JOIN extension e ON e.user_id = u.id WHERE u.tenant_id = $1`,
      [tenantId],
    );
  }

  /**
   * Deletes a user and, by ON DELETE CASCADE, its extension, in the caller's transaction; the
   * user as it was, or null when there was none.
   */
  async delete(id: string, tenantId: string): Promise<DeletedUser | null> {
    const m = this.txHost.tx;
    const [row] = await m.query<DeletedUser[]>(
      `SELECT u.id, u.name, u.email, e.number AS extension
       FROM "user" u LEFT JOIN extension e ON e.user_id = u.id
       WHERE u.id = $1 AND u.tenant_id = $2
       FOR UPDATE OF u`,
      [id, tenantId],
    );
    if (!row) return null;
    await m.delete(User, { id, tenantId });
    return row;
  }
}
