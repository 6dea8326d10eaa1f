import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { extensionPoolExhausted } from '../common/errors/domain-errors';
import { PortalConfig } from '../config/portal-config.service';
import { DEFAULT_TENANT_ID } from '../tenants/tenant.entity';
import { sipDigests } from './sip-credentials';

/** Advisory-lock namespace (first key) of the apply lock, shared by every portal process. */
export const LOCK_NAMESPACE = 0x5359;

/** Enough for the creates that race each other; each costs two hashes (microseconds). */
const CANDIDATES = 16;
const POOL_EXHAUSTED = 'SC001';
/** Calls of allocate_user() before the claiming transaction. */
const GUESS_ROUNDS = 2;

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
 * processes: allocate_user() locks just the number it takes (skipping numbers other creates
 * hold), searches and inserts in one statement, and the primary key on `extension.number` is
 * the backstop.
 */
@Injectable()
export class ExtensionAllocator {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly config: PortalConfig,
  ) {}

  /**
   * Where the lowest free number was last found: only a guess, since deletes and other
   * processes move it. A wrong guess costs one more round trip, never a wrong number.
   */
  private guess: number | null = null;

  async createUser(user: NewUser): Promise<AllocatedUserRow> {
    const { min, max } = this.config.extensionRange;
    let start = this.guess !== null && this.guess >= min && this.guess <= max ? this.guess : min;
    for (let round = 0; round < GUESS_ROUNDS; round++) {
      const row = await this.attempt(user, candidatesFrom(start, max));
      if (row.id !== null) return this.found(row);
      start = row.extension; // the lowest free number the database saw
    }
    // Deletes keep freeing lower numbers, or more creates race than there are candidates.
    return this.createByClaim(user);
  }

  /**
   * Claims the lowest free number in a transaction, so it stays ours while its digests are
   * computed (other creates skip it meanwhile instead of waiting), then inserts. Always
   * succeeds when a number is free, at two more round trips than a right guess.
   */
  async createByClaim(user: NewUser): Promise<AllocatedUserRow> {
    const { min, max } = this.config.extensionRange;
    return this.db.transaction(async (m) => {
      const [{ n }]: { n: number | null }[] = await m.query(
        'SELECT claim_free_extension($1, $2) AS n',
        [min, max],
      );
      if (n === null) throw extensionPoolExhausted(min, max);
      const { md5Digest, sha256Digest } = sipDigests(String(n), user.realm, user.password);
      const rows: AllocatedUserRow[] = await m.query(
        'SELECT * FROM insert_user_with_extension($1, $2, $3, $4, $5, $6, $7)',
        [DEFAULT_TENANT_ID, user.name, user.email, n, user.realm, md5Digest, sha256Digest],
      );
      return this.found(rows[0]);
    });
  }

  private found(row: AllocatedUserRow): AllocatedUserRow {
    this.guess = row.extension + 1;
    return row;
  }

  /** One call of allocate_user(): the inserted row, or the free number when not a candidate. */
  private async attempt(
    user: NewUser,
    candidates: number[],
  ): Promise<AllocatedUserRow | { id: null; extension: number }> {
    const { min, max } = this.config.extensionRange;
    const digests = candidates.map((n) => sipDigests(String(n), user.realm, user.password));
    try {
      const rows: (AllocatedUserRow | { id: null; extension: number })[] = await this.db.query(
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
}

/** A run of numbers from `first`: racing creates in this process take them in turn. */
function candidatesFrom(first: number, max: number): number[] {
  const last = Math.min(max, first + CANDIDATES - 1);
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}
