import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { AllowedNetworks } from './address-rules';
import { resolveAllowed } from './url-rules';

/** A receiver that has not answered in this long has failed the attempt. */
export const DELIVERY_TIMEOUT_MS = 15_000;

export type SendResult = { status: number } | { error: string };

export interface SignedRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
}

/**
 * Posts one signed delivery. The host is resolved here, at each delivery, and every address is
 * checked; the socket then connects to the very address that was checked (the `lookup` below
 * answers with it), so a DNS answer that changes between check and connect cannot send it
 * elsewhere. Redirects are not followed: the caller counts a 3xx as a failed attempt.
 */
export async function sendDelivery(
  request: SignedRequest,
  allowed: AllowedNetworks,
  signal: AbortSignal,
): Promise<SendResult> {
  const url = new URL(request.url);
  const deadline = Date.now() + DELIVERY_TIMEOUT_MS;
  // The 15 s cover the DNS answer too: a slow resolver must not outlive the delivery's lease.
  const resolved = await Promise.race([
    resolveAllowed(url, allowed),
    new Promise<{ timedOut: true }>((resolve) => {
      setTimeout(() => resolve({ timedOut: true }), DELIVERY_TIMEOUT_MS).unref();
    }),
  ]);
  if ('timedOut' in resolved) {
    return {
      error: `no answer within ${DELIVERY_TIMEOUT_MS / 1000} s (resolving ${url.hostname})`,
    };
  }
  if ('refused' in resolved) return { error: `refused: ${resolved.refused}` };
  const pinned: LookupFunction = (_host, options, callback) => {
    if (options.all) {
      callback(null, [{ address: resolved.address, family: resolved.family }]);
    } else {
      callback(null, resolved.address, resolved.family);
    }
  };
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<SendResult>((resolve) => {
    let settled = false;
    const done = (result: SendResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(result);
    };
    const req = client.request(
      url,
      {
        method: 'POST',
        lookup: pinned,
        headers: {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(request.body)),
          'user-agent': 'synergycall-portal-webhooks',
          ...request.headers,
        },
        // No keep-alive between deliveries: each one resolves and checks its address again.
        agent: false,
      },
      (res) => {
        // The body is not read for anything: drain it so the socket closes.
        res.resume();
        done({ status: res.statusCode ?? 0 });
        res.on('error', () => undefined);
      },
    );
    const timer = setTimeout(
      () => {
        done({ error: `no answer within ${DELIVERY_TIMEOUT_MS / 1000} s` });
        req.destroy();
      },
      Math.max(0, deadline - Date.now()),
    );
    const onAbort = (): void => {
      done({ error: 'the portal stopped during the delivery' });
      req.destroy();
    };
    signal.addEventListener('abort', onAbort);
    req.on('error', (err: NodeJS.ErrnoException) => {
      done({ error: describeError(err) });
    });
    req.end(request.body);
  });
}

/** The error without the URL's query string (a receiver may put a token there). */
function describeError(err: NodeJS.ErrnoException): string {
  const text = err.code ? `${err.code}${err.message ? `: ${err.message}` : ''}` : err.message;
  return text.slice(0, 400);
}
