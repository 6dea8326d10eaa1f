import { Webhook } from 'standardwebhooks';
import type { components } from './generated/portal-api';

/** A webhook event as the portal sends it: the union of every event, told apart by `type`. */
export type WebhookEvent = components['schemas']['WebhookEvent'];

/** Headers as Node (`req.headers`), Express or fetch (`Headers`) give them. */
export type WebhookHeaders =
  { get(name: string): string | null } | Record<string, string | string[] | undefined>;

const HEADERS = ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const;

function pickHeaders(headers: WebhookHeaders): Record<string, string> {
  const picked: Record<string, string> = {};
  const get =
    typeof headers.get === 'function'
      ? (name: string) => (headers as { get(name: string): string | null }).get(name)
      : (name: string) => {
          const record = headers as Record<string, string | string[] | undefined>;
          const key = Object.keys(record).find((k) => k.toLowerCase() === name);
          return key === undefined ? undefined : record[key];
        };
  for (const name of HEADERS) {
    const value = get(name);
    // A repeated signature header carries more signatures: the standard separates them by spaces.
    if (value !== null && value !== undefined)
      picked[name] = Array.isArray(value) ? value.join(' ') : value;
  }
  return picked;
}

/**
 * Checks a delivery's Standard Webhooks signature with the subscription's secret (`whsec_...`)
 * and returns its event. Throws when a header is missing, no signature matches (a wrong secret
 * or a changed body) or the timestamp is more than 5 minutes from now (a replay).
 *
 * `body` must be the raw request body: JSON parsed and serialized again may differ in a byte,
 * and the signature covers the bytes.
 */
export function verifyWebhook(
  secret: string,
  headers: WebhookHeaders,
  body: string | Uint8Array,
): WebhookEvent {
  // standardwebhooks takes a string or a Buffer, not any Uint8Array.
  const payload = typeof body === 'string' ? body : Buffer.from(body);
  const event = new Webhook(secret).verify(payload, pickHeaders(headers));
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new Error('webhook body is not an event object');
  }
  return event as WebhookEvent;
}
