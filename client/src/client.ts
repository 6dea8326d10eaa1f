import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { components, paths } from './generated/portal-api';

/** Every route of the portal, typed from its OpenAPI document. */
export type PortalClient = Client<paths>;

/** The body of every 4xx and 5xx the portal answers (but the 502 of a failed apply). */
export type PortalError = components['schemas']['ErrorResponseDto'];

export interface PortalClientOptions {
  /** Where the portal listens, e.g. `https://portal.internal:3000`. */
  baseUrl: string;
  /** An API key (`POST /api-keys`) with the scopes the service needs, or PORTAL_API_TOKEN. */
  apiKey: string;
  /** A fetch to use instead of the global one (a proxy agent, a test double). */
  fetch?: ClientOptions['fetch'];
}

/**
 * An openapi-fetch client of the portal: `client.POST('/users', { body })` resolves to
 * `{ data, error, response }`, with `error` typed as the documented error body.
 */
export function createPortalClient({ baseUrl, apiKey, fetch }: PortalClientOptions): PortalClient {
  if (!baseUrl) throw new Error('createPortalClient: baseUrl is required');
  if (!apiKey) throw new Error('createPortalClient: apiKey is required');
  return createClient<paths>({
    baseUrl,
    headers: { Authorization: `Bearer ${apiKey}` },
    ...(fetch ? { fetch } : {}),
  });
}
