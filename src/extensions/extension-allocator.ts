import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { Injectable } from '@nestjs/common';
import { extensionPoolExhausted } from '../common/errors/domain-errors';
import { PortalConfig } from '../config/portal-config.service';
import { DEFAULT_TENANT_ID } from '../tenants/tenant.entity';
import { ExtensionsRepository, UserToInsert, UserWithExtension } from './extensions.repository';
import { sipDigests } from './sip-credentials';

/** Enough for the creates that race each other; each costs two hashes (microseconds). */
const CANDIDATES = 16;
/** Calls of allocate_user() before the claiming transaction. */
const GUESS_ROUNDS = 2;

export interface NewUser {
  name: string;
  email: string;
  realm: string;
  password: string;
}

/**
 * Creates a user with the lowest free extension, correct across any number of portal
 * processes: allocate_user() locks just the number it takes (skipping numbers other creates
 * hold), searches and inserts in one statement, and the primary key on `extension.number` is
 * the backstop. Runs in the caller's transaction, which commits the user with whatever else
 * the caller writes (its audit row); each number lock is held until that commit.
 */
@Injectable()
export class ExtensionAllocator {
  constructor(
    private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>,
    private readonly extensions: ExtensionsRepository,
    private readonly config: PortalConfig,
  ) {}

  /**
   * Where the lowest free number was last found: only a guess, since deletes and other
   * processes move it. A wrong guess costs one more round trip, never a wrong number.
   */
  private guess: number | null = null;

  async createUser(user: NewUser): Promise<UserWithExtension> {
    const { min, max } = this.config.extensionRange;
    let start = this.guess !== null && this.guess >= min && this.guess <= max ? this.guess : min;
    for (let round = 0; round < GUESS_ROUNDS; round++) {
      const candidates = candidatesFrom(start, max);
      const digests = candidates.map((n) => sipDigests(String(n), user.realm, user.password));
      const row = await this.extensions.allocateUser(
        toInsert(user),
        { min, max },
        candidates,
        digests,
      );
      if (row === null) throw extensionPoolExhausted(min, max);
      if (row.id !== null) return this.found(row);
      start = row.extension; // the lowest free number the database saw
    }
    // Deletes keep freeing lower numbers, or more creates race than there are candidates.
    return this.createByClaim(user);
  }

  /**
   * Claims the lowest free number and inserts it in one transaction (the caller's, or its
   * own when none is active: the claim's lock must last until the insert). Always succeeds
   * when a number is free, at two more round trips than a right guess.
   */
  async createByClaim(user: NewUser): Promise<UserWithExtension> {
    const { min, max } = this.config.extensionRange;
    const row = await this.txHost.withTransaction(() =>
      this.extensions.claimAndInsertUser(toInsert(user), { min, max }, (n) =>
        sipDigests(String(n), user.realm, user.password),
      ),
    );
    if (row === null) throw extensionPoolExhausted(min, max);
    return this.found(row);
  }

  private found(row: UserWithExtension): UserWithExtension {
    this.guess = row.extension + 1;
    return row;
  }
}

function toInsert(user: NewUser): UserToInsert {
  return { tenantId: DEFAULT_TENANT_ID, name: user.name, email: user.email, realm: user.realm };
}

/** A run of numbers from `first`: racing creates in this process take them in turn. */
function candidatesFrom(first: number, max: number): number[] {
  const last = Math.min(max, first + CANDIDATES - 1);
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}
