import autocannon from 'autocannon';

/** Latencies in milliseconds, summarised the same way for the portal and its floors. */
export interface Summary {
  n: number;
  p50_ms: number;
  p99_ms: number;
  /** Completed per second of wall time; null for figures that are not a stream of calls. */
  rps: number | null;
}

export const round = (value: number, digits = 2): number => Number(value.toFixed(digits));

/** Nearest-rank percentiles: always an observed sample (with N=20, p99 is the slowest). */
export function summarize(samples: readonly number[], wallMs?: number): Summary {
  if (samples.length === 0) throw new Error('no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number): number => sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1];
  return {
    n: sorted.length,
    p50_ms: round(at(50)),
    p99_ms: round(at(99)),
    rps: wallMs ? round((sorted.length * 1000) / wallMs, 1) : null,
  };
}

/** With `node --expose-gc` (the bench script sets it): one phase's garbage stays out of the next. */
export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/**
 * `n` calls of `fn` from `workers` loops sharing one counter (like `n` requests over `workers`
 * connections; 1 worker: one after another), after `warmUp` untimed calls.
 */
export async function time(
  n: number,
  workers: number,
  fn: (i: number, worker: number) => unknown,
  warmUp = 0,
): Promise<Summary> {
  for (let i = 0; i < warmUp; i++) await fn(-1 - i, 0);
  collectGarbage();
  const samples: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      for (let i = next++; i < n; i = next++) {
        const s = performance.now();
        await fn(i, w);
        samples.push(performance.now() - s);
      }
    }),
  );
  return summarize(samples, performance.now() - t0);
}

export interface LoadOptions {
  url: string;
  token?: string;
  method?: 'GET' | 'POST' | 'DELETE';
  path: string;
  connections: number;
  amount: number;
  /** Every response must have it; anything else fails the run. */
  expectStatus: number;
  /** Per request: its path and body, so each can be unique (emails, ids). */
  next?: (i: number) => { path?: string; body?: string };
}

/**
 * autocannon in this process. The latencies are its per-response times, unrounded (its own
 * histogram rounds to whole milliseconds, too coarse for the floors).
 */
export async function load(o: LoadOptions): Promise<Summary> {
  const { samples, wallMs } = await loadSamples(o);
  return summarize(samples, wallMs);
}

/** `load` without the summary: blocks run apart can be pooled into one figure. */
export async function loadSamples(
  o: LoadOptions,
): Promise<{ samples: number[]; wallMs: number; lastDoneAt: number }> {
  collectGarbage();
  const samples: number[] = [];
  const statuses: Record<number, number> = {};
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  let counter = 0;
  // First request sent to last response: autocannon itself stops on a one-second tick.
  let firstSent = Number.POSITIVE_INFINITY;
  let lastDone = 0;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: o.url,
        connections: o.connections,
        amount: o.amount,
        timeout: 30,
        bailout: 1,
        requests: [
          {
            method: o.method ?? 'GET',
            path: o.path,
            headers,
            setupRequest: (req) => (o.next ? { ...req, ...o.next(counter++) } : req),
          },
        ],
      },
      (err: Error | null, res: autocannon.Result) => (err ? reject(err) : resolve(res)),
    );
    instance.on('response', (_client, status, _bytes, ms) => {
      const now = performance.now();
      firstSent = Math.min(firstSent, now - ms);
      lastDone = now;
      samples.push(ms);
      statuses[status] = (statuses[status] ?? 0) + 1;
    });
  });
  const ok = statuses[o.expectStatus] ?? 0;
  if (result.errors || result.timeouts || ok !== o.amount || samples.length !== o.amount) {
    throw new Error(
      `${o.method ?? 'GET'} ${o.path}: ${ok}/${o.amount} answered ${o.expectStatus}, ` +
        `${result.errors} errors, ${result.timeouts} timeouts, statuses ${JSON.stringify(statuses)}`,
    );
  }
  // lastDoneAt as epoch ms: autocannon returns up to a second after the last response.
  return { samples, wallMs: lastDone - firstSent, lastDoneAt: performance.timeOrigin + lastDone };
}
