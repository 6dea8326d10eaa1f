import fc from 'fast-check';
import http from 'node:http';
import request from 'supertest';
import { ContractChecker } from './contract';

/**
 * What the fuzz and abuse suites share: the one check of an error body, the one runner that
 * sends a generated request and checks what holds for every answer, and the raw client for
 * what supertest cannot send.
 */

/** Anything in an answer that would tell a caller how the portal is built. */
export const INTERNALS =
  /at \S+ \(|\.ts:\d+|\.js:\d+|node_modules|SELECT |INSERT |DELETE FROM|QueryFailedError|duplicate key/;

/** The fuzz seed: FUZZ_SEED=<seed> reproduces a run, otherwise one per run. */
export const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2 ** 31;

/** What any check here needs of an answer; supertest's Response and rawRequest's have it. */
export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/**
 * The README's error body: {statusCode, error, message} with a non-empty message, and no
 * stack trace, source path or SQL. Returns the rules an answer breaks; none for a 2xx or 3xx.
 */
export function errorBodyProblems(res: Answer): string[] {
  if (res.status < 400) return [];
  const problems: string[] = [];
  let b: Record<string, unknown> | undefined;
  try {
    b = JSON.parse(res.text) as Record<string, unknown>;
  } catch {
    b = undefined;
  }
  if (
    !b ||
    b.statusCode !== res.status ||
    typeof b.error !== 'string' ||
    typeof b.message !== 'string' ||
    b.message === ''
  ) {
    problems.push('error body is not {statusCode, error, message}');
  }
  if (INTERNALS.test(res.text)) problems.push('error body shows internals');
  return problems;
}

/**
 * The error answers one test received, each checked with errorBodyProblems: a test collects
 * its own and checks them at its end, so no test depends on another having run.
 */
export class ErrorBodies {
  private readonly seen: { label: string; status: number; problems: string[] }[] = [];

  collect<T extends Answer>(label: string, res: T): T {
    if (res.status >= 400) {
      this.seen.push({ label, status: res.status, problems: errorBodyProblems(res) });
    }
    return res;
  }

  /** Every collected body is clean, and the collection holds each of these statuses. */
  expectClean(statuses: number[]): void {
    const got = new Set(this.seen.map((e) => e.status));
    // The collection must hold what the test set out to provoke, or it checked nothing.
    expect(statuses.filter((s) => !got.has(s))).toEqual([]);
    expect(this.seen.filter((e) => e.problems.length > 0)).toEqual([]);
  }
}

/**
 * A request through node:http, for what supertest cannot send: a chunked body without
 * Content-Length, exact bytes, or a chosen source address.
 */
export function rawRequest(
  baseUrl: string,
  options: {
    method: string;
    path: string;
    headers?: Record<string, string>;
    chunks?: Buffer[];
    localAddress?: string;
  },
): Promise<Answer> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: hostname,
        port,
        method: options.method,
        path: options.path,
        headers: options.headers,
        localAddress: options.localAddress,
        agent: false,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    for (const c of options.chunks ?? []) req.write(c);
    req.end();
  });
}

/** Helmet's defaults, as the portal should send them on every answer. */
export function expectSecurityHeaders(res: Answer, where: string): void {
  const h = res.headers;
  expect({ where, poweredBy: h['x-powered-by'] }).toEqual({ where, poweredBy: undefined });
  expect({ where, h }).toMatchObject({
    where,
    h: {
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'SAMEORIGIN',
      'strict-transport-security': expect.stringMatching(/^max-age=\d{7,}/),
      'content-security-policy': expect.stringContaining("default-src 'self'"),
      'referrer-policy': 'no-referrer',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-resource-policy': 'same-origin',
      'x-dns-prefetch-control': 'off',
      'x-permitted-cross-domain-policies': 'none',
    },
  });
}

export interface RouteStat {
  sent: number;
  accepted: number;
  rejected: number;
  failed: number;
  statuses: Record<number, number>;
}

/**
 * Violations are collected rather than thrown, so one run reports every distinct problem
 * with examples instead of stopping at the first; each test then fails listing its route's.
 */
export class FuzzHarness<Route extends string> {
  private readonly violations = new Map<string, { count: number; examples: string[] }>();
  readonly stats: Record<string, RouteStat> = {};

