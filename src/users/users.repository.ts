import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { InTransaction, UserWithExtensionRow } from '../extensions/extensions.repository';
import { User } from './entities/user.entity';

export interface DeletedUserRow {
  id: string;
  name: string;
  email: string;
  extension: number | null;
}

const escapeLike = (s: string): string => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/** The user table's queries; creating a user is the extension allocator's (it takes a number). */
@Injectable()
export class UsersRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * A page of a tenant's users ordered by extension, and how many match: one query, plus a
   * count past the end. `search` matches name and email case-insensitively, or the number.
   */
  async page(
    tenantId: string,
    search: string | null,
    limit: number,
    offset: number,
  ): Promise<{ rows: UserWithExtensionRow[]; total: number }> {
    const pattern = search === null ? null : `%${escapeLike(search)}%`;
    const filter = `u.tenant_id = $1 AND ($2::text IS NULL
        OR u.name ILIKE $2 OR u.email ILIKE $2 OR e.number::text LIKE $2)`;
    const rows = await this.db.query<(UserWithExtensionRow & { total: string })[]>(
      `SELECT u.id, u.name, u.email, u.created_at, e.number AS extension, e.sip_username,
              count(*) OVER () AS total
       FROM "user" u JOIN extension e ON e.user_id = u.id
       WHERE ${filter}
       ORDER BY e.number
       LIMIT $3 OFFSET $4`,
      [tenantId, pattern, limit, offset],
    );
    let total = rows.length > 0 ? Number(rows[0].total) : 0;
    if (rows.length === 0 && offset > 0) {
      // Past the end the window count is unavailable; count separately.
      const [c] = await this.db.query<{ total: string }[]>(
        `SELECT count(*) AS total FROM "user" u JOIN extension e ON e.user_id = u.id WHERE ${filter}`,
        [tenantId, pattern],
      );
      total = Number(c.total);
    }
    return { rows, total };
  }

  /**
   * Deletes a user and, by ON DELETE CASCADE, its extension; false when there was none.
   * `onDeleted` gets the user as it was, in the deleting transaction (the audit row).
   */
  async delete(
    id: string,
    tenantId: string,
    onDeleted: InTransaction<DeletedUserRow> = () => Promise.resolve(),
  ): Promise<boolean> {
    return this.db.transaction(async (m) => {
      const [row] = await m.query<DeletedUserRow[]>(
        `SELECT u.id, u.name, u.email, e.number AS extension
         FROM "user" u LEFT JOIN extension e ON e.user_id = u.id
         WHERE u.id = $1 AND u.tenant_id = $2
         FOR UPDATE OF u`,
        [id, tenantId],
      );
      if (!row) return false;
      await m.delete(User, { id, tenantId });
      await onDeleted(m, row);
      return true;
    });
  }
}
