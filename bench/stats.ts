/** Latency samples in milliseconds, summarised the same way for the portal and its floors. */
export interface Summary {
  p50_ms: number;
  p99_ms: number;
  rps: number;
  n: number;
}

/** Nearest-rank percentile: an observed sample, never an interpolation between two. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new Error('percentile of no samples');
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function summarize(samples: readonly number[], wallMs: number): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50_ms: round(percentile(sorted, 50)),
    p99_ms: round(percentile(sorted, 99)),
    rps: round(wallMs > 0 ? (samples.length * 1000) / wallMs : 0, 1),
    n: samples.length,
  };
}

export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Times `fn` `n` times back to back; a warm-up run first so JIT and caches are not measured. */
export async function timeSequential(
  n: number,
  fn: (i: number) => unknown,
  warmup = Math.min(20, Math.ceil(n / 10)),
): Promise<Summary> {
  for (let i = 0; i < warmup; i++) await fn(-1 - i);
  collectGarbage();
  const samples: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    await fn(i);
    samples.push(performance.now() - s);
  }
  return summarize(samples, performance.now() - t0);
}

/**
 * Runs `n` calls of `fn` from `workers` concurrent loops sharing one counter, like `n` requests
 * over `workers` connections.
 */
export async function timeConcurrent(
  n: number,
  workers: number,
  fn: (i: number, worker: number) => Promise<unknown>,
): Promise<Summary> {
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

/** Available with `node --expose-gc` (the bench script sets it): keeps one phase's garbage out of the next. */
export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}
