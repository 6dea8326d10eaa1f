import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  buildPortal,
  freePort,
  isAlive,
  isListening,
  killAllChildren,
  parseJson,
  pidsMentioning,
  type PortalBuild,
  postmasterPid,
  type PortalProcess,
  startPortal,
  stopPostgresUnder,
} from './support/portal-process';
import { createTestDatabase } from './support/test-database';

/**
 * The real entry point as a child process: what an operator gets from `node main.js`, including
 * start-up validation, the embedded database, the printed token, logging and signal handling.
 */

const TOKEN_LINE =
  /PORTAL_API_TOKEN is not set; this run accepts the generated token: ([A-Za-z0-9_-]+)/g;

const roots: string[] = [];
/** The portal compiled once for the suite; each test starts it as its own process. */
let build: PortalBuild;

/** A temp dir the postgres user can traverse (mkdtemp creates it 0700). */
function tempRoot(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portal-process-'));
  fs.chmodSync(dir, 0o755);
  roots.push(dir);
  return dir;
}

/** Keeps the portal away from the host's /etc/asterisk and asterisk binary. */
function asteriskVars(root: string): Record<string, string> {
  const pjsip = path.join(root, 'pjsip');
  const dialplan = path.join(root, 'dialplan');
  fs.mkdirSync(pjsip, { recursive: true });
  fs.mkdirSync(dialplan, { recursive: true });
  return { ASTERISK_PJSIP_DIR: pjsip, ASTERISK_DIALPLAN_DIR: dialplan, ASTERISK_CLI: '/bin/false' };
}

/** The token printed at start-up; asserts the line appears exactly once. */
function generatedToken(portal: PortalProcess): string {
  const matches = [...portal.output().matchAll(TOKEN_LINE)];
  expect(matches).toHaveLength(1);
  const token = matches[0][1];
  expect(token.length).toBeGreaterThanOrEqual(16);
  return token;
}

/** The output lines that contain `secret`: a failure shows where it leaked. */
function linesContaining(output: string, secret: string): string[] {
  return output.split('\n').filter((line) => line.includes(secret));
}

