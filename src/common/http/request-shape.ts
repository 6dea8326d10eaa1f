import { BadRequestException } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';

/** Deeper than any request of this API; bounds the recursion of everything downstream. */
export const MAX_JSON_DEPTH = 16;

// Names that class-transformer and plain objects treat specially: never a field of ours.
const isPrototypeKey = (key: string): boolean =>
  key === '__proto__' || key === 'prototype' || key in Object.prototype;

function problemIn(value: unknown, depth: number): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  if (depth > MAX_JSON_DEPTH)
    return `request body is nested more than ${MAX_JSON_DEPTH} levels deep`;
  for (const key of Object.keys(value)) {
    if (!Array.isArray(value) && isPrototypeKey(key)) return `property ${key} should not exist`;
    const inner = problemIn((value as Record<string, unknown>)[key], depth + 1);
    if (inner) return inner;
  }
  return undefined;
}

/**
 * Rejects JSON bodies and query strings that validation would choke on: very deep nesting
 * (class-transformer recurses into it) and keys named after Object.prototype members (which
 * slip past the whitelist).
 */
export function checkRequestShape(req: Request, _res: Response, next: NextFunction): void {
  const problem = problemIn(req.body, 1) ?? problemIn(req.query, 1);
  next(problem ? new BadRequestException(problem) : undefined);
}
