import autocannon from 'autocannon';
import { collectGarbage, type Summary, summarize } from './stats';

export interface LoadOptions {
  title: string;
  url: string;
  token?: string;
  connections: number;
  amount: number;
  method?: 'GET' | 'POST' | 'DELETE';
  /** Status every response must have; anything else fails the phase. */
  expectStatus: number;
  /** Per request: path and body, so each request can be unique (emails, ids). */
  next?: (i: number) => { path?: string; body?: string };
  path?: string;
}

/**
 * Runs autocannon in this process against `url` and returns latencies it measured with
 * sub-millisecond precision: its own histogram rounds to whole milliseconds, too coarse
 * for floors that take a fraction of one.
 */
export async function load(o: LoadOptions): Promise<Summary> {
  collectGarbage();
  const samples: number[] = [];
  const statuses = new Map<number, number>();
  let counter = 0;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  // Wall time from the first request sent to the last response: autocannon notices that
  // `amount` is reached only on its next one-second tick, so its own duration rounds up.
  let firstSent = Number.POSITIVE_INFINITY;
  let lastDone = 0;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        title: o.title,
        url: o.url,
        connections: o.connections,
        amount: o.amount,
        timeout: 30,
        bailout: 1,
        requests: [
          {
            method: o.method ?? 'GET',
            path: o.path ?? '/',
            headers,
            setupRequest: (req) => {
              if (!o.next) return req;
              const { path, body } = o.next(counter++);
              return { ...req, ...(path ? { path } : {}), ...(body ? { body } : {}) };
            },
          },
        ],
      },
      (err: unknown, res: autocannon.Result) => (err ? reject(toError(err)) : resolve(res)),
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      const now = performance.now();
      firstSent = Math.min(firstSent, now - responseTime);
      lastDone = now;
      samples.push(responseTime);
      statuses.set(statusCode, (statuses.get(statusCode) ?? 0) + 1);
    });
  });
  const bad = [...statuses].filter(([s]) => s !== o.expectStatus);
  if (result.errors > 0 || result.timeouts > 0 || bad.length > 0 || samples.length !== o.amount) {
    throw new Error(
      `${o.title}: ${samples.length}/${o.amount} responses, ${result.errors} errors, ` +
        `${result.timeouts} timeouts, statuses ${JSON.stringify(Object.fromEntries(statuses))} ` +
        `(expected all ${o.expectStatus})`,
    );
  }
  return summarize(samples, lastDone - firstSent);
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