async function request(
  portal: PortalProcess,
  method: string,
  url: string,
  token: string | undefined,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; text: string; json: () => unknown }> {
  const res = await fetch(`${portal.baseUrl}${url}`, {
    method,
    headers: {
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) };
}

function listedEmails(list: unknown): string[] {
  const { items } = list as { items: { email: string }[] };
  return items.map((u) => u.email);
}

beforeAll(async () => {
  build = await buildPortal();
}, 60_000);

afterEach(async () => {
  await killAllChildren();
});

afterAll(async () => {
  await killAllChildren();
  for (const root of roots.splice(0)) {
    // A failed test can leave an embedded server behind: only one running in this temp dir.
    await stopPostgresUnder(root);
    fs.rmSync(root, { recursive: true, force: true });
  }
  build?.remove();
});

describe('the portal process with the embedded database', () => {
  it('starts without set-up, survives SIGTERM and SIGKILL restarts, and keeps its data', async () => {
    const root = tempRoot();
    const dataDir = path.join(root, 'data');
    const vars = {
      ...asteriskVars(root),
      EMBEDDED_DB_DIR: dataDir,
      EMBEDDED_DB_PORT: String(await freePort()),
    };

    // First run: initdb, migrations, a generated token printed once.
    const first = await startPortal(build, vars);
    await first.waitUntilHealthy(60_000);
    const token = generatedToken(first);

    const created = await request(first, 'POST', '/users', token, {
      name: 'Alice Smith',
      email: 'alice@example.com',
    });
    expect(created.status).toBe(201);
    expect(created.json()).toMatchObject({ email: 'alice@example.com', extension: 1000 });

    const docs = await request(first, 'GET', '/docs', undefined);
    expect(docs.status).toBe(200);
    expect(docs.headers.get('content-type')).toMatch(/^text\/html/);
    expect(docs.text).toMatch(/swagger/i);
    const openApi = await request(first, 'GET', '/docs-json', undefined);
    expect(openApi.status).toBe(200);
    expect(Object.keys((openApi.json() as { paths: object }).paths)).toContain('/users');

    const wrong = await request(first, 'GET', '/users', `${token}x`);
    expect(wrong.status).toBe(401);
    // Printed once at start-up, never again (requests carrying it are redacted).
    expect(linesContaining(first.output(), token)).toHaveLength(1);

    // SIGTERM: a clean exit that takes the embedded server with it.
    const firstPostmaster = postmasterPid(dataDir);
    expect(firstPostmaster).toBeDefined();
    const termed = await first.stop('SIGTERM', 10_000);
    expect(termed).toMatchObject({ code: 0, signal: null });
    expect(termed.ms).toBeLessThan(5_000);
    expect(first.stderr()).toBe('');
    expect(pidsMentioning(dataDir).filter(isAlive)).toEqual([]);
    expect(isAlive(firstPostmaster!)).toBe(false);
    // PostgreSQL removes its lock file only on an orderly shutdown.
    expect(fs.existsSync(path.join(dataDir, 'postmaster.pid'))).toBe(false);

    // Second run on the same directory: a new token, the same data.
    const second = await startPortal(build, vars);
    await second.waitUntilHealthy(30_000);
    const secondToken = generatedToken(second);
    expect(secondToken).not.toBe(token);
    expect(linesContaining(second.output(), token)).toEqual([]);
    const listed = await request(second, 'GET', '/users', secondToken);
    expect(listed.status).toBe(200);
    expect(listedEmails(listed.json())).toEqual(['alice@example.com']);
    expect((await request(second, 'GET', '/users', token)).status).toBe(401);

    // SIGKILL: no handler runs, so the postmaster is orphaned and still holds the directory.
    const orphan = postmasterPid(dataDir);
    expect(orphan).toBeDefined();
    const killed = await second.stop('SIGKILL', 5_000);
    expect(killed.signal).toBe('SIGKILL');
    expect(isAlive(orphan!)).toBe(true);

    // Third run: the orphan is stopped, the server restarts on the same data.
    const third = await startPortal(build, vars);
    await third.waitUntilHealthy(45_000);
    expect(isAlive(orphan!)).toBe(false);
    const thirdToken = generatedToken(third);
    const survived = await request(third, 'GET', '/users', thirdToken);
    expect(survived.status).toBe(200);
    expect(listedEmails(survived.json())).toEqual(['alice@example.com']);
    const next = await request(third, 'POST', '/users', thirdToken, {
      name: 'Bob Jones',
      email: 'bob@example.com',
    });
    expect(next.status).toBe(201);
    expect(next.json()).toMatchObject({ extension: 1001 });

    const last = await third.stop('SIGTERM', 10_000);
    expect(last).toMatchObject({ code: 0, signal: null });
    expect(pidsMentioning(dataDir).filter(isAlive)).toEqual([]);
  }, 120_000);
});

describe('configuration errors', () => {
  const cases: { name: string; vars: Record<string, string>; names: string[] }[] = [
    { name: 'a non-numeric PORT', vars: { PORT: 'abc' }, names: ['PORT'] },
    {
      name: 'an empty extension range',
      vars: { EXTENSION_MIN: '2000', EXTENSION_MAX: '1000' },
      names: ['EXTENSION_MIN', 'EXTENSION_MAX'],
    },
    { name: 'an unknown LOG_LEVEL', vars: { LOG_LEVEL: 'loud' }, names: ['LOG_LEVEL'] },
    {
      name: 'a non-octal ASTERISK_FILE_MODE',
      vars: { ASTERISK_FILE_MODE: '999' },
      names: ['ASTERISK_FILE_MODE'],
    },
    {
      name: 'a non-postgres DATABASE_URL',
      vars: { DATABASE_URL: 'mysql://x' },
      names: ['DATABASE_URL'],
    },
    {
      name: 'a short PORTAL_API_TOKEN',
      vars: { PORTAL_API_TOKEN: 'too-short' },
      names: ['PORTAL_API_TOKEN'],
    },
    {
      name: 'a privileged EMBEDDED_DB_PORT',
      vars: { EMBEDDED_DB_PORT: '80' },
      names: ['EMBEDDED_DB_PORT'],
    },
  ];

  it('each stops the process with exit code 1 and one line naming the variable', async () => {
    const root = tempRoot();
    // Side by side: each is a full start-up of Node and the portal's modules.
    const outcomes = await Promise.all(
      cases.map(async ({ name, vars }, i) => {
        const dataDir = path.join(root, `data-${i}`);
        const dbPort = await freePort();
        const httpPort = await freePort();
        const portal = await startPortal(build, {
          ...asteriskVars(path.join(root, `asterisk-${i}`)),
          PORT: String(httpPort),
          EMBEDDED_DB_DIR: dataDir,
          EMBEDDED_DB_PORT: String(dbPort),
          ...vars,
        });
        const { code, signal } = await portal.waitForExit(30_000);
        const stderr = portal.stderr();
        return {
          name,
          code,
          signal,
          stderrLines: stderr.split('\n'),
          stackTrace: /^\s+at |Start-up failed/m.test(stderr),
          // Validation comes first: no log output, no embedded database, nothing listening.
          stdout: portal.stdout(),
          embeddedDbCreated: fs.existsSync(dataDir),
          listening: (await isListening(httpPort)) || (await isListening(dbPort)),
        };
      }),
    );

    expect(outcomes).toEqual(
      cases.map(({ name, names }) => ({
        name,
        code: 1,
        signal: null,
        // One non-empty line (then the final newline) that names every variable involved.
        stderrLines: [
          expect.stringMatching(
            new RegExp(`^${names.map((n) => `(?=.*\\b${n}\\b)`).join('')}\\S.*$`),
          ),
          '',
        ],
        stackTrace: false,
        stdout: '',
        embeddedDbCreated: false,
        listening: false,
      })),
    );
  }, 60_000);
});

describe('the portal process with DATABASE_URL and PORTAL_API_TOKEN', () => {
  let drop: (() => Promise<void>) | undefined;

  afterAll(async () => {
    await killAllChildren();
    await drop?.();
  });

  it('never logs the token, logs each request with its id, and echoes X-Request-Id', async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    const token = `tok-${randomBytes(24).toString('hex')}`;
    const root = tempRoot();
    const portal = await startPortal(build, {
      ...asteriskVars(root),
      DATABASE_URL: db.url,
      PORTAL_API_TOKEN: token,
      // Proves the embedded database is not used when DATABASE_URL is set.
      EMBEDDED_DB_DIR: path.join(root, 'data'),
    });
    await portal.waitUntilHealthy(30_000);
    expect(portal.output()).not.toMatch(TOKEN_LINE);
    expect(portal.output()).not.toContain('embedded PostgreSQL');
    expect(fs.existsSync(path.join(root, 'data'))).toBe(false);

    const created = await request(
      portal,
      'POST',
      '/users',
      token,
      { name: 'Carol King', email: 'carol@example.com' },
      { 'X-Request-Id': 'abc-123' },
    );
    expect(created.status).toBe(201);
    expect(created.headers.get('x-request-id')).toBe('abc-123');
    const { sipPassword } = created.json() as { sipPassword: string };

    const listed = await request(portal, 'GET', '/users', token);
    expect(listed.status).toBe(200);
    const generatedId = listed.headers.get('x-request-id');
    expect(generatedId).toMatch(/^[0-9a-f-]{36}$/);

    const logged = await portal.waitForLogLine(
      (l) => (l.req as { id?: unknown } | undefined)?.id === 'abc-123',
    );
    expect(logged).toMatchObject({
      req: { id: 'abc-123', method: 'POST', url: '/users' },
      res: { statusCode: 201 },
    });
    await portal.waitForLogLine((l) => (l.req as { id?: unknown } | undefined)?.id === generatedId);

    const stopped = await portal.stop('SIGTERM', 10_000);
    expect(stopped).toMatchObject({ code: 0, signal: null });
    // After the process is gone, so every line it wrote has been read.
    const output = portal.output();
    expect(linesContaining(output, token)).toEqual([]);
    expect(linesContaining(output, sipPassword)).toEqual([]);
    for (const line of output.split('\n').filter(Boolean)) {
      expect({ line, json: parseJson(line) !== undefined }).toEqual({ line, json: true });
    }
  }, 60_000);
});
