import { Injectable } from '@nestjs/common';
import { stringify } from 'csv-stringify/sync';
import { Readable } from 'node:stream';
import { DEFAULT_TENANT_ID } from '../../tenants/tenant.entity';
import { BulkRepository, EXPORT_PAGE_SIZE, ExportedUser } from './bulk.repository';
import { ExportedUserDto } from './dto/bulk.dto';

export type ExportFormat = 'csv' | 'json';
/** The export's columns, which the import reads back as they are. */
export const EXPORT_COLUMNS = ['name', 'email', 'extension', 'sipUsername', 'createdAt'] as const;

const toExported = (row: ExportedUser): ExportedUserDto => ({
  name: row.name,
  email: row.email,
  extension: row.extension,
  sipUsername: row.sipUsername,
  createdAt: row.createdAt.toISOString(),
});

/**
 * Every user as CSV or JSON, in extension order, streamed page by page (keyset pages of the
 * user table, never the table in memory). Each page is its own query: a user created during
 * an export appears when its number is past the pages already sent.
 */
@Injectable()
export class UserExportService {
  constructor(private readonly repo: BulkRepository) {}

  /**
   * Reads the first page before answering, so a database failure is an error status rather
   * than a cut-off 200; a later failure ends the stream with an error.
   */
  async export(format: ExportFormat): Promise<Readable> {
    const first = await this.repo.exportPage(DEFAULT_TENANT_ID, 0);
    const pages = this.pages(first);
    return Readable.from(format === 'csv' ? csvChunks(pages) : jsonChunks(pages), {
      objectMode: false,
    });
  }

  private async *pages(first: ExportedUser[]): AsyncGenerator<ExportedUserDto[]> {
    let page = first;
    while (page.length > 0) {
      yield page.map(toExported);
      if (page.length < EXPORT_PAGE_SIZE) return;
      page = await this.repo.exportPage(DEFAULT_TENANT_ID, page[page.length - 1].extension);
    }
  }
}

/**
 * RFC 4180 CSV by csv-stringify: fields with a comma, quote or line break are quoted. Cells
 * are not prefixed against spreadsheet formulas: that would change the data, and an export
 * must import back as it was (a name cannot start with = + or @; an email can).
 */
async function* csvChunks(pages: AsyncIterable<ExportedUserDto[]>): AsyncGenerator<string> {
  yield stringify([[...EXPORT_COLUMNS]]);
  for await (const page of pages) {
    yield stringify(page, { columns: [...EXPORT_COLUMNS] });
  }
}

async function* jsonChunks(pages: AsyncIterable<ExportedUserDto[]>): AsyncGenerator<string> {
  yield '{"users":[';
  let first = true;
  for await (const page of pages) {
    yield `${first ? '' : ','}${page.map((u) => JSON.stringify(u)).join(',')}`;
    first = false;
  }
  yield ']}\n';
}
