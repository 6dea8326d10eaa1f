import { Injectable } from '@nestjs/common';
import { AuditWriter } from '../audit/audit-writer';
import { duplicateEmail, userNotFound } from '../common/errors/domain-errors';
import { isUniqueViolation } from '../common/errors/pg-errors';
import { PortalConfig } from '../config/portal-config.service';
import { ExtensionAllocator } from '../extensions/extension-allocator';
import { ExtensionsRepository } from '../extensions/extensions.repository';
import { generateSipPassword, sipDigests } from '../extensions/sip-credentials';
import { DEFAULT_TENANT_ID } from '../tenants/tenant.entity';
import { CreateUserDto } from './dto/create-user.dto';
import { ListUsersQueryDto } from './dto/list-users-query.dto';
import { CreatedUserDto, SipPasswordDto, UserListDto } from './dto/user-response.dto';
import { toAuditedUser, toCreatedUserDto, toUserDto } from './user.mapper';
import { UsersRepository } from './users.repository';

/**
 * Users and their SIP credentials. Nothing here touches Asterisk: changes reach the PBX
 * only through an explicit apply.
 */
@Injectable()
export class UsersService {
  constructor(
    private readonly users: UsersRepository,
    private readonly extensions: ExtensionsRepository,
    private readonly allocator: ExtensionAllocator,
    private readonly config: PortalConfig,
    private readonly audit: AuditWriter,
  ) {}

  async create(dto: CreateUserDto): Promise<CreatedUserDto> {
    const password = generateSipPassword();
    try {
      const row = await this.allocator.createUser(
        { name: dto.name, email: dto.email, realm: this.config.sipRealm, password },
        (m, user) =>
          this.audit.record(m, {
            action: 'user.create',
            target: { type: 'user', id: user.id },
            changes: { before: null, after: toAuditedUser(user) },
          }),
      );
      return toCreatedUserDto(row, password);
    } catch (err) {
      if (isUniqueViolation(err, 'UQ_user_tenant_email')) throw duplicateEmail(dto.email);
      throw err;
    }
  }

  async list(query: ListUsersQueryDto): Promise<UserListDto> {
    const search = query.search ? query.search.trim() : null;
    const { rows, total } = await this.users.page(
      DEFAULT_TENANT_ID,
      search,
      query.limit,
      query.offset,
    );
    return { items: rows.map(toUserDto), total };
  }

  async remove(id: string): Promise<void> {
    // The extension row goes with the user, freeing the number.
    const deleted = await this.users.delete(id, DEFAULT_TENANT_ID, (m, user) =>
      this.audit.record(m, {
        action: 'user.delete',
        target: { type: 'user', id },
        changes: { before: toAuditedUser(user), after: null },
      }),
    );
    if (!deleted) throw userNotFound(id);
  }

  async rotateSipPassword(id: string): Promise<SipPasswordDto> {
    const password = generateSipPassword();
    const realm = this.config.sipRealm;
    const rotated = await this.extensions.replaceDigests(
      id,
      DEFAULT_TENANT_ID,
      realm,
      (username) => sipDigests(username, realm, password),
      // Of what a rotation rewrites, only the realm is not secret.
      (m, before) =>
        this.audit.record(m, {
          action: 'user.rotate_password',
          target: { type: 'user', id },
          changes: { before: { realm: before.realm }, after: { realm } },
        }),
    );
    if (!rotated) throw userNotFound(id);
    return { sipPassword: password };
  }
}
