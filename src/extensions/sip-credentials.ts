import { createHash, randomInt } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** 24 base62 characters = 142 bits from the CSPRNG; nothing in it needs escaping anywhere. */
export const SIP_PASSWORD_LENGTH = 24;

export function generateSipPassword(): string {
  let out = '';
  // randomInt draws without modulo bias.
  for (let i = 0; i < SIP_PASSWORD_LENGTH; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

export interface SipDigests {
  md5Digest: string;
  sha256Digest: string;
}

/** The HA1 digests Asterisk's `password_digest` takes: HASH("user:realm:password"), hex. */
export function sipDigests(username: string, realm: string, password: string): SipDigests {
  const input = `${username}:${realm}:${password}`;
  return {
    md5Digest: createHash('md5').update(input, 'utf8').digest('hex'),
    sha256Digest: createHash('sha256').update(input, 'utf8').digest('hex'),
  };
}
