import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as net from 'node:net';
import {
  buildPortal,
  freePort,
  isAlive,
  isListening,
  killAllChildren,
  parseJson,
  pidsMentioning,
  type PortalBuild,
  portalEnv,
  postmasterPid,
  type PortalProcess,
  REPO_ROOT,
  startChild,
  startPortal,
  stopPostgresUnder,
} from './support/portal-process';
import { adminQuery, createTestDatabase, serverUrl, withDatabase } from './support/test-database';
import { relocatedDataDir } from '../src/database/embedded-postgres';

/**
 * The real entry point as a child process: what an operator gets from `node main.js`, including
 * start-up validation, the embedded database, the printed token, logging and signal handling.
 */

const TOKEN_LINE =
  /API token: ([A-Za-z0-9_-]+) -- PORTAL_API_TOKEN is not set, so this token (was generated and is kept in|is read from) (\S+) \(mode 0600/g;

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

/**
 * The token printed at start-up, with the file it names and whether it was generated now;
 * asserts the line appears exactly once, as the last line of the start-up.
 */
function generatedToken(portal: PortalProcess): { token: string; file: string; created: boolean } {
  const matches = [...portal.output().matchAll(TOKEN_LINE)];
  expect(matches).toHaveLength(1);
  const [, token, how, file] = matches[0];
  expect(token.length).toBeGreaterThanOrEqual(16);
  return { token, file, created: how.startsWith('was generated') };
}

/** The `msg` of every JSON line on stdout with the given context, in order. */
function messages(portal: PortalProcess, context: string): string[] {
  return portal
    .stdout()
    .split('\n')
    .map(parseJson)
    .filter((line) => line?.context === context)
    .map((line) => String(line?.msg));
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

/** Healthy, and its start-up lines written: `listening on ...` (and the token line, if any). */
async function started(portal: PortalProcess, timeoutMs: number, tokenLine = true): Promise<void> {
  await portal.waitUntilHealthy(timeoutMs);
  await portal.waitForLogLine((l) => /^listening on /.test(String(l.msg)));
  if (tokenLine) await portal.waitForLogLine((l) => /^API token: /.test(String(l.msg)));
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

    // First run: initdb, migrations, a generated token kept in the data directory.
    const first = await startPortal(build, vars);
    await started(first, 60_000);
    const tokenFile = path.join(dataDir, 'api-token');
    expect(generatedToken(first)).toEqual({
      token: expect.any(String),
      file: tokenFile,
      created: true,
    });
    const { token } = generatedToken(first);
    expect(fs.statSync(tokenFile).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(tokenFile, 'utf8')).toBe(`${token}\n`);
    // A line per migration run, then where it listens, then the token, prominently last.
    expect(messages(first, 'Migrations')).toEqual([
      'running 9 pending migrations',
      expect.stringMatching(/^migration Initial1764000000000 run in \d+ ms$/),
      expect.stringMatching(/^migration AllocateUserFunction1764000000001 run in \d+ ms$/),
      expect.stringMatching(/^migration AllocateWithNumberLocks1764000000002 run in \d+ ms$/),
      expect.stringMatching(/^migration ApiKeysAndChangeAudit1764000000003 run in \d+ ms$/),
      expect.stringMatching(/^migration Webhooks1764000000004 run in \d+ ms$/),
      expect.stringMatching(/^migration PhoneStates1764000000005 run in \d+ ms$/),
      expect.stringMatching(/^migration ApplyNodeState1764000000010 run in \d+ ms$/),
      expect.stringMatching(/^migration SystemActor1764000000011 run in \d+ ms$/),
      expect.stringMatching(/^migration WebhookRetention1764000000012 run in \d+ ms$/),
    ]);
    expect(messages(first, 'Portal')).toEqual([
      `listening on http://127.0.0.1:${first.port} (docs at /docs)`,
      expect.stringMatching(/^API token: /),
    ]);

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
    expect(messages(first, 'Portal').slice(2)).toEqual([
      'SIGTERM received; shutting down',
      expect.stringMatching(/^shut down in \d+ ms$/),
    ]);
    expect(pidsMentioning(dataDir).filter(isAlive)).toEqual([]);
    expect(isAlive(firstPostmaster!)).toBe(false);
    // PostgreSQL removes its lock file only on an orderly shutdown.
    expect(fs.existsSync(path.join(dataDir, 'postmaster.pid'))).toBe(false);

    // Second run on the same directory: the same token (a restart does not lock the admin
    // out), printed once again with its file, and the same data.
    const second = await startPortal(build, vars);
    await started(second, 30_000);
    expect(generatedToken(second)).toEqual({ token, file: tokenFile, created: false });
    expect(linesContaining(second.output(), token)).toHaveLength(1);
    expect(messages(second, 'Migrations')).toEqual([
      'no pending migrations; the schema is up to date',
    ]);
    const listed = await request(second, 'GET', '/users', token);
    expect(listed.status).toBe(200);
    expect(listedEmails(listed.json())).toEqual(['alice@example.com']);
    expect((await request(second, 'GET', '/users', `${token}x`)).status).toBe(401);

    // SIGKILL: no handler runs, so the postmaster is orphaned and still holds the directory.
    const orphan = postmasterPid(dataDir);
    expect(orphan).toBeDefined();
    const killed = await second.stop('SIGKILL', 5_000);
    expect(killed.signal).toBe('SIGKILL');
    expect(isAlive(orphan!)).toBe(true);

    // Third run: the orphan is stopped, the server restarts on the same data.
    const third = await startPortal(build, vars);
    await started(third, 45_000);
    expect(isAlive(orphan!)).toBe(false);
    const thirdToken = generatedToken(third).token;
    expect(thirdToken).toBe(token);
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

(process.getuid?.() === 0 ? describe : describe.skip)('the portal as root in a 0700 home', () => {
  it('keeps the cluster where the postgres user reaches it, says where, and the token in EMBEDDED_DB_DIR', async () => {
    // /root as an admin logged in as root has it: the postgres user cannot enter.
    const root = tempRoot();
    fs.chmodSync(root, 0o700);
    const dataDir = path.join(root, 'data');
    const cluster = relocatedDataDir(dataDir);
    const dbPort = String(await freePort());
    try {
      const portal = await startPortal(build, {
        ...asteriskVars(root),
        EMBEDDED_DB_DIR: dataDir,
        EMBEDDED_DB_PORT: dbPort,
      });
      await started(portal, 60_000);
      expect(messages(portal, 'EmbeddedPostgres')).toEqual(
        expect.arrayContaining([
          `the postgres user cannot enter ${root}, so the cluster of EMBEDDED_DB_DIR ${dataDir} is kept in ${cluster}`,
          `DATABASE_URL is not set; using the embedded PostgreSQL in ${cluster} on 127.0.0.1:${dbPort}`,
        ]),
      );
      expect(generatedToken(portal)).toMatchObject({
        file: path.join(dataDir, 'api-token'),
        created: true,
      });
      const users = await request(portal, 'GET', '/users', generatedToken(portal).token);
      expect(users.status).toBe(200);
      expect(await portal.stop('SIGTERM', 10_000)).toMatchObject({ code: 0, signal: null });
    } finally {
      await stopPostgresUnder(cluster);
      fs.rmSync(cluster, { recursive: true, force: true });
    }
  }, 120_000);
});

/** A line that names every one of `names` (as whole words). */
function naming(names: string[]): unknown {
  return expect.stringMatching(
    new RegExp(`^${names.map((n) => `(?=.*\\b${n}\\b)`).join('')}\\S.*$`),
  );
}

/** What a refused start-up left behind: its exit, its output, and anything it started. */
interface Refusal {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderrLines: string[];
  stackTrace: boolean;
  stdout: string;
  embeddedDbCreated: boolean;
  listening: boolean;
}

/** Starts the portal on the embedded database with `vars` and waits for it to give up. */
async function refusedStart(
  root: string,
  vars: Record<string, string>,
  ports: { http?: number; db?: number } = {},
): Promise<Refusal> {
  const dataDir = path.join(root, 'data');
  const dbPort = ports.db ?? (await freePort());
  const httpPort = ports.http ?? (await freePort());
  const portal = await startPortal(build, {
    ...asteriskVars(path.join(root, 'asterisk')),
    PORT: String(httpPort),
    EMBEDDED_DB_DIR: dataDir,
    EMBEDDED_DB_PORT: String(dbPort),
    ...vars,
  });
  const { code, signal } = await portal.waitForExit(30_000);
  const stderr = portal.stderr();
  return {
    code,
    signal,
    stderrLines: stderr.split('\n'),
    stackTrace: /^\s+at |Start-up failed/m.test(stderr),
    stdout: portal.stdout(),
    embeddedDbCreated: fs.existsSync(dataDir),
    listening:
      (!ports.http && (await isListening(httpPort))) || (!ports.db && (await isListening(dbPort))),
  };
}

/** Exit code 1, the given stderr lines then the final newline, and nothing else done. */
function refused(stderrLines: unknown[]): Refusal {
  return {
    code: 1,
    signal: null,
    stderrLines: [...stderrLines, ''] as string[],
    stackTrace: false,
    // Checked first: no log output, no embedded database, nothing listening.
    stdout: '',
    embeddedDbCreated: false,
    listening: false,
  };
}

describe('configuration errors', () => {
  const TOKEN = 'a-valid-token-0123456789';
  const cases: { name: string; vars: Record<string, string>; lines: string[][] }[] = [
    { name: 'a non-numeric PORT', vars: { PORT: 'abc' }, lines: [['PORT']] },
    {
      name: 'an empty extension range',
      vars: { EXTENSION_MIN: '2000', EXTENSION_MAX: '1000' },
      lines: [['EXTENSION_MIN', 'EXTENSION_MAX']],
    },
    { name: 'an unknown LOG_LEVEL', vars: { LOG_LEVEL: 'loud' }, lines: [['LOG_LEVEL']] },
    {
      name: 'a non-octal ASTERISK_FILE_MODE',
      vars: { ASTERISK_FILE_MODE: '999' },
      lines: [['ASTERISK_FILE_MODE']],
    },
    {
      name: 'a non-postgres DATABASE_URL',
      vars: { DATABASE_URL: 'mysql://x', PORTAL_API_TOKEN: TOKEN },
      lines: [['DATABASE_URL']],
    },
    {
      name: 'a short PORTAL_API_TOKEN',
      vars: { PORTAL_API_TOKEN: 'too-short' },
      lines: [['PORTAL_API_TOKEN']],
    },
    {
      name: 'a whitespace-only PORTAL_API_TOKEN',
      vars: { PORTAL_API_TOKEN: ' '.repeat(24) },
      lines: [['PORTAL_API_TOKEN', 'blank']],
    },
    {
      name: 'DATABASE_URL without PORTAL_API_TOKEN',
      vars: { DATABASE_URL: 'postgres://portal:secret@127.0.0.1:1/portal' },
      lines: [['PORTAL_API_TOKEN', 'DATABASE_URL']],
    },
    {
      name: 'TRUST_PROXY=true',
      vars: { TRUST_PROXY: 'true' },
      lines: [['TRUST_PROXY']],
    },
    {
      name: 'a privileged EMBEDDED_DB_PORT',
      vars: { EMBEDDED_DB_PORT: '80' },
      lines: [['EMBEDDED_DB_PORT']],
    },
    {
      name: 'a missing ASTERISK_NODES_FILE',
      vars: { ASTERISK_NODES_FILE: '/nonexistent/portal-nodes.json' },
      lines: [['ASTERISK_NODES_FILE', 'exist']],
    },
    {
      name: 'four bad variables at once',
      vars: { PORT: '70000', LOG_LEVEL: 'loud', PORTAL_API_TOKEN: '\t \t', SIP_REALM: 'a b' },
      lines: [['PORT'], ['PORTAL_API_TOKEN'], ['LOG_LEVEL'], ['SIP_REALM']],
    },
  ];

  it('each stops the process with exit code 1 and one line per bad variable, naming it', async () => {
    const root = tempRoot();
    // Side by side: each is a full start-up of Node and the portal's modules.
    const outcomes = await Promise.all(
      cases.map(async ({ name, vars }, i) => {
        const dir = path.join(root, `case-${i}`);
        fs.mkdirSync(dir);
        return { name, ...(await refusedStart(dir, vars)) };
      }),
    );

    expect(outcomes).toEqual(
      cases.map(({ name, lines }) => ({ name, ...refused(lines.map(naming)) })),
    );
    // Secrets are named, never shown.
    expect(outcomes.flatMap((o) => o.stderrLines).join('\n')).not.toMatch(/secret|too-short/);
  }, 60_000);

  it('stops the process on a bad ASTERISK_NODES_FILE, every problem of it and of the variables at once', async () => {
    const root = tempRoot();
    const keyText = `key-material-${randomBytes(8).toString('hex')}`;
    const key = path.join(root, 'id_ed25519');
    fs.writeFileSync(key, `-----BEGIN OPENSSH PRIVATE KEY-----\n${keyText}\n`);
    fs.chmodSync(key, 0o644);
    const dirs = {
      pjsipDir: '/etc/asterisk/pjsip.d/x',
      dialplanDir: '/etc/asterisk/extensions.d/x',
    };
    const nodesFile = path.join(root, 'nodes.json');
    fs.writeFileSync(
      nodesFile,
      JSON.stringify([
        { name: 'pbx-a', transport: 'local', ...dirs, cli: ['asterisk'], host: 'pbx-a' },
        {
          name: 'pbx-b',
          transport: 'ssh',
          ...dirs,
          cli: ['asterisk'],
          host: 'pbx-b.example.net',
          port: 0,
          username: 'portal',
          privateKeyFile: key,
          hostKey: 'SHA256:+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU',
        },
        { transport: 'local', ...dirs, cli: [] },
      ]),
    );
    const outcome = await refusedStart(path.join(root, 'portal'), {
      PORT: 'abc',
      ASTERISK_NODES_FILE: nodesFile,
    });
    expect(outcome).toEqual(
      refused([
        'Invalid configuration: PORT must be an integer number (got "abc")',
        'Invalid configuration: ASTERISK_NODES_FILE node pbx-a: host is only for transport "ssh"; this node\'s transport is "local"',
        'Invalid configuration: ASTERISK_NODES_FILE node pbx-b: port must be an integer from 1 to 65535 (got 0)',
        `Invalid configuration: ASTERISK_NODES_FILE node pbx-b: privateKeyFile ${key} is readable by group or others (mode 0644); chmod 600 it`,
        'Invalid configuration: ASTERISK_NODES_FILE nodes[2]: name is missing',
        'Invalid configuration: ASTERISK_NODES_FILE nodes[2]: cli must be the command as a non-empty array of non-empty strings, e.g. ["asterisk"] (got [])',
      ]),
    );
    expect(outcome.stderrLines.join('\n')).not.toContain(keyText);
  }, 60_000);
});

describe('a port already in use', () => {
  const servers: net.Server[] = [];
  afterEach(async () => {
    await Promise.all(
      servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
    );
  });

  async function occupy(host: string): Promise<number> {
    const server = net.createServer();
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    return (server.address() as net.AddressInfo).port;
  }

  it('is one line naming the port and its variable, before anything starts', async () => {
    const root = tempRoot();
    fs.mkdirSync(path.join(root, 'http'));
    fs.mkdirSync(path.join(root, 'db'));
    const [httpPort, dbPort] = [await occupy('127.0.0.1'), await occupy('127.0.0.1')];
    const [http, db] = await Promise.all([
      refusedStart(path.join(root, 'http'), {}, { http: httpPort }),
      refusedStart(path.join(root, 'db'), {}, { db: dbPort }),
    ]);
    expect({ http, db }).toEqual({
      http: refused([
        `Port ${httpPort} on 127.0.0.1 is already in use, so the portal cannot listen there (PORT); stop what listens on 127.0.0.1:${httpPort} or set PORT to a free port`,
      ]),
      db: refused([
        `Port ${dbPort} on 127.0.0.1 is already in use, so the embedded PostgreSQL cannot listen there (EMBEDDED_DB_PORT); stop what listens on 127.0.0.1:${dbPort} or set EMBEDDED_DB_PORT to a free port`,
      ]),
    });
  }, 60_000);
});

describe('npm run migration:run', () => {
  /** The README's command, run as an operator would, from the repository. */
  async function migrationRun(
    vars: Record<string, string>,
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = startChild('npm run migration:run', 'npm', ['run', 'migration:run'], {
      cwd: REPO_ROOT,
      env: portalEnv(vars),
    });
    const { code } = await child.waitForExit(60_000);
    return { code, stdout: child.stdout(), stderr: child.stderr() };
  }

  it('without DATABASE_URL says so in one line', async () => {
    const run = await migrationRun({});
    expect(run).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/^DATABASE_URL is not set: [^\n]*\n$/),
    });
  }, 60_000);

  it('with DATABASE_URL logs a line per migration run, then that none is pending', async () => {
    const name = `portal_cli_${randomBytes(4).toString('hex')}`;
    await adminQuery(`CREATE DATABASE "${name}"`);
    try {
      const url = withDatabase(serverUrl(), name);
      const first = await migrationRun({ DATABASE_URL: url });
      expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: '' });
      const lines = (text: string) => text.split('\n').filter((l) => l && !/^> /.test(l));
      expect(lines(first.stdout)).toEqual([
        'running 9 pending migrations',
        expect.stringMatching(/^migration Initial1764000000000 run in \d+ ms$/),
        expect.stringMatching(/^migration AllocateUserFunction1764000000001 run in \d+ ms$/),
        expect.stringMatching(/^migration AllocateWithNumberLocks1764000000002 run in \d+ ms$/),
        expect.stringMatching(/^migration ApiKeysAndChangeAudit1764000000003 run in \d+ ms$/),
        expect.stringMatching(/^migration Webhooks1764000000004 run in \d+ ms$/),
        expect.stringMatching(/^migration PhoneStates1764000000005 run in \d+ ms$/),
        expect.stringMatching(/^migration ApplyNodeState1764000000010 run in \d+ ms$/),
        expect.stringMatching(/^migration SystemActor1764000000011 run in \d+ ms$/),
        expect.stringMatching(/^migration WebhookRetention1764000000012 run in \d+ ms$/),
      ]);
      const again = await migrationRun({ DATABASE_URL: url });
      expect({ code: again.code, lines: lines(again.stdout) }).toEqual({
        code: 0,
        lines: ['no pending migrations; the schema is up to date'],
      });
    } finally {
      await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    }
  }, 90_000);
});

