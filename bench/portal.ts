import * as http from 'node:http';
import {
  productionBuild,
  type PortalProcess,
  startPortal as startPortalProcess,
} from '../test/support/portal-process';

export interface Portal {
  child: PortalProcess;
  baseUrl: string;
  request(method: string, urlPath: string, body?: unknown): Promise<HttpResult>;
}

export interface HttpResult {
  status: number;
  body: Buffer;
  ms: number;
}

/**
 * The production build (`dist/src/main.js`) in its own process on 127.0.0.1, the way it is
 * deployed. `nodeArgs` lets a profiling run add e.g. `--cpu-prof`.
 */
export async function startPortal(
  vars: Record<string, string>,
  token: string,
  nodeArgs: string[] = [],
): Promise<Portal> {
  const child = await startPortalProcess(
    productionBuild(),
    { ...vars, PORTAL_API_TOKEN: token, NODE_ENV: 'production' },
    // Bounded: a chatty portal must not grow the bench's memory during a load phase.
    { nodeArgs, keepOutput: 64 * 1024 },
  );
  await child.waitUntilHealthy(60_000);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  return {
    child,
    baseUrl: child.baseUrl,
    request: (method, urlPath, body) =>
      request(agent, { port: child.port, method, path: urlPath, token, body }),
  };
}

/** One request on a kept-alive connection, timed from send to the last byte of the body. */
function request(
  agent: http.Agent,
  o: { port: number; method: string; path: string; token: string; body?: unknown },
): Promise<HttpResult> {
  const payload = o.body === undefined ? undefined : Buffer.from(JSON.stringify(o.body));
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.request(
      {
        host: '127.0.0.1',
        port: o.port,
        method: o.method,
        path: o.path,
        agent,
        headers: {
          authorization: `Bearer ${o.token}`,
          ...(payload
            ? { 'content-type': 'application/json', 'content-length': payload.length }
            : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks),
            ms: performance.now() - t0,
          }),
        );
        res.on('error', reject);
      },
    );
    req.setTimeout(60_000, () => req.destroy(new Error(`${o.method} ${o.path} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Throws with the status and body unless the answer is the expected status. */
export function expectStatus(res: HttpResult, status: number, what: string): HttpResult {
  if (res.status !== status) {
    throw new Error(`${what}: expected ${status}, got ${res.status}: ${res.body.toString('utf8')}`);
  }
  return res;
}
