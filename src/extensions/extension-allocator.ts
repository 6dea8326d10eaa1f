import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { databaseBusy, extensionPoolExhausted } from '../common/errors/domain-errors';
import { PortalConfig } from '../config/portal-config.service';
import { DEFAULT_TENANT_ID } from '../tenants/tenant.entity';
import { sipDigests } from './sip-credentials';

/** Advisory-lock keys (namespace, id) shared by every portal process on one database. */
export const LOCK_NAMESPACE = 0x5359;
export const ALLOCATION_LOCK_ID = 1; // also hard-coded in the allocate_user() migration

/** Enough for the creates that race each other; each costs two hashes (microseconds). */
const CANDIDATES = 16;
const POOL_EXHAUSTED = 'SC001';
const FALLBACK_ROUNDS = 10;

export interface NewUser {
  name: string;
  email: string;
  realm: string;
  password: string;
}

export interface AllocatedUserRow {
  id: string;
  name: string;
  email: string;
  created_at: Date;
  extension: number;
  sip_username: string;
}

/**
 * Creates a user with the lowest free extension, correct across any number of portal
 * processes: allocate_user() takes a transaction-scoped advisory lock, searches and inserts
 * in one statement, and the primary key on `extension.number` is the backstop.
 */
@Injectable()
export class ExtensionAllocator {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly config: PortalConfig,
  ) {}

  async createUser(user: NewUser): Promise<AllocatedUserRow> {
    const { min, max } = this.config.extensionRange;
    const first = await this.attempt(this.db.manager, user, await this.lowestFree(min, max));
    if (first.id !== null) return first;
    // Others took every candidate first. Hold the lock across the round trips this time, so
    // the number found under it cannot be taken before it is inserted.
    return this.db.transaction(async (m) => {
      await m.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_NAMESPACE, ALLOCATION_LOCK_ID]);
      let row = await this.attempt(m, user, []);
      // No create can take a number now, but a delete (which needs no lock) can free a
      // lower one between two calls; each round then moves to that lower number.
      for (let round = 0; row.id === null && round < FALLBACK_ROUNDS; round++) {
        row = await this.attempt(m, user, [row.extension]);
      }
      if (row.id === null) throw databaseBusy();
      return row;
    });
  }

  /** One call of allocate_user(): the inserted row, or the free number when not a candidate. */
  private async attempt(
    m: EntityManager,
    user: NewUser,
    candidates: number[],
  ): Promise<AllocatedUserRow | { id: null; extension: number }> {
    const { min, max } = this.config.extensionRange;
    const digests = candidates.map((n) => sipDigests(String(n), user.realm, user.password));
    try {
      const rows: (AllocatedUserRow | { id: null; extension: number })[] = await m.query(
        `SELECT * FROM allocate_user($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [
          DEFAULT_TENANT_ID,
          user.name,
          user.email,
          min,
          max,
          user.realm,
          candidates,
          digests.map((d) => d.md5Digest),
          digests.map((d) => d.sha256Digest),
        ],
      );
      return rows[0];
    } catch (err) {
      if ((err as { driverError?: { code?: string } }).driverError?.code === POOL_EXHAUSTED) {
        throw extensionPoolExhausted(min, max);
      }
      throw err;
    }
  }

  /**
   * Candidates without the lock: the lowest free number as seen now and the numbers after
   * it (some may be taken: they only cost two hashes each). Racing creates take them in turn.
   */
  private async lowestFree(min: number, max: number): Promise<number[]> {
    const rows: { n: number | null }[] = await this.db.query(
      'SELECT lowest_free_extension($1, $2) AS n',
      [min, max],
    );
    const first = rows[0]?.n;
    if (first === null || first === undefined) return [];
    const last = Math.min(max, first + CANDIDATES - 1);
    return Array.from({ length: last - first + 1 }, (_, i) => first + i);
  }
}
