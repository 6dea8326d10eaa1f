/**
 * Every code an error body's `error` can carry. The exception filter maps each to its one
 * status, and the OpenAPI document lists them from here, so the two cannot drift apart.
 */
export const ERROR_CODES = [
  'BAD_REQUEST',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'NOT_ACCEPTABLE',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'TOO_MANY_REQUESTS',
  'USER_NOT_FOUND',
  'API_KEY_NOT_FOUND',
  'WEBHOOK_NOT_FOUND',
  'WEBHOOK_DELIVERY_NOT_FOUND',
  'WEBHOOK_URL_REFUSED',
  'DUPLICATE_EMAIL',
  'EXTENSION_POOL_EXHAUSTED',
  'IMPORT_INVALID',
  'APPLY_FAILED',
  'DATABASE_UNAVAILABLE',
  'ASTERISK_UNAVAILABLE',
  'INTERNAL_ERROR',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** Failures the API reports on purpose: a code, and words for a person. */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const userNotFound = (id: string): DomainError =>
  new DomainError('USER_NOT_FOUND', `No user with id ${id}`);

export const duplicateEmail = (email: string): DomainError =>
  new DomainError('DUPLICATE_EMAIL', `A user with email ${email} already exists`);

export const extensionPoolExhausted = (min: number, max: number): DomainError =>
  new DomainError(
    'EXTENSION_POOL_EXHAUSTED',
    `No free extension: every number from ${min} to ${max} is taken; delete a user or widen EXTENSION_MIN..EXTENSION_MAX`,
  );

export const apiKeyNotFound = (id: string): DomainError =>
  new DomainError('API_KEY_NOT_FOUND', `No API key with id ${id}`);

export const webhookNotFound = (id: string): DomainError =>
  new DomainError('WEBHOOK_NOT_FOUND', `No webhook with id ${id}`);

export const webhookDeliveryNotFound = (id: string): DomainError =>
  new DomainError('WEBHOOK_DELIVERY_NOT_FOUND', `No delivery with id ${id} for this webhook`);

/** A webhook URL the delivery rules refuse; `why` names the rule. */
export const webhookUrlRefused = (why: string): DomainError =>
  new DomainError('WEBHOOK_URL_REFUSED', `url is refused: ${why}`);

/** A read that needs Asterisk's answer (a registration filter) got none. */
export const asteriskUnavailable = (reason: string): DomainError =>
  new DomainError(
    'ASTERISK_UNAVAILABLE',
    `Asterisk did not answer, so the registration filter cannot be applied: ${reason}`,
  );

/** A request the route cannot take as it is (beyond what the validation pipe checks). */
export const badRequest = (message: string): DomainError => new DomainError('BAD_REQUEST', message);

/** No token, a malformed Authorization header, or a token nobody holds. */
export const unauthorized = (message: string): DomainError =>
  new DomainError('UNAUTHORIZED', message);

/** An API key without the scope, or a route no key may call. */
export const forbidden = (message: string): DomainError => new DomainError('FORBIDDEN', message);

/** The address failed to authenticate too often; the caller sets Retry-After. */
export const tooManyFailedAuthentications = (seconds: number): DomainError =>
  new DomainError(
    'TOO_MANY_REQUESTS',
    `Too many failed authentication attempts from this address; retry in ${seconds} s`,
  );

export const notAcceptable = (message: string): DomainError =>
  new DomainError('NOT_ACCEPTABLE', message);

export const unsupportedMediaType = (message: string): DomainError =>
  new DomainError('UNSUPPORTED_MEDIA_TYPE', message);