describe('the portal process with DATABASE_URL and PORTAL_API_TOKEN', () => {
  const drops: (() => Promise<void>)[] = [];

  afterAll(async () => {
    await killAllChildren();
    for (const drop of drops) await drop();
  });

  it('an API key revoked through one process is refused by another on the same database at its next request', async () => {
    const db = await createTestDatabase();
    drops.push(db.drop);
    const token = `tok-${randomBytes(24).toString('hex')}`;
    const root = tempRoot();
    const vars = { ...asteriskVars(root), DATABASE_URL: db.url, PORTAL_API_TOKEN: token };
    const [a, b] = await Promise.all([startPortal(build, vars), startPortal(build, vars)]);
    await Promise.all([started(a, 30_000, false), started(b, 30_000, false)]);

    const created = await request(a, 'POST', '/api-keys', token, {
      name: 'billing',
      scopes: ['users:read'],
    });
    expect(created.status).toBe(201);
    const { id, key } = created.json() as { id: string; key: string };
    expect((await request(b, 'GET', '/users', key)).status).toBe(200);
    expect((await request(a, 'DELETE', `/api-keys/${id}`, token)).status).toBe(204);
    // No wait: the other process looks the key up at each request, so the next one fails.
    const refused = await request(b, 'GET', '/users', key);
    expect([refused.status, (refused.json() as { message: string }).message]).toEqual([
      401,
      'Invalid API token',
    ]);
    expect((await request(b, 'GET', '/users', token)).status).toBe(200);
  }, 60_000);

  it('never logs the token or a header, logs each request in one short line with its id, and echoes X-Request-Id', async () => {
    const db = await createTestDatabase();
    drops.push(db.drop);
    const token = `tok-${randomBytes(24).toString('hex')}`;
    const root = tempRoot();
    const portal = await startPortal(build, {
      ...asteriskVars(root),
      DATABASE_URL: db.url,
      PORTAL_API_TOKEN: token,
      // Proves the embedded database is not used when DATABASE_URL is set.
      EMBEDDED_DB_DIR: path.join(root, 'data'),
    });
    await started(portal, 30_000, false);
    expect(portal.output()).not.toMatch(TOKEN_LINE);
    expect(portal.output()).not.toMatch(/API token/);
    expect(portal.output()).not.toContain('embedded PostgreSQL');
    // The template database is migrated already.
    expect(messages(portal, 'Migrations')).toEqual([
      'no pending migrations; the schema is up to date',
    ]);
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

    const refused = await request(portal, 'GET', '/users?limit=2', `${token}-wrong`, undefined, {
      Cookie: 'session=cookie-value-0123',
    });
    expect(refused.status).toBe(401);

    const logged = await portal.waitForLogLine(
      (l) => (l.req as { id?: unknown } | undefined)?.id === 'abc-123',
    );
    // Method, URL, status, duration and request id: nothing else of the request or answer.
    const requestLine = (method: string, url: string, status: number, id: unknown) => ({
      level: 30,
      time: expect.any(Number),
      pid: portal.pid,
      hostname: expect.any(String),
      req: { id, method, url },
      res: { statusCode: status },
      responseTime: expect.any(Number),
      msg: expect.stringMatching(
        new RegExp(`^${method} ${url.replace(/[?]/g, '\\?')} ${status} \\d+ ms$`),
      ),
    });
    expect(logged).toEqual(requestLine('POST', '/users', 201, 'abc-123'));
    expect(
      await portal.waitForLogLine(
        (l) => (l.req as { id?: unknown } | undefined)?.id === generatedId,
      ),
    ).toEqual(requestLine('GET', '/users', 200, generatedId));
    const refusedId = refused.headers.get('x-request-id');
    expect(
      await portal.waitForLogLine((l) => (l.req as { id?: unknown } | undefined)?.id === refusedId),
    ).toEqual(requestLine('GET', '/users?limit=2', 401, refusedId));

    const stopped = await portal.stop('SIGTERM', 10_000);
    expect(stopped).toMatchObject({ code: 0, signal: null });
    // After the process is gone, so every line it wrote has been read.
    const output = portal.output();
    expect(linesContaining(output, token)).toEqual([]);
    expect(linesContaining(output, sipPassword)).toEqual([]);
    for (const line of output.split('\n').filter(Boolean)) {
      expect({ line, json: parseJson(line) !== undefined }).toEqual({ line, json: true });
      // No header at all: neither the Authorization header nor a cookie, nor helmet's headers.
      expect({
        line,
        headers: /authorization|bearer|cookie|content-security-policy/i.test(line),
      }).toEqual({
        line,
        headers: false,
      });
    }
    // The health checks that waited for the start, and the three requests above.
    const requestLines = output.split('\n').filter((line) => parseJson(line)?.req);
    expect(
      requestLines
        .map((line) => (parseJson(line)?.req as { url: string }).url)
        .filter((url) => url !== '/health'),
    ).toEqual(['/users', '/users', '/users?limit=2']);
    for (const line of requestLines) {
      expect({ line, short: line.length < 300 }).toEqual({ line, short: true });
    }
    expect(messages(portal, 'Portal')).toEqual([
      `listening on http://127.0.0.1:${portal.port} (docs at /docs)`,
      'SIGTERM received; shutting down',
      expect.stringMatching(/^shut down in \d+ ms$/),
    ]);
  }, 60_000);
});
