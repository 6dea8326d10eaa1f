import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { duplicateEmail, userNotFound } from '../common/errors/domain-errors';
import { isUniqueViolation } from '../common/errors/pg-errors';
import { PortalConfig } from '../config/portal-config.service';
import { ExtensionAllocator } from '../extensions/extension-allocator';
import { generateSipPassword, sipDigests } from '../extensions/sip-credentials';
import { DEFAULT_TENANT_ID } from '../tenants/tenant.entity';
import { CreateUserDto } from './dto/create-user.dto';
import { ListUsersQueryDto } from './dto/list-users-query.dto';
import { CreatedUserDto, SipPasswordDto, UserListDto } from './dto/user-response.dto';
import { toCreatedUserDto, toUserDto, UserRow } from './user.mapper';

const escapeLike = (s: string): string => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * Users and their SIP credentials. Nothing here touches Asterisk: changes reach the PBX
 * only through an explicit apply.
 */
@Injectable()
export class UsersService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly allocator: ExtensionAllocator,
    private readonly config: PortalConfig,
  ) {}

  async create(dto: CreateUserDto): Promise<CreatedUserDto> {
    const password = generateSipPassword();
    try {
      const row = await this.allocator.createUser({
        name: dto.name,
        email: dto.email,
        realm: this.config.sipRealm,
        password,
      });
      return toCreatedUserDto(row, password);
    } catch (err) {
      if (isUniqueViolation(err, 'UQ_user_tenant_email')) throw duplicateEmail(dto.email);
      throw err;
    }
  }

  async list(query: ListUsersQueryDto): Promise<UserListDto> {
    const pattern = query.search ? `%${escapeLike(query.search.trim())}%` : null;
    const filter = `u.tenant_id = $1 AND ($2::text IS NULL
        OR u.name ILIKE $2 OR u.email ILIKE $2 OR e.number::text LIKE $2)`;
    const rows: (UserRow & { total: string })[] = await this.db.query(
      `SELECT u.id, u.name, u.email, u.created_at, e.number AS extension, e.sip_username,
              count(*) OVER () AS total
       FROM "user" u JOIN extension e ON e.user_id = u.id
       WHERE ${filter}
       ORDER BY e.number
       LIMIT $3 OFFSET $4`,
      [DEFAULT_TENANT_ID, pattern, query.limit, query.offset],
    );
    let total = rows.length > 0 ? Number(rows[0].total) : 0;
    if (rows.length === 0 && query.offset > 0) {
      // Past the end the window count is unavailable; count separately.
      const [c]: { total: string }[] = await this.db.query(
        `SELECT count(*) AS total FROM "user" u JOIN extension e ON e.user_id = u.id WHERE ${filter}`,
        [DEFAULT_TENANT_ID, pattern],
      );
      total = Number(c.total);
    }
    return { items: rows.map(toUserDto), total };
  }

  async remove(id: string): Promise<void> {
    // The extension row goes with the user (ON DELETE CASCADE), freeing the number.
    const [, affected]: [unknown, number] = await this.db.query(
      `DELETE FROM "user" WHERE id = $1 AND tenant_id = $2`,
      [id, DEFAULT_TENANT_ID],
    );
    if (affected === 0) throw userNotFound(id);
  }

  async rotateSipPassword(id: string): Promise<SipPasswordDto> {
    const password = generateSipPassword();
    const realm = this.config.sipRealm;
    return this.db.transaction(async (m) => {
      const rows: { sip_username: string }[] = await m.query(
        `SELECT e.sip_username FROM extension e
         WHERE e.user_id = $1 AND e.tenant_id = $2 FOR UPDATE`,
        [id, DEFAULT_TENANT_ID],
      );
      if (rows.length === 0) throw userNotFound(id);
      const { md5Digest, sha256Digest } = sipDigests(rows[0].sip_username, realm, password);
      await m.query(
        `UPDATE extension SET realm = $2, md5_digest = $3, sha256_digest = $4 WHERE user_id = $1`,
        [id, realm, md5Digest, sha256Digest],
      );
      return { sipPassword: password };
    });
  }
}
