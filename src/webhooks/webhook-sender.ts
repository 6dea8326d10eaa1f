import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { AllowedNetworks } from './address-rules';
import { resolveAllowed } from './url-rules';

/** A receiver that has not answered in this long has failed the attempt. */
export const DELIVERY_TIMEOUT_MS = 15_000;
/** An idle kept-alive connection is closed after this long (or sooner, if the receiver says). */
const IDLE_SOCKET_MS = 4_000;
/** An address's agent unused for this long is dropped with its connections. */
const AGENT_UNUSED_MS = 60_000;

export type SendResult = { status: number } | { error: string };

export interface SignedRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
}

interface PooledAgent {
  agent: http.Agent;
  lastUsed: number;
}

/**
 * Posts signed deliveries. The host is resolved at each delivery, and every address is
 * checked; the socket then goes to the very address that was checked (the `lookup` below
 * answers with it), so a DNS answer that changes between check and connect cannot send it
 * elsewhere. Connections are kept alive between deliveries, in one pool per checked address:
 * a kept connection is only ever reused for a delivery whose fresh check gave that same
 * address. Redirects are not followed: the caller counts a 3xx as a failed attempt.
 */
export class WebhookSender {
  private readonly agents = new Map<string, PooledAgent>();
  private lastSweep = Date.now();

  constructor(
    private readonly allowed: AllowedNetworks,
    private readonly maxSocketsPerAddress: number,
    private readonly timeoutMs = DELIVERY_TIMEOUT_MS,
  ) {}

  async send(request: SignedRequest, signal: AbortSignal): Promise<SendResult> {
    const url = new URL(request.url);
    const deadline = Date.now() + this.timeoutMs;
    // The 15 s cover the DNS answer too: a slow resolver must not outlive the delivery's lease.
    let dnsTimer: NodeJS.Timeout | undefined;
    const resolved = await Promise.race([
      resolveAllowed(url, this.allowed),
      new Promise<{ timedOut: true }>((resolve) => {
        dnsTimer = setTimeout(() => resolve({ timedOut: true }), this.timeoutMs);
      }),
    ]).finally(() => clearTimeout(dnsTimer));
    if ('timedOut' in resolved) {
      return { error: `no answer within ${this.timeoutMs / 1000} s (resolving ${url.hostname})` };
    }
    if ('refused' in resolved) return { error: `refused: ${resolved.refused}` };
    const agent = this.agentFor(url.protocol, resolved.address);
    const pinned: LookupFunction = (_host, options, callback) => {
      if (options.all) {
        callback(null, [{ address: resolved.address, family: resolved.family }]);
      } else {
        callback(null, resolved.address, resolved.family);
      }
    };
    const first = await post(url, request, agent, pinned, deadline, this.timeoutMs, signal);
    // A kept connection the receiver closed just as it was reused: once more, on a new one
    // (the pattern Node's documentation gives for request.reusedSocket).
    if (!('stale' in first)) return first;
    const second = await post(url, request, agent, pinned, deadline, this.timeoutMs, signal);
    return 'stale' in second ? { error: 'ECONNRESET: the receiver closed the connection' } : second;
  }

  /** Closes every kept connection (the worker is stopping). */
  close(): void {
    for (const { agent } of this.agents.values()) agent.destroy();
    this.agents.clear();
  }

  private agentFor(protocol: string, address: string): http.Agent {
    const now = Date.now();
    if (now - this.lastSweep > AGENT_UNUSED_MS) {
      this.lastSweep = now;
      // Longer unused than any delivery lasts: none of its sockets is in use.
      for (const [key, pooled] of this.agents) {
        if (now - pooled.lastUsed > AGENT_UNUSED_MS) {
          pooled.agent.destroy();
          this.agents.delete(key);
        }
      }
    }
    const key = `${protocol}${address}`;
    let pooled = this.agents.get(key);
    if (!pooled) {
      const options: http.AgentOptions = {
        keepAlive: true,
        maxSockets: this.maxSocketsPerAddress,
        timeout: IDLE_SOCKET_MS,
      };
      pooled = {
        agent: protocol === 'https:' ? new https.Agent(options) : new http.Agent(options),
        lastUsed: now,
      };
      this.agents.set(key, pooled);
    }
    pooled.lastUsed = now;
    return pooled.agent;
  }
}

type Attempt = SendResult | { stale: true };

function post(
  url: URL,
  request: SignedRequest,
  agent: http.Agent,
  lookup: LookupFunction,
  deadline: number,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Attempt> {
  // Stopped already (an abort listener added now would never hear it): nothing is sent.
  if (signal.aborted) return Promise.resolve({ error: 'the portal stopped before the delivery' });
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<Attempt>((resolve) => {
    let settled = false;
    const done = (result: Attempt): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      resolve(result);
    };
    const req = client.request(
      url,
      {
        method: 'POST',
        lookup,
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(request.body)),
          'user-agent': 'synergycall-portal-webhooks',
          ...request.headers,
        },
      },
      (res) => {
        // The body is not read for anything: drain it so the connection can be reused.
        res.resume();
        done({ status: res.statusCode ?? 0 });
        res.on('error', () => undefined);
      },
    );
    // Runs until the exchange is over, the response's body included: a receiver that never
    // ends its body would otherwise hold a pooled connection for ever.
    const timer = setTimeout(
      () => {
        done({ error: `no answer within ${timeoutMs / 1000} s` });
        req.destroy();
      },
      Math.max(0, deadline - Date.now()),
    );
    req.on('close', () => clearTimeout(timer));
    const onAbort = (): void => {
      done({ error: 'the portal stopped during the delivery' });
      req.destroy();
    };
    signal.addEventListener('abort', onAbort);
    req.on('error', (err: NodeJS.ErrnoException) => {
      done(
        req.reusedSocket && err.code === 'ECONNRESET'
          ? { stale: true }
          : { error: describeError(err) },
      );
    });
    req.end(request.body);
  });
}

/** The error without the URL's query string (a receiver may put a token there). */
function describeError(err: NodeJS.ErrnoException): string {
  const text = err.code ? `${err.code}${err.message ? `: ${err.message}` : ''}` : err.message;
  return text.slice(0, 400);
}
