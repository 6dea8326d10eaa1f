import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { Injectable } from '@nestjs/common';
import { IsNull } from 'typeorm';
import type { Scope } from '../common/access/scopes';
import { ApiKey } from './entities/api-key.entity';

/** What the guard needs of a live key. */
export interface ActiveKey {
  id: string;
  name: string;
  scopes: Scope[];
}

/** Every query of the api_key table. */
@Injectable()
export class ApiKeysRepository {
  constructor(private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>) {}

  async insert(key: {
    tenantId: string;
    name: string;
    scopes: Scope[];
    prefix: string;
    keyHash: string;
  }): Promise<ApiKey> {
    const m = this.txHost.tx;
    const row = m.create(ApiKey, { ...key, lastUsedAt: null, revokedAt: null });
    return m.save(row);
  }

  /** A page of a tenant's keys, newest first, and how many there are. */
  async page(
    tenantId: string,
    limit: number,
    offset: number,
  ): Promise<{ rows: ApiKey[]; total: number }> {
    const [rows, total] = await this.txHost.tx.getRepository(ApiKey).findAndCount({
      select: {
        id: true,
        name: true,
        scopes: true,
        prefix: true,
        createdAt: true,
        lastUsedAt: true,
        revokedAt: true,
      },
      where: { tenantId },
      order: { createdAt: 'DESC', id: 'DESC' },
      take: limit,
      skip: offset,
    });
    return { rows, total };
  }

  /** The unrevoked key with this hash: one index look-up per request, so revoking is instant. */
  async findActiveByHash(keyHash: string): Promise<ActiveKey | null> {
    return this.txHost.tx.getRepository(ApiKey).findOne({
      select: { id: true, name: true, scopes: true },
      where: { keyHash, revokedAt: IsNull() },
    });
  }

  /**
   * Revokes a key, its row locked so racing revokes record one change: the key as it was
   * before and when it was revoked, or null when the tenant has no such key. A key revoked
   * already is left as it is (`already`).
   */
  async revoke(
    id: string,
    tenantId: string,
  ): Promise<{ before: ApiKey; revokedAt: Date; already: boolean } | null> {
    const m = this.txHost.tx;
    const before = await m.findOne(ApiKey, {
      where: { id, tenantId },
      lock: { mode: 'pessimistic_write' },
    });
    if (!before) return null;
    if (before.revokedAt) return { before, revokedAt: before.revokedAt, already: true };
    const revokedAt = new Date();
    await m.update(ApiKey, { id }, { revokedAt });
    return { before, revokedAt, already: false };
  }

  /** Records a use; never moves lastUsedAt back when processes race. */
  async touch(id: string, at: Date): Promise<void> {
    await this.txHost.tx.query(
      `UPDATE api_key SET last_used_at = $2
       WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)`,
      [id, at],
    );
  }
}
