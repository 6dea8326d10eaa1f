import { Injectable } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ApplyOutcome } from '../apply/entities/apply-audit-log.entity';

/** The route label of a request no route matched (or answered before routing: 413, 415). */
export const UNMATCHED_ROUTE = 'unmatched';

export type FinishedOutcome = Exclude<ApplyOutcome, 'running'>;
/** The audit log's outcomes: each series exists from the start, at 0. */
const APPLY_OUTCOMES: readonly FinishedOutcome[] = ['success', 'partial', 'failed', 'rolled_back'];

/**
 * The portal's Prometheus metrics, in a registry of its own per app instance (several apps in
 * one process, as in the tests, never share or collide). Modules push events here (requests,
 * applies) and register gauges that are computed only when scraped.
 */
@Injectable()
export class PortalMetrics {
  readonly registry = new Registry();

  private readonly requests = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP requests by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  private readonly applyDuration = new Histogram({
    name: 'portal_apply_duration_seconds',
    help: 'Duration of each apply, from start to its audit row closed, by outcome',
    labelNames: ['outcome'] as const,
    // A changed apply on a real Asterisk with 1,000 users takes about 0.3 s; timeouts take 15 s.
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });

  private readonly nodeApplyDuration = new Histogram({
    name: 'portal_apply_node_duration_seconds',
    help: "Duration of each node's part of an apply (connect to verified or rolled back), by node and outcome",
    labelNames: ['node', 'outcome'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });

  private readonly applies = new Counter({
    name: 'portal_applies_total',
    help: 'Applies finished, by the outcome their audit row records',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    for (const outcome of APPLY_OUTCOMES) {
      this.applies.inc({ outcome }, 0);
      this.applyDuration.zero({ outcome });
    }
  }

  /**
   * Times every request. The route label is the template Express matched (`/users/:id`),
   * never the path sent, so ids and junk paths cannot multiply the series.
   */
  readonly httpMiddleware = (req: Request, res: Response, next: NextFunction): void => {
    const end = this.requests.startTimer();
    res.once('finish', () => {
      end({ method: req.method, route: routeTemplate(req), status: String(res.statusCode) });
    });
    next();
  };

  applyFinished(outcome: FinishedOutcome, durationMs: number): void {
    this.applies.inc({ outcome });
    this.applyDuration.observe({ outcome }, durationMs / 1000);
  }

  nodeApplyFinished(node: string, outcome: string, durationMs: number): void {
    this.nodeApplyDuration.observe({ node, outcome }, durationMs / 1000);
  }

  /**
   * The exposition text. A metric that cannot be read now (a gauge on the database while it is
   * down) is left out, HELP and TYPE included, rather than failing the whole scrape: the
   * process and HTTP metrics, and `portal_database_up 0`, still reach Prometheus.
   */
  async render(): Promise<string> {
    const families = await Promise.all(
      this.registry
        .getMetricsAsArray()
        .map((m) => this.registry.getSingleMetricAsString(m.name).catch(() => null)),
    );
    return `${families.filter((f): f is string => f !== null).join('\n\n')}\n`;
  }

  /** A gauge `collect` sets at scrape time only: nothing is read when nobody scrapes. */
  scrapedGauge<L extends string>(
    config: { name: string; help: string; labelNames?: readonly L[] },
    collect: (gauge: Gauge<L>) => Promise<void>,
  ): Gauge<L> {
    return new Gauge<L>({
      ...config,
      registers: [this.registry],
      collect() {
        return collect(this);
      },
    });
  }
}

/**
 * The controller route Express matched. A wildcard is never one of ours: it is the route
 * under which Nest runs module middleware (`/{*path}`), left on a request no route took.
 */
function routeTemplate(req: Request): string {
  const template: unknown = (req.route as { path?: unknown } | undefined)?.path;
  if (typeof template !== 'string' || template.includes('*')) return UNMATCHED_ROUTE;
  return `${req.baseUrl}${template}`;
}
