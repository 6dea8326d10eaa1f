import type { NextFunction, Request, Response } from 'express';
import { badRequest, unsupportedMediaType } from '../errors/domain-errors';
import { shapeProblem } from '../validation/object-shape';

export const BODY_LIMIT = '16kb';
export const NOT_JSON = 'Request body must be JSON (Content-Type: application/json)';
export const NOT_AN_OBJECT = 'Request body must be a JSON object';
export const NOT_CSV_OR_JSON =
  'Request body must be CSV (Content-Type: text/csv) or JSON (Content-Type: application/json)';

/**
 * POST /users/import takes up to 2,000 rows, the only body above 16 KB. A row at its largest
 * as JSON: name 100 code points of up to 4 UTF-8 bytes (400), email 254, a 128-character
 * password with every character escaped (256), extension and sipUsername (5 + 7), createdAt
 * (26), keys and punctuation (85): about 1,035 bytes; as CSV a little less. 2,000 rows of
 * 1,100 bytes leave room for the header and spaces.
 */
export const IMPORT_BODY_LIMIT = 2_000 * 1_100;

/** The import route, as Express matches it (case-insensitive, an optional trailing slash). */
const IMPORT_PATH = /^\/users\/import\/?$/i;
export const isImportPost = (req: Request): boolean =>
  req.method === 'POST' && IMPORT_PATH.test(req.path);
export const isImportJson = (req: Request): boolean =>
  isImportPost(req) && req.is('application/json') !== false;
export const isImportCsv = (req: Request): boolean =>
  isImportPost(req) && req.is('text/csv') !== false;

/*
 * Only POST and PATCH routes take a body here. Other methods' bodies are not read (RFC 9110 gives a
 * GET or DELETE body no meaning), so those routes answer as documented whatever is attached.
 */

/**
 * A chunked body or a Content-Length above 0. Unlike type-is, an empty body is none, whatever
 * its type: fetch sends Content-Length 0 on a POST without a body.
 */
const hasBody = (req: Request): boolean =>
  req.headers['transfer-encoding'] !== undefined ||
  (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');

const takesBody = (req: Request): boolean => req.method === 'POST' || req.method === 'PATCH';

/** The requests the 16 KB JSON parser reads: a POST or PATCH whose body says it is JSON. */
export const isJsonPost = (req: Request): boolean =>
  takesBody(req) && !isImportPost(req) && req.is('application/json') !== false;

/**
 * A POST or PATCH body that is not JSON (form-encoded, text/plain, none declared) gets 415 before it
 * is read, instead of every field error as if the body were empty.
 */
export function requireJsonBody(req: Request, _res: Response, next: NextFunction): void {
  if (isImportPost(req)) {
    const refused = hasBody(req) && !isImportJson(req) && !isImportCsv(req);
    return next(refused ? unsupportedMediaType(NOT_CSV_OR_JSON) : undefined);
  }
  const refused = takesBody(req) && hasBody(req) && !isJsonPost(req);
  next(refused ? unsupportedMediaType(NOT_JSON) : undefined);
}

/**
 * After parsing: the body is an object (the parser accepts any JSON value, so `null`,
 * `"str"` and `[]` get this one message), and nothing in it would choke validation.
 */
export function checkBodyShape(req: Request, _res: Response, next: NextFunction): void {
  const body: unknown = req.body;
  // A CSV import arrives as text, read row by row by the import itself.
  if (body === undefined || (typeof body === 'string' && isImportCsv(req))) return next();
  const isObject = body !== null && typeof body === 'object' && !Array.isArray(body);
  const problem = isObject ? shapeProblem(body) : NOT_AN_OBJECT;
  next(problem ? badRequest(problem) : undefined);
}

/**
 * body-parser's syntax error carries JSON.parse's own words ("Expected double-quoted property
 * name in JSON at position 12"): the answer says the body is not valid JSON, and where, as an
 * editor counts lines and columns. Registered right after the JSON parsers.
 */
export function explainInvalidJson(
  err: unknown,
  _req: Request,
  _res: Response,
  next: NextFunction,
): void {
  const parseFailed = (err as { type?: unknown } | null)?.type === 'entity.parse.failed';
  if (!(err instanceof SyntaxError) || !parseFailed) return next(err);
  const text: unknown = (err as { body?: unknown }).body;
  next(badRequest(invalidJsonMessage(err.message, typeof text === 'string' ? text : '')));
}

export function invalidJsonMessage(parserMessage: string, text: string): string {
  const position = /at position (\d+)/.exec(parserMessage);
  if (position) {
    const before = text.slice(0, Number(position[1])).split('\n');
    return `Request body is not valid JSON (line ${before.length}, column ${before[before.length - 1].length + 1})`;
  }
  if (/end of (JSON )?input/i.test(parserMessage)) {
    return 'Request body is not valid JSON: it ends before the JSON value does';
  }
  return 'Request body is not valid JSON';
}
