import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** One request the receiver got. */
export interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

/**
 * A webhook receiver on 127.0.0.1, as another service would run one: it records every
 * request and answers each path with the statuses queued for it (200 when none is), or holds
 * the request unanswered (`'hang'`).
 */
export class WebhookReceiver {
  readonly received: Received[] = [];
  private readonly queued = new Map<string, (number | 'hang')[]>();
  private readonly hanging = new Set<http.ServerResponse>();
  private server?: http.Server;
  port = 0;

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '/';
        this.received.push({
          path,
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          at: Date.now(),
        });
        const next = this.queued.get(path)?.shift() ?? 200;
        if (next === 'hang') {
          this.hanging.add(res);
          return;
        }
        res.writeHead(next, next >= 300 && next < 400 ? { location: 'http://127.0.0.1:9/' } : {});
        res.end();
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** The next answers to `path`, in order. */
  answer(path: string, ...statuses: (number | 'hang')[]): void {
    this.queued.set(path, [...(this.queued.get(path) ?? []), ...statuses]);
  }

  at(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  /** Waits until `path` got at least `n` requests; fails after `timeoutMs`. */
  async waitFor(path: string, n: number, timeoutMs = 10_000): Promise<Received[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.at(path).length < n) {
      if (Date.now() > deadline) {
        throw new Error(
          `${path} got ${this.at(path).length} requests, not ${n}, in ${timeoutMs} ms`,
        );
      }
      await sleep(20);
    }
    return this.at(path);
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}
