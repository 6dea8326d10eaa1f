import { createHash, randomBytes } from 'node:crypto';

/** Every key starts with this, so a leaked one is easy to find in logs and by code scanners. */
export const KEY_PREFIX = 'scp_';
/** 256 bits from the CSPRNG. */
const KEY_BYTES = 32;
/** How many characters after `scp_` the `prefix` field repeats. */
export const PREFIX_LENGTH = 8;
/** `scp_` and the base64url of 32 bytes (43 characters, no padding). */
export const KEY_PATTERN = /^scp_[A-Za-z0-9_-]{43}$/;

export interface NewApiKey {
  key: string;
  prefix: string;
  hash: string;
}

/**
 * SHA-256 of the key, hex. A fast hash is right here, unlike for passwords: the key is 256
 * random bits, so there is no dictionary to try and a brute force of 2^256 is out of reach
 * however fast each guess is; a slow hash would only slow down every authenticated request.
 */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** A new key: `scp_` + base64url(32 random bytes); `prefix` is its 8 characters after `scp_`. */
export function generateApiKey(): NewApiKey {
  const key = KEY_PREFIX + randomBytes(KEY_BYTES).toString('base64url');
  return {
    key,
    prefix: key.slice(KEY_PREFIX.length, KEY_PREFIX.length + PREFIX_LENGTH),
    hash: hashApiKey(key),
  };
}
