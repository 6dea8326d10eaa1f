import { randomBytes } from 'node:crypto';

// No name here can match Asterisk's `*.conf` include glob, so a leftover is never loaded.
export const tempName = (name: string): string =>
  `.${name.replace(/^\./, '')}.${randomBytes(6).toString('hex')}.tmp`;

/** Temp files of the portal's own names, left by a write or a directory probe cut short. */
export const STALE_TEMP =
  /^\.(generated_(endpoints|routing)\.conf|synergycall-last-good\.json|synergycall-probe)\.[0-9a-f]{12}\.tmp$/;
