import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { Injectable } from '@nestjs/common';
import { AuditWriter } from '../../audit/audit-writer';
import { badRequest, DomainError } from '../../common/errors/domain-errors';
import { PortalConfig } from '../../config/portal-config.service';
import { ExtensionsRepository } from '../../extensions/extensions.repository';
import { generateSipPassword, sipDigests } from '../../extensions/sip-credentials';
import { DEFAULT_TENANT_ID } from '../../tenants/tenant.entity';
import { EventPublisher } from '../../webhooks/event-publisher';
import { toUserEvent } from '../user.mapper';
import { BulkRepository, UserToImport } from './bulk.repository';
import { ImportDryRunResultDto, ImportResultDto } from './dto/bulk.dto';
import { CheckedRow, checkRows } from './import-checks';
import { ImportFileError, RawRow, readCsvRows, readJsonRows } from './import-rows';

/** How many invalid rows the error message itself names; `rows` has them all. */
const ROWS_IN_MESSAGE = 5;

/**
 * Bulk import: every row validated first, then all rows created in one transaction or none.
 * Explicit extensions are placed first, under their number locks; the other rows get the
 * lowest free numbers in file order, claimed as a create claims one.
 */
@Injectable()
export class UserImportService {
  constructor(
    private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>,
    private readonly repo: BulkRepository,
    private readonly extensions: ExtensionsRepository,
    private readonly config: PortalConfig,
    private readonly audit: AuditWriter,
    private readonly events: EventPublisher,
  ) {}

  /** `body` is CSV text, or the parsed JSON object; undefined when none was sent. */
  async import(body: unknown, dryRun: boolean): Promise<ImportResultDto | ImportDryRunResultDto> {
    const range = this.config.extensionRange;
    const rows = await checkRows(this.read(body, range), range);
    // One transaction for the whole import. A dry run reads and locks as a real import does,
    // then leaves by throwing its answer, which rolls the transaction back.
    try {
      return await this.txHost.withTransaction(async () => {
        await this.checkAgainstDatabase(rows);
        const valid = rows.every((r) => r.errors.length === 0);
        const numbers = valid ? await this.allocate(rows) : null;
        if (dryRun) throw new DryRunDone(dryRunResult(rows, numbers));
        if (!numbers) throw importInvalid(rows);
        const result = await this.create(rows, numbers);
        // One row for the whole import, in its transaction: how many, and which numbers as
        // runs (a few entries for any file), so a 2,000-row import stays a small row.
        await this.audit.record({
          action: 'user.import',
          target: { type: 'users', id: null },
          changes: { before: null, after: { count: result.created, extensions: runs(numbers) } },
        });
        // One event for the whole import, like its audit row.
        await this.events.publish('users.imported', {
          count: result.created,
          users: result.users.map((u) => toUserEvent(u)),
        });
        return result;
      });
    } catch (err) {
      if (err instanceof DryRunDone) return err.result;
      throw err;
    }
  }

  private read(body: unknown, range: { min: number; max: number }): RawRow[] {
    const size = range.max - range.min + 1;
    let rows: RawRow[];
    try {
      if (body === undefined) {
        throw new ImportFileError(
          'Request body is required: CSV with a header row (Content-Type: text/csv), or JSON {"users": [...]}',
        );
      }
      rows = typeof body === 'string' ? readCsvRows(body, size) : readJsonRows(body, size);
    } catch (err) {
      if (err instanceof ImportFileError) throw badRequest(err.message);
      throw err;
    }
    if (rows.length === 0) throw badRequest('The import has no rows');
    if (rows.length > size) {
      throw badRequest(
        `The import has more than ${size} rows: the extension range ${range.min} to ${range.max} holds ${size} numbers`,
      );
    }
    return rows;
  }

  /**
   * Locks the rows' own numbers (waiting for a create or import that holds one), then finds
   * those and the emails that existing users have: under the locks, no create can take a
   * number between this look and the insert.
   */
  private async checkAgainstDatabase(rows: CheckedRow[]): Promise<void> {
    const explicit = explicitNumbers(rows);
    await this.extensions.lockNumbers(explicit);
    const numbers = await this.extensions.takenNumbers(explicit);
    const emails = await this.repo.takenEmails(
      DEFAULT_TENANT_ID,
      rows.flatMap((r) => (r.emailKey === null ? [] : [r.emailKey])),
    );
    for (const r of rows) {
      if (r.emailKey !== null && emails.has(r.emailKey)) {
        r.errors.push({ field: 'email', message: `a user with email ${r.email} already exists` });
      }
      if (r.extension !== null && numbers.has(r.extension)) {
        r.errors.push({
          field: 'extension',
          message: `extension ${r.extension} is taken by an existing user`,
        });
      }
    }
  }