  /** `contract` is read when a request is checked, so it may be set in beforeAll. */
  constructor(private readonly contract: () => ContractChecker) {}

  violation(route: Route, rule: string, input: unknown, res?: Answer): void {
    const key = `${route} | ${rule}`;
    const entry = this.violations.get(key) ?? { count: 0, examples: [] };
    entry.count++;
    if (entry.examples.length < 3) {
      const shown = typeof input === 'string' ? input : JSON.stringify(input);
      const answer = res ? ` -> ${res.status} ${res.text.slice(0, 200)}` : '';
      entry.examples.push(`${(shown ?? String(shown)).slice(0, 300)}${answer}`);
    }
    this.violations.set(key, entry);
  }

  /** The distinct problems of one route, with a count and the first few examples. */
  report(route: Route): string[] {
    return [...this.violations.entries()]
      .filter(([key]) => key.startsWith(`${route} |`))
      .map(([key, v]) => `${key} (x${v.count}), e.g.\n    ${v.examples.join('\n    ')}`);
  }

  stat(route: Route): RouteStat {
    this.stats[route] ??= { sent: 0, accepted: 0, rejected: 0, failed: 0, statuses: {} };
    return this.stats[route];
  }

  /**
   * Sends `req` with `auth` and checks what holds for every answer: inside the OpenAPI
   * document of `documented` (`''` for a path that may reach another route), no 5xx, the
   * error body, helmet's headers.
   */
  async send(
    route: Route,
    input: unknown,
    req: request.Test,
    {
      auth,
      kind,
      documented = route,
    }: { auth: string; kind?: string; documented?: string | false },
  ): Promise<request.Response> {
    const res = await req.set('Authorization', auth);
    if (documented) {
      const contract = this.contract();
      contract.check(documented.replace(':id', '{id}'), res);
      // One rule per status, so a run groups its examples instead of listing every answer.
      for (const problem of contract.problems.splice(0)) {
        this.violation(route, `answer outside the OpenAPI document (${res.status})`, {
          input,
          problem: problem.slice(0, 300),
        });
      }
    }
    const stat = this.stat(route);
    stat.sent++;
    stat.statuses[res.status] = (stat.statuses[res.status] ?? 0) + 1;
    if (res.status >= 500) {
      stat.failed++;
      this.violation(route, `5xx (${res.status})${kind ? ` on ${kind}` : ''}`, input, res);
    } else if (res.status >= 400) {
      stat.rejected++;
    } else {
      stat.accepted++;
    }
    for (const problem of errorBodyProblems(res)) this.violation(route, problem, input, res);
    if (res.headers['x-content-type-options'] !== 'nosniff') {
      this.violation(route, 'no helmet headers', input, res);
    }
    return res;
  }

  /** One line per route: what was sent and how it was answered. */
  summary(): string[] {
    return Object.entries(this.stats).map(
      ([route, s]) =>
        `${route.padEnd(30)} sent ${String(s.sent).padStart(5)}  2xx ${String(s.accepted).padStart(5)}  4xx ${String(s.rejected).padStart(5)}  5xx ${String(s.failed).padStart(4)}  ${JSON.stringify(s.statuses)}`,
    );
  }
}

/** Requests in flight at once: concurrency the app must take anyway, and a shorter run. */
export const BATCH = 8;

/** Runs `runs` generated cases, `batch` at a time, then `afterBatch` once per batch. */
export async function fuzzInBatches<T>(
  arb: fc.Arbitrary<T>,
  run: (c: T) => Promise<unknown>,
  {
    runs,
    seed = SEED,
    batch = BATCH,
    afterBatch,
  }: { runs: number; seed?: number; batch?: number; afterBatch?: () => Promise<void> },
): Promise<void> {
  await fc.assert(
    fc.asyncProperty(fc.array(arb, { minLength: batch, maxLength: batch }), async (cases) => {
      await Promise.all(cases.map(run));
      await afterBatch?.();
    }),
    { numRuns: runs / batch, seed },
  );
}

/**
 * A step of a suite's shared state that runs once, however many tests await it: a test
 * awaits the steps it needs instead of relying on earlier tests having run them.
 */
export function once<T>(step: () => Promise<T>): () => Promise<T> {
  let result: Promise<T> | undefined;
  return () => (result ??= step());
}
