import { CsvError, parse } from 'csv-parse/sync';

/**
 * The columns an import reads: the ones POST /users takes, an optional extension and SIP
 * password, and the export's own sipUsername and createdAt, so an export file imports as it is.
 */
export const IMPORT_COLUMNS = [
  'name',
  'email',
  'extension',
  'sipPassword',
  'sipUsername',
  'createdAt',
] as const;
export type ImportColumn = (typeof IMPORT_COLUMNS)[number];
const REQUIRED_COLUMNS: ImportColumn[] = ['name', 'email'];

/** What is wrong with one row: the column (or "row" for the row as a whole) and why. */
export interface RowError {
  field: string;
  message: string;
}

/** One row as read, before validation; `line` is what the admin sees in the file. */
export interface RawRow {
  line: number;
  fields: unknown;
  /** Found while reading, so the row is not validated further. */
  unreadable?: RowError;
}

/** A problem with the file as a whole (no row can be read): a plain 400. */
export class ImportFileError extends Error {}

/**
 * CSV rows with the line each starts on (the header is line 1; blank lines count, as an
 * editor shows them). `maxRows` bounds the work: reading stops one row past it, so the caller
 * can tell the file is too long without parsing it all. Empty cells are absent values, and an
 * extension of decimal digits becomes a number (a CSV cell is always text).
 */
export function readCsvRows(text: string, maxRows: number): RawRow[] {
  let records: { record: string[]; info: { lines: number; empty_lines: number } }[];
  try {
    records = parse(text, {
      bom: true,
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      // The header, the rows allowed, and one more to notice the file is too long.
      to: maxRows + 2,
    }) as unknown as typeof records;
  } catch (err) {
    // The sync build's own CsvError class (the main entry exports another).
    if (err instanceof CsvError) throw new ImportFileError(csvProblem(err));
    throw err;
  }
  if (records.length === 0) {
    throw new ImportFileError(`CSV has no header row: the first line must name the columns`);
  }
  const columns = headerColumns(records[0].record);
  const rows: RawRow[] = [];
  let lastLine = records[0].info.lines;
  let emptyLines = records[0].info.empty_lines;
  for (const { record, info } of records.slice(1)) {
    // info.lines is the line a record ends on; it starts after the previous one and the
    // blank lines skipped since.
    const line = lastLine + 1 + (info.empty_lines - emptyLines);
    lastLine = info.lines;
    emptyLines = info.empty_lines;
    if (record.length !== columns.length) {
      const fields = `${record.length} field${record.length === 1 ? '' : 's'}`;
      const message = `row has ${fields} but the header has ${columns.length}`;
      rows.push({ line, fields: {}, unreadable: { field: 'row', message } });
      continue;
    }
    const fields: Record<string, unknown> = {};
    columns.forEach((column, i) => {
      const cell = record[i];
      if (cell === '') return;
      fields[column] = column === 'extension' ? toInteger(cell.trim()) : cell;
    });
    rows.push({ line, fields });
  }
  return rows;
}

/** Header names matched after trimming and regardless of case; unknown or repeated ones refused. */
function headerColumns(header: string[]): ImportColumn[] {
  const known = new Map(IMPORT_COLUMNS.map((c) => [c.toLowerCase(), c]));
  const isKnown = (name: string): boolean => known.has(name.trim().toLowerCase());
  const columns: ImportColumn[] = [];
  const problems: string[] = [];
  // A spreadsheet saved with semicolons reads as one column (or as cells with `;` in them).
  const semicolons =
    (header.length === 1 && header[0].includes(';')) ||
    header.some((cell) => cell.split(';').length > 1 && cell.split(';').some(isKnown));
  const separatorProblem = `CSV header: the columns must be separated by commas, not semicolons (save the file as comma-separated CSV; the columns are ${IMPORT_COLUMNS.join(', ')})`;
  if (!header.some(isKnown)) {
    if (semicolons) throw new ImportFileError(separatorProblem);
    // Most likely a file without its header row: its first row is data, a password perhaps,
    // so none of it is repeated.
    throw new ImportFileError(
      `CSV header: the first line must name the columns (${IMPORT_COLUMNS.join(', ')}; name and email are required), and none of its ${header.length} cells is one of them`,
    );
  }
  for (const name of header) {
    const column = known.get(name.trim().toLowerCase());
    if (column === undefined) {
      problems.push(
        HEADER_LIKE.test(name.trim())
          ? `unknown column "${name.trim()}"`
          : 'an unknown column (not repeated: it does not look like a column name)',
      );
    } else if (columns.includes(column)) {
      problems.push(`column ${column} is given twice`);
    } else {
      columns.push(column);
    }
  }
  const missing = REQUIRED_COLUMNS.filter((c) => !columns.includes(c));
  if (missing.length > 0) problems.push(`the header has no ${missing.join(' or ')} column`);
  if (problems.length > 0 && semicolons) throw new ImportFileError(separatorProblem);
  if (problems.length > 0) {
    // A header of thousands of unknown names is told in a few.
    const told = [...new Set(problems)];
    const shown = told.length > 5 ? [...told.slice(0, 5), `${told.length - 5} more`] : told;
    throw new ImportFileError(
      `CSV header: ${shown.join('; ')} (the columns are ${IMPORT_COLUMNS.join(', ')}; name and email are required)`,
    );
  }
  return columns;
}

/**
 * JSON rows: `{"users": [...]}`, each row numbered by its place in the array from 1 (a
 * parsed body has no lines to count).
 */
export function readJsonRows(body: unknown, maxRows: number): RawRow[] {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ImportFileError('Request body must be a JSON object {"users": [...]}');
  }
  const extra = Object.keys(body).filter((k) => k !== 'users');
  if (extra.length > 0) {
    throw new ImportFileError(extra.map((k) => `property ${k} should not exist`).join('; '));
  }
  const users: unknown = (body as { users?: unknown }).users;
  if (users === undefined || users === null) throw new ImportFileError('users is required');
  if (!Array.isArray(users)) throw new ImportFileError('users must be an array of rows');
  return (users as unknown[]).slice(0, maxRows + 1).map((fields, i) => ({ line: i + 1, fields }));
}

/** Decimal digits only, as the query parameters read integers; anything else stays text. */
function toInteger(cell: string): number | string {
  return /^\d{1,9}$/.test(cell) ? Number(cell) : cell;
}

/** A header cell worth repeating in a message: a short name, never a value such as a password. */
const HEADER_LIKE = /^[A-Za-z][A-Za-z0-9_ ]{0,39}$/;

/**
 * csv-parse's own messages quote the cell they stopped at, which may be a password: the answer
 * says what is wrong and where, in its own words.
 */
function csvProblem(err: CsvError): string {
  const { lines } = err as CsvError & { lines?: number };
  const at = typeof lines === 'number' ? ` at line ${lines}` : '';
  const known: Partial<Record<CsvError['code'], string>> = {
    CSV_QUOTE_NOT_CLOSED: `a quoted field is never closed (the file ends${at})`,
    INVALID_OPENING_QUOTE: `a quote inside an unquoted field${at} (quote the whole field and double the quotes inside it)`,
    CSV_INVALID_CLOSING_QUOTE: `a quoted field goes on after its closing quote${at}`,
  };
  const problem = known[err.code];
  return problem ? `CSV could not be read: ${problem}` : `CSV could not be read${at} (${err.code})`;
}
