/** The token every resilience portal is started with (see rig.ts). */
export const TOKEN = 'resilience-token-0123456789abcdef';

export interface Reply {
  method: string;
  path: string;
  /** Route template for the figures, e.g. `DELETE /users/:id`. */
  route: string;
  /** HTTP status, or 0 when no response arrived (connection refused, reset, timeout). */
  status: number;
  body: unknown;
  text: string;
  error?: string;
  startedAt: number;
  endedAt: number;
  ms: number;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

export function routeOf(method: string, path: string): string {
  const [pathname, query] = path.split('?');
  const dry = method === 'POST' && pathname === '/apply' && /dryRun=true/.test(query ?? '');
  return `${method} ${pathname.replace(UUID, ':id')}${dry ? '?dryRun=true' : ''}`;
}

/** One request with the bearer token; never throws, so a load loop records every outcome. */
export async function call(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 30_000,
): Promise<Reply> {
  const startedAt = Date.now();
  const route = routeOf(method, path);
  const headers: Record<string, string> = { Authorization: `Bearer ${TOKEN}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  try {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // Not JSON: keep the text.
    }
    const endedAt = Date.now();
    return {
      method,
      path,
      route,
      status: res.status,
      body: parsed,
      text,
      startedAt,
      endedAt,
      ms: endedAt - startedAt,
    };
  } catch (err) {
    const endedAt = Date.now();
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const error = `${(err as Error).message}${cause ? ` (${cause.code ?? cause.message})` : ''}`;
    return {
      method,
      path,
      route,
      status: 0,
      body: null,
      text: '',
      error,
      startedAt,
      endedAt,
      ms: endedAt - startedAt,
    };
  }
}

/** Short description of a reply for failure messages. */
export function describeReply(r: Reply): string {
  const what = r.status === 0 ? `no response (${r.error ?? 'unknown'})` : `${r.status} ${r.text}`;
  return `${r.method} ${r.path} -> ${what.length > 600 ? `${what.slice(0, 600)}...` : what} [${r.ms} ms]`;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Requests per route and status with latency percentiles, as an aligned text table. */
export function routeTable(replies: Reply[]): string {
  const groups = new Map<string, number[]>();
  for (const r of replies) {
    const key = `${r.route}\t${r.status === 0 ? 'none' : r.status}`;
    const list = groups.get(key) ?? [];
    list.push(r.ms);
    groups.set(key, list);
  }
  const rows = [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, ms]) => {
      const [route, status] = key.split('\t');
      ms.sort((a, b) => a - b);
      return [
        route,
        status,
        String(ms.length),
        String(percentile(ms, 50)),
        String(percentile(ms, 95)),
        String(ms[ms.length - 1]),
      ];
    });
  const header = ['route', 'status', 'count', 'p50 ms', 'p95 ms', 'max ms'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}
