import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { Injectable } from '@nestjs/common';
import { NUMBER_LOCK_NAMESPACE } from '../database/advisory-locks';
import { Extension } from './entities/extension.entity';
import { SipDigests } from './sip-credentials';

/** A user with its extension: the one shape above the repositories. Never holds a digest. */
export interface UserWithExtension {
  id: string;
  name: string;
  email: string;
  createdAt: Date;
  extension: number;
  sipUsername: string;
}

/**
 * A user with its extension as insert_user_with_extension() (and so allocate_user()) returns
 * it and the user list selects it; mapped at each repository's edge by `toUserWithExtension`.
 */
export interface UserWithExtensionRow {
  id: string;
  name: string;
  email: string;
  created_at: Date;
  extension: number;
  sip_username: string;
}

export function toUserWithExtension(row: UserWithExtensionRow): UserWithExtension {
  return {
    id: row.id,
    name: row.name,
    email: row.email,
    createdAt: row.created_at,
    extension: row.extension,
    sipUsername: row.sip_username,
  };
}

/** allocate_user()'s answer when the lowest free number is not a candidate: nothing inserted. */
export interface NotACandidate {
  id: null;
  extension: number;
}

export interface UserToInsert {
  tenantId: string;
  name: string;
  email: string;
  realm: string;
}

/** A number of the extension list: whose it is, or null when it is free. */
export interface ExtensionNumber {
  number: number;
  userId: string | null;
}

/** Raised by allocate_user() when no number in the range is free. */
const POOL_EXHAUSTED = 'SC001';

/**
 * The extension table's queries, in the caller's transaction when there is one. Allocation
 * goes through the SQL functions of the migrations, which lock only the number they take
 * (see 1764000000002-AllocateWithNumberLocks); insert_user_with_extension() is the one place
 * a user and its extension are inserted, and the import calls it too.
 */
@Injectable()
export class ExtensionsRepository {
  constructor(private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>) {}