  /** Each row's number: its own, or the next of the lowest free ones, in file order. */
  private async allocate(rows: CheckedRow[]): Promise<number[]> {
    const range = this.config.extensionRange;
    const explicit = explicitNumbers(rows);
    const needed = rows.length - explicit.length;
    const claimed = await this.extensions.claimFreeNumbers(range, needed, explicit);
    if (claimed.length < needed) {
      const free = (await this.extensions.freeCount(range)) - explicit.length;
      throw new DomainError(
        'EXTENSION_POOL_EXHAUSTED',
        `Not enough free extensions: ${needed} rows have no extension of their own, but only ${free} numbers from ${range.min} to ${range.max} are free after the explicit ones; import fewer rows, delete users or widen EXTENSION_MIN..EXTENSION_MAX`,
      );
    }
    let next = 0;
    return rows.map((r) => r.extension ?? claimed[next++]);
  }

  private async create(rows: CheckedRow[], numbers: number[]): Promise<ImportResultDto> {
    const realm = this.config.sipRealm;
    const generated = rows.map((r) => (r.sipPassword === null ? generateSipPassword() : null));
    const users: UserToImport[] = rows.map((r, i) => ({
      name: r.name as string,
      email: r.email as string,
      extension: numbers[i],
      ...sipDigests(String(numbers[i]), realm, r.sipPassword ?? (generated[i] as string)),
    }));
    const inserted = await this.repo.insertUsers(DEFAULT_TENANT_ID, realm, users);
    const byNumber = new Map(inserted.map((u) => [u.extension, u]));
    return {
      created: inserted.length,
      users: rows.map((r, i) => {
        const u = byNumber.get(numbers[i]);
        if (!u) throw new Error(`import: no inserted row for extension ${numbers[i]}`);
        return {
          line: r.line,
          id: u.id,
          name: u.name,
          email: u.email,
          extension: u.extension,
          sipUsername: u.sipUsername,
          sipPassword: generated[i],
        };
      }),
    };
  }
}

/** A dry run's answer, thrown to roll its transaction back. */
class DryRunDone extends Error {
  constructor(readonly result: ImportDryRunResultDto) {
    super('dry run');
  }
}

/** The numbers as ascending runs of consecutive ones: [1000, 1001, 1002, 1100] -> 2 runs. */
export function runs(numbers: number[]): { from: number; to: number }[] {
  const out: { from: number; to: number }[] = [];
  for (const n of [...numbers].sort((a, b) => a - b)) {
    const last = out[out.length - 1];
    if (last && n === last.to + 1) last.to = n;
    else out.push({ from: n, to: n });
  }
  return out;
}

function explicitNumbers(rows: CheckedRow[]): number[] {
  return rows.flatMap((r) => (r.extension === null ? [] : [r.extension]));
}

function dryRunResult(rows: CheckedRow[], numbers: number[] | null): ImportDryRunResultDto {
  return {
    dryRun: true,
    valid: numbers !== null,
    created: 0,
    rows: rows.map((r, i) => ({
      line: r.line,
      name: r.name,
      email: r.email,
      extension: numbers ? numbers[i] : r.extension,
      errors: r.errors,
    })),
  };
}

function importInvalid(rows: CheckedRow[]): DomainError {
  const invalid = rows.filter((r) => r.errors.length > 0);
  const named = invalid
    .slice(0, ROWS_IN_MESSAGE)
    .map((r) => `line ${r.line}: ${r.errors.map((e) => e.message).join(', ')}`);
  const more =
    invalid.length > ROWS_IN_MESSAGE ? `; and ${invalid.length - ROWS_IN_MESSAGE} more` : '';
  return new DomainError(
    'IMPORT_INVALID',
    `${invalid.length} of ${rows.length} rows are invalid, nothing was imported: ${named.join('; ')}${more}`,
    { rows: invalid.map((r) => ({ line: r.line, errors: r.errors })) },
  );
}
