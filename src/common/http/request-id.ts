import type { NextFunction, Request, Response } from 'express';
import { randomUUID } from 'node:crypto';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Runs before anything else (body parsing included), so every answer, even a 413 or a
 * malformed-JSON 400, carries an id. The caller's X-Request-Id is kept when it is sane.
 */
export function assignRequestId(req: Request, res: Response, next: NextFunction): void {
  requestIdOf(req, res);
  next();
}

/**
 * The request's id, assigned now if no middleware did (an error body always names one, as
 * the OpenAPI document promises).
 */
export function requestIdOf(req: Request, res: Response): string {
  const own = (req as Request & { id?: unknown }).id;
  if (typeof own === 'string') return own;
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
  (req as Request & { id?: string }).id = id;
  if (!res.headersSent) res.setHeader('X-Request-Id', id);
  return id;
}
