import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ErrorResponseDto } from './error-response.dto';

/** The statuses answered with ErrorResponseDto (the 502 of POST /apply has its own body). */
export type ErrorStatus = 400 | 401 | 403 | 404 | 406 | 409 | 413 | 415 | 429 | 500 | 503;

/**
 * Every route that needs the token can answer these (the guard and the exception filter); the
 * 403 of a missing scope comes with @RequiresScope.
 */
export const TOKEN_ERRORS = {
  401: 'No Authorization header, one that is not "Bearer <token>", or a token that is neither PORTAL_API_TOKEN nor a live API key (unknown or revoked)',
  429: 'Too many failed authentications from this address: every request from it is refused until Retry-After seconds have passed',
  500: 'Unexpected error (INTERNAL_ERROR): the body carries only the request id; the details are in the log',
  503: 'The database is unreachable (DATABASE_UNAVAILABLE); try again shortly',
} as const;

/** Every POST route reads a JSON body, and can answer these about it. */
export const BODY_ERRORS = {
  413: 'Request body is larger than the 16 KB limit',
  415: 'Request body is not JSON (send Content-Type: application/json, UTF-8)',
} as const;

/** Documents each error status of a route with the error body and the route's own words. */
export function ApiErrorResponses(
  errors: Partial<Record<ErrorStatus, string>>,
): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...Object.entries(errors).map(([status, description]) =>
      ApiResponse({
        status: Number(status),
        description,
        type: ErrorResponseDto,
        ...(status === '429'
          ? {
              headers: {
                'Retry-After': {
                  description: 'Seconds until this address may try again',
                  schema: { type: 'integer', minimum: 1 },
                },
              },
            }
          : {}),
      }),
    ),
  );
}
