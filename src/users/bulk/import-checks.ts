import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { fieldProblems } from '../../common/validation/validation-messages';
import { ImportUserRowDto } from './dto/import-user-row.dto';
import type { RawRow, RowError } from './import-rows';

/** A row after the checks that need no database; `errors` grows with the database's. */
export interface CheckedRow {
  line: number;
  /** Trimmed, as it would be stored; null when not a string. */
  name: string | null;
  email: string | null;
  /** Lowercased, when the email is valid: what uniqueness compares. */
  emailKey: string | null;
  /** The row's own number, when it gave a valid one. */
  extension: number | null;
  sipPassword: string | null;
  errors: RowError[];
}

/**
 * Validates each row as POST /users validates its body (the same DTO rules and messages,
 * with the global pipe's whitelist options), then the import's own fields, then what rows
 * must not share: an email (compared case-insensitively) or an extension.
 */
export async function checkRows(
  rows: RawRow[],
  range: { min: number; max: number },
): Promise<CheckedRow[]> {
  const checked: CheckedRow[] = [];
  for (const row of rows) checked.push(await checkRow(row, range));
  sharedValues(
    checked,
    (r) => r.emailKey,
    (r, lines) => ({
      field: 'email',
      message: `email ${r.email ?? ''} is also on line${lines}`,
    }),
  );
  sharedValues(
    checked,
    (r) => r.extension,
    (r, lines) => ({
      field: 'extension',
      message: `extension ${r.extension ?? ''} is also on line${lines}`,
    }),
  );
  return checked;
}

async function checkRow(row: RawRow, range: { min: number; max: number }): Promise<CheckedRow> {
  const empty: CheckedRow = {
    line: row.line,
    name: null,
    email: null,
    emailKey: null,
    extension: null,
    sipPassword: null,
    errors: [],
  };
  if (row.unreadable) return { ...empty, errors: [row.unreadable] };
  const fields = row.fields;
  if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) {
    return { ...empty, errors: [{ field: 'row', message: 'row must be a JSON object' }] };
  }
  const dto = plainToInstance(ImportUserRowDto, fields);
  const errors = fieldProblems(
    await validate(dto, { whitelist: true, forbidNonWhitelisted: true }),
  );
  const failed = (field: string): boolean => errors.some((e) => e.field === field);

  let extension: number | null = null;
  const given = dto.extension;
  if (given !== undefined && given !== null) {
    const ok =
      typeof given === 'number' &&
      Number.isSafeInteger(given) &&
      given >= range.min &&
      given <= range.max;
    if (ok) extension = given;
    else {
      errors.push({
        field: 'extension',
        message: `extension must be an integer from ${range.min} to ${range.max}`,
      });
    }
  }
  const sipUsername = dto.sipUsername;
  if (typeof sipUsername === 'string' && !failed('extension')) {
    if (extension === null) {
      errors.push({
        field: 'sipUsername',
        message:
          'sipUsername is the extension number: give extension too, or leave sipUsername out',
      });
    } else if (sipUsername.trim() !== String(extension)) {
      errors.push({
        field: 'sipUsername',
        message: `sipUsername must equal extension (${extension})`,
      });
    }
  }
  const name = typeof dto.name === 'string' ? dto.name : null;
  const email = typeof dto.email === 'string' ? dto.email : null;
  return {
    line: row.line,
    name,
    email,
    emailKey: email !== null && !failed('email') ? email.toLowerCase() : null,
    extension,
    sipPassword:
      typeof dto.sipPassword === 'string' && !failed('sipPassword') ? dto.sipPassword : null,
    errors,
  };
}

/** How many other lines a shared-value message names; a file of one email repeated stays small. */
const LINES_NAMED = 5;

/** Gives every row that shares a value with another an error naming the other lines. */
function sharedValues<K>(
  rows: CheckedRow[],
  key: (r: CheckedRow) => K | null,
  problem: (r: CheckedRow, lines: string) => RowError,
): void {
  const byKey = new Map<K, CheckedRow[]>();
  for (const r of rows) {
    const k = key(r);
    if (k === null) continue;
    const group = byKey.get(k);
    if (group) group.push(r);
    else byKey.set(k, [r]);
  }
  for (const group of byKey.values()) {
    if (group.length < 2) continue;
    for (const r of group) {
      const others = [];
      for (const o of group) {
        if (o === r) continue;
        if (others.length === LINES_NAMED) break;
        others.push(o.line);
      }
      const more = group.length - 1 - others.length;
      const lines = `${others.length > 1 ? 's' : ''} ${others.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
      r.errors.push(problem(r, lines));
    }
  }
}