  /**
   * One call of allocate_user(): the inserted user, the lowest free number when it is not
   * among the candidates, or null when the range is full. `digests[i]` is for `candidates[i]`.
   */
  async allocateUser(
    user: UserToInsert,
    range: { min: number; max: number },
    candidates: number[],
    digests: SipDigests[],
  ): Promise<UserWithExtension | NotACandidate | null> {
    try {
      const rows = await this.txHost.tx.query<(UserWithExtensionRow | NotACandidate)[]>(
        `SELECT * FROM allocate_user($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [
          user.tenantId,
          user.name,
          user.email,
          range.min,
          range.max,
          user.realm,
          candidates,
          digests.map((d) => d.md5Digest),
          digests.map((d) => d.sha256Digest),
        ],
      );
      const row = rows[0];
      return row.id === null ? row : toUserWithExtension(row);
    } catch (err) {
      if ((err as { driverError?: { code?: string } }).driverError?.code === POOL_EXHAUSTED) {
        return null;
      }
      throw err;
    }
  }

  /**
   * Claims the lowest free number in the caller's transaction, so it stays ours while
   * `digestsFor` computes its digests (other creates skip it meanwhile instead of waiting),
   * then inserts the user with it. Null when the range is full.
   */
  async claimAndInsertUser(
    user: UserToInsert,
    range: { min: number; max: number },
    digestsFor: (extension: number) => SipDigests,
  ): Promise<UserWithExtension | null> {
    const m = this.txHost.tx;
    const [{ n }] = await m.query<{ n: number | null }[]>(
      'SELECT claim_free_extension($1, $2) AS n',
      [range.min, range.max],
    );
    if (n === null) return null;
    const { md5Digest, sha256Digest } = digestsFor(n);
    const rows = await m.query<UserWithExtensionRow[]>(
      'SELECT * FROM insert_user_with_extension($1, $2, $3, $4, $5, $6, $7)',
      [user.tenantId, user.name, user.email, n, user.realm, md5Digest, sha256Digest],
    );
    return toUserWithExtension(rows[0]);
  }

  /**
   * Replaces the digests of a user's extension, locking the row (until the caller's
   * transaction ends) while `digestsFor` computes them from its SIP username. The extension as
   * it was, or null when the user has no extension in the tenant.
   */
  async replaceDigests(
    userId: string,
    tenantId: string,
    realm: string,
    digestsFor: (sipUsername: string) => SipDigests,
  ): Promise<{ number: number; sipUsername: string; realm: string } | null> {
    const m = this.txHost.tx;
    const extension = await m.findOne(Extension, {
      select: { number: true, sipUsername: true, realm: true },
      where: { userId, tenantId },
      lock: { mode: 'pessimistic_write' },
    });
    if (!extension) return null;
    const { md5Digest, sha256Digest } = digestsFor(extension.sipUsername);
    await m.update(Extension, { number: extension.number }, { realm, md5Digest, sha256Digest });
    return extension;
  }

  /**
   * A page of numbers in order: every one of `range` plus any taken outside it, each with its
   * user or null, filtered on `status`; and how many match (counted apart past the end).
   */
  async page(
    tenantId: string,
    range: { min: number; max: number },
    status: 'free' | 'used' | null,
    limit: number,
    offset: number,
  ): Promise<{ rows: ExtensionNumber[]; total: number }> {
    const numbers = `WITH n AS (
         SELECT generate_series($1::int, $2::int) AS number
         UNION SELECT number FROM extension WHERE tenant_id = $3
       )
       SELECT n.number, e.user_id, count(*) OVER () AS total
       FROM n LEFT JOIN extension e ON e.number = n.number AND e.tenant_id = $3
       WHERE $4::text IS NULL OR (e.user_id IS NOT NULL) = ($4::text = 'used')`;
    const params = [range.min, range.max, tenantId, status];
    const rows = await this.txHost.tx.query<
      { number: number; user_id: string | null; total: string }[]
    >(`${numbers} ORDER BY n.number LIMIT $5 OFFSET $6`, [...params, limit, offset]);
    let total = rows.length > 0 ? Number(rows[0].total) : 0;
    if (rows.length === 0 && offset > 0) {
      const [c] = await this.txHost.tx.query<{ total: string }[]>(
        `SELECT count(*) AS total FROM (${numbers}) matching`,
        params,
      );
      total = Number(c.total);
    }
    return { rows: rows.map(({ number, user_id }) => ({ number, userId: user_id })), total };
  }

  /**
   * Waits for and takes the locks of the given numbers, in ascending order so two imports
   * asking for the same ones never deadlock. A create holding one finishes first.
   */
  async lockNumbers(numbers: number[]): Promise<void> {
    if (numbers.length === 0) return;
    const sorted = [...numbers].sort((a, b) => a - b);
    await this.txHost.tx.query(
      `SELECT pg_advisory_xact_lock(${NUMBER_LOCK_NAMESPACE}, n) FROM unnest($1::int[]) AS n`,
      [sorted],
    );
  }

  /** Which of `numbers` have an extension (looked up after their locks are held). */
  async takenNumbers(numbers: number[]): Promise<Set<number>> {
    if (numbers.length === 0) return new Set();
    const rows = await this.txHost.tx.query<{ number: number }[]>(
      'SELECT number FROM extension WHERE number = ANY($1::int[])',
      [numbers],
    );
    return new Set(rows.map((r) => r.number));
  }

  /** How many numbers of the range have no extension. */
  async freeCount(range: { min: number; max: number }): Promise<number> {
    const [{ taken }] = await this.txHost.tx.query<{ taken: number }[]>(
      'SELECT count(*)::int AS taken FROM extension WHERE number BETWEEN $1 AND $2',
      [range.min, range.max],
    );
    return range.max - range.min + 1 - taken;
  }

  /**
   * The lowest `count` free numbers of the range outside `exclude`, each locked, as
   * claim_free_extension() does one: a number is locked only when seen free, numbers other
   * transactions hold are skipped, and each is looked at again under its lock, in a new
   * statement (a new snapshot), dropping any an insert took meanwhile. Fewer than `count`
   * when the range runs out.
   */
  async claimFreeNumbers(
    range: { min: number; max: number },
    count: number,
    exclude: number[],
  ): Promise<number[]> {
    const claimed: number[] = [];
    let from = range.min;
    while (claimed.length < count && from <= range.max) {
      // CASE keeps the order: the lock is tried only for a number seen free.
      const rows = await this.txHost.tx.query<{ n: number }[]>(
        `SELECT n FROM generate_series($1::int, $2::int) AS n
         WHERE CASE WHEN n <> ALL($3::int[])
                     AND NOT EXISTS (SELECT 1 FROM extension x WHERE x.number = n)
                    THEN pg_try_advisory_xact_lock(${NUMBER_LOCK_NAMESPACE}, n) ELSE false END
         LIMIT $4`,
        [from, range.max, exclude, count - claimed.length],
      );
      if (rows.length === 0) break;
      const numbers = rows.map((r) => r.n);
      const taken = await this.takenNumbers(numbers);
      claimed.push(...numbers.filter((n) => !taken.has(n)));
      from = numbers.reduce((a, b) => Math.max(a, b)) + 1;
    }
    return claimed.sort((a, b) => a - b);
  }
}
