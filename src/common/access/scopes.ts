/**
 * What an API key may do. Each route needs exactly one scope; the bootstrap token
 * (PORTAL_API_TOKEN) holds them all. metrics:read is the one beyond the five of the design:
 * with users:read a Prometheus key would read every name and email, with apply it could run
 * one, so a scraper's key gets this scope and nothing else. webhooks:admin manages the
 * subscriptions that receive every change as an event.
 */
export const SCOPES = [
  'users:read',
  'users:write',
  'apply',
  'audit:read',
  'keys:admin',
  'metrics:read',
  'webhooks:admin',
] as const;
export type Scope = (typeof SCOPES)[number];

export const isScope = (value: unknown): value is Scope =>
  typeof value === 'string' && (SCOPES as readonly string[]).includes(value);

/** The 403 message of a key that lacks `scope`. */
export const lacksScope = (scope: Scope): string => `this API key lacks the scope ${scope}`;
