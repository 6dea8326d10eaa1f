import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { Injectable } from '@nestjs/common';
import type { ContactSnapshot } from '../registration/registration-reader';
import { RegistrationService } from '../registration/registration.service';
import { AuditWriter } from '../audit/audit-writer';
import { badRequest, duplicateEmail, userNotFound } from '../common/errors/domain-errors';
import { isUniqueViolation } from '../common/errors/pg-errors';
import { PortalConfig } from '../config/portal-config.service';
import { ExtensionAllocator } from '../extensions/extension-allocator';
import { ExtensionsRepository } from '../extensions/extensions.repository';
import { generateSipPassword, sipDigests } from '../extensions/sip-credentials';
import { DEFAULT_TENANT_ID } from '../tenants/tenant.entity';
import { CreateUserDto } from './dto/create-user.dto';
import { ListUsersQueryDto } from './dto/list-users-query.dto';
import { UpdateUserDto } from './dto/update-user.dto';
import {
  CreatedUserDto,
  SipPasswordDto,
  UserDetailDto,
  UserDto,
  UserListDto,
} from './dto/user-response.dto';
import { EventPublisher } from '../webhooks/event-publisher';
import {
  changedFields,
  toAuditedUser,
  toCreatedUserDto,
  toUserDto,
  toUserEvent,
} from './user.mapper';
import type { NumberFilter } from '../registration/registration';
import { UsersRepository } from './users.repository';

/**
 * Users and their SIP credentials. Changes reach the PBX only through an explicit apply;
 * the only thing read from Asterisk here is whether each phone is registered.
 */
@Injectable()
export class UsersService {
  constructor(
    private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>,
    private readonly users: UsersRepository,
    private readonly extensions: ExtensionsRepository,
    private readonly allocator: ExtensionAllocator,
    private readonly config: PortalConfig,
    private readonly audit: AuditWriter,
    private readonly registrations: RegistrationService,
    private readonly events: EventPublisher,
  ) {}

  /** The user, its extension and its audit row commit together. */
  create(dto: CreateUserDto): Promise<CreatedUserDto> {
    return this.txHost.withTransaction(async () => {
      const password = generateSipPassword();
      try {
        const user = await this.allocator.createUser({
          name: dto.name,
          email: dto.email,
          realm: this.config.sipRealm,
          password,
        });
        await this.audit.record({
          action: 'user.create',
          target: { type: 'user', id: user.id },
          changes: { before: null, after: toAuditedUser(user) },
        });
        await this.events.publish('user.created', toUserEvent(user));
        return toCreatedUserDto(user, password);
      } catch (err) {
        if (isUniqueViolation(err, 'UQ_user_tenant_email')) throw duplicateEmail(dto.email);
        throw err;
      }
    });
  }

  /**
   * A page of users. With a registration filter the listing is read first and the filter runs
   * in the query, so limit, offset and total apply to the filtered users.
   */
  async list(query: ListUsersQueryDto): Promise<UserListDto> {
    const search = query.search ? query.search.trim() : null;
    const page = (numbers: NumberFilter | null = null) =>
      this.users.page(DEFAULT_TENANT_ID, search, query.limit, query.offset, numbers);
    if (query.registration === undefined && query.include === undefined) {
      const { rows, total } = await page();
      return { items: rows.map(toUserDto), total };
    }
    let snapshot: ContactSnapshot;
    let result: Awaited<ReturnType<typeof page>>;
    if (query.registration !== undefined) {
      snapshot = await this.registrations.snapshot();
      result = await page(this.registrations.numberFilter(snapshot, query.registration));
    } else {
      [snapshot, result] = await Promise.all([this.registrations.snapshot(), page()]);
    }
    const registrations = this.registrations.forList(result.rows, snapshot);
    return {
      items: result.rows.map((row, i) => ({ ...toUserDto(row), registration: registrations[i] })),
      total: result.total,
    };
  }

  async get(id: string): Promise<UserDetailDto> {
    const row = await this.users.findOne(id, DEFAULT_TENANT_ID);
    if (!row) throw userNotFound(id);
    return { ...toUserDto(row), registration: await this.registrations.forUser(row) };
  }

  /** Name and email only: the number, and so the SIP username and digests, never move. */
  update(id: string, dto: UpdateUserDto): Promise<UserDto> {
    return this.txHost.withTransaction(async () => {
      if (dto.name === undefined && dto.email === undefined) {
        throw badRequest('Nothing to change: send name, email or both');
      }
      try {
        const updated = await this.users.update(id, DEFAULT_TENANT_ID, {
          name: dto.name ?? null,
          email: dto.email ?? null,
        });
        if (!updated) throw userNotFound(id);
        const { before, after } = updated;
        const changes = changedFields(toAuditedUser(before), toAuditedUser(after));
        // A PATCH that sets every field to what it already was changes nothing: no row.
        if (changes) {
          await this.audit.record({ action: 'user.update', target: { type: 'user', id }, changes });
          await this.events.publish('user.updated', toUserEvent(after));
        }
        return toUserDto(after);
      } catch (err) {
        if (dto.email && isUniqueViolation(err, 'UQ_user_tenant_email')) {
          throw duplicateEmail(dto.email);
        }
        throw err;
      }
    });
  }

  remove(id: string): Promise<void> {
    return this.txHost.withTransaction(async () => {
      // The extension row goes with the user, freeing the number.
      const deleted = await this.users.delete(id, DEFAULT_TENANT_ID);
      if (!deleted) throw userNotFound(id);
      await this.audit.record({
        action: 'user.delete',
        target: { type: 'user', id },
        changes: { before: toAuditedUser(deleted), after: null },
      });
      await this.events.publish('user.deleted', toUserEvent(deleted));
    });
  }

  rotateSipPassword(id: string): Promise<SipPasswordDto> {
    return this.txHost.withTransaction(async () => {
      const password = generateSipPassword();
      const realm = this.config.sipRealm;
      const before = await this.extensions.replaceDigests(
        id,
        DEFAULT_TENANT_ID,
        realm,
        (username) => sipDigests(username, realm, password),
      );
      if (!before) throw userNotFound(id);
      // Of what a rotation rewrites, only the realm is not secret.
      await this.audit.record({
        action: 'user.rotate_password',
        target: { type: 'user', id },
        changes: { before: { realm: before.realm }, after: { realm } },
      });
      const user = await this.users.findOne(id, DEFAULT_TENANT_ID);
      if (user) await this.events.publish('user.sip_password_rotated', toUserEvent(user));
      return { sipPassword: password };
    });
  }
}
