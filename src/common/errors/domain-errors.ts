/** Failures the API reports on purpose; the exception filter maps each code to one status. */
export type DomainErrorCode =
  | 'USER_NOT_FOUND'
  | 'API_KEY_NOT_FOUND'
  | 'DUPLICATE_EMAIL'
  | 'EXTENSION_POOL_EXHAUSTED'
  | 'APPLY_FAILED'
  | 'IMPORT_INVALID'
  | 'DATABASE_UNAVAILABLE'
  | 'ASTERISK_UNAVAILABLE';

export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
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

/** A read that needs Asterisk's answer (a registration filter) got none. */
export const asteriskUnavailable = (reason: string): DomainError =>
  new DomainError(
    'ASTERISK_UNAVAILABLE',
    `Asterisk did not answer, so the registration filter cannot be applied: ${reason}`,
  );
