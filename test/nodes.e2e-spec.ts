import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { Client } from 'pg';
import request from 'supertest';
import { stripHeader } from '../src/asterisk/generation/file-header';
import { bootApp, TestApp } from './support/app';
import { AsteriskSandbox, type FakeContact } from './support/asterisk-sandbox';
import { parseExposition, sampleValue } from './support/prometheus';
import { localEntry, SshNode, writeNodesFile } from './support/ssh-node';
import { createTestDatabase } from './support/test-database';

interface NodeResult {
  name: string;
  outcome: string;
  reason?: string;
  timings: Record<string, number>;
}

/**
 * One apply over three nodes: `a` on this machine, `b` and `c` over SSH, each behind its own
 * OpenSSH server on loopback with its own fake Asterisk. The SSH nodes are reached as the
 * dedicated node account (test/support/ssh-node.ts).
 */
describe('Several Asterisk nodes: one apply, each node verified (real sshd)', () => {
  let a: AsteriskSandbox;
  let b: SshNode;
  let c: SshNode;
  let nodesFile: string;
  let db: { url: string; drop: () => Promise<void> };
  let t: TestApp;
  let pg: Client;
  const http = () => request(t.app.getHttpServer());
  const get = (path: string) => http().get(path).set('Authorization', t.auth);
  const apply = (query = '') => http().post(`/apply${query}`).set('Authorization', t.auth);
  const createUser = async (name: string, email: string) =>
    (await http().post('/users').set('Authorization', t.auth).send({ name, email }).expect(201))
      .body as { id: string; extension: number };
  const boxes = () => ({ a, b: b.sandbox, c: c.sandbox });
  const byName = (nodes: NodeResult[]) => Object.fromEntries(nodes.map((n) => [n.name, n.outcome]));
  /** A node's two files without their headers (which name the apply that wrote them). */
  const bodies = (box: AsteriskSandbox) => {
    const { endpoints, routing } = box.snapshot();
    return [endpoints && stripHeader(endpoints), routing && stripHeader(routing)];
  };
  /** What each node's fake Asterisk has loaded, read through its own CLI. */
  const loaded = (box: AsteriskSandbox): string =>
    execFileSync(box.cli, ['-rx', 'pjsip show endpoints']).toString();

  const boot = async (entries: Record<string, unknown>[]) => {
    nodesFile = writeNodesFile(entries);
    // The fake takes a while to load 900 users on a busy machine: the default 2 s is too short.
    t = await bootApp(a.env({ ASTERISK_NODES_FILE: nodesFile, ASTERISK_TIMEOUT_MS: '15000' }), {
      database: db,
    });
    pg = t.pg;
  };

  beforeEach(async () => {
    a = new AsteriskSandbox();
    [b, c] = await Promise.all([SshNode.start('b'), SshNode.start('c')]);
    db = await createTestDatabase();
    await boot([localEntry('a', a), b.entry(), c.entry()]);
  });
  afterEach(async () => {
    await t.close();
    await db.drop();
    await Promise.all([b.close(), c.close()]);
    a.remove();
    rmSync(nodesFile, { force: true });
  });

  it('writes, reloads and verifies every node; status, GET /nodes, audit and metrics say so', async () => {
    await createUser('Alice Smith', 'alice@example.com');
    await createUser("Bob O'Neil", 'bob@example.com');
    const res = await apply().expect(200);
    expect(byName(res.body.nodes)).toEqual({ a: 'applied', b: 'applied', c: 'applied' });
    expect(res.body.files.map((f: { node: string }) => f.node)).toEqual([
      'a',
      'a',
      'b',
      'b',
      'c',
      'c',
    ]);
    for (const n of res.body.nodes as NodeResult[]) {
      expect(Object.keys(n.timings).sort()).toEqual(
        [
          'connectMs',
          'planMs',
          'writeMs',
          'reloadMs',
          'reloadCliMs',
          'verifyMs',
          'verifyCliMs',
          'finishMs',
        ].sort(),
      );
    }
    // The same files on every node, written with the node's mode, owned as the node wrote them.
    const expected = a.snapshot();
    expect(stripHeader(expected.endpoints!)).toContain('[1001]');
    for (const [name, box] of Object.entries(boxes())) {
      expect({ name, files: box.snapshot() }).toEqual({ name, files: expected });
      expect(statSync(box.endpointsFile).mode & 0o777).toBe(0o640);
      expect(loaded(box)).toMatch(/Endpoint: {2}1001\b/);
      expect(box.listing().filter((n) => n.endsWith('.tmp'))).toEqual([]);
    }

    const status = await get('/apply/status').expect(200);
    expect(status.body.pending).toBe(false);
    expect(status.body.nodes).toEqual(
      ['a', 'b', 'c'].map((name) => ({
        name,
        pending: false,
        appliedHash: res.body.hash,
        lastAppliedAt: expect.any(String),
        lastOutcome: 'applied',
      })),
    );
    const nodes = await get('/nodes').expect(200);
    expect(nodes.body.items).toEqual([
      {
        name: 'a',
        transport: 'local',
        host: null,
        answers: true,
        version: '22.7.0',
        problem: null,
        pending: false,
      },
      ...['b', 'c'].map((name) => ({
        name,
        transport: 'ssh',
        host: '127.0.0.1',
        answers: true,
        version: '22.7.0',
        problem: null,
        pending: false,
      })),
    ]);
    const audit = await pg.query<{ changes: { after: { nodes: unknown } } }>(
      `SELECT changes FROM change_audit WHERE action = 'apply.run'`,
    );
    expect(audit.rows.map((r) => r.changes.after.nodes)).toEqual([
      [
        { name: 'a', outcome: 'applied' },
        { name: 'b', outcome: 'applied' },
        { name: 'c', outcome: 'applied' },
      ],
    ]);
    const metrics = parseExposition((await get('/metrics').expect(200)).text);
    for (const node of ['a', 'b', 'c']) {
      expect(sampleValue(metrics, 'portal_node_up', { node })).toBe(1);
      expect(sampleValue(metrics, 'portal_config_pending', { node })).toBe(0);
      expect(
        sampleValue(metrics, 'portal_apply_node_duration_seconds_count', {
          node,
          outcome: 'applied',
        }),
      ).toBe(1);
    }

    // A second apply with nothing changed reloads nothing anywhere and verifies every node,
    // over the SSH connection the first one opened (sshd's processes for it are the same).
    const connection = b.sshd.sessionPids().sort();
    expect(connection.length).toBeGreaterThan(0);
    for (const box of Object.values(boxes())) box.clearCalls();
    const again = await apply().expect(200);
    expect(b.sshd.sessionPids().sort()).toEqual(connection);
    expect(byName(again.body.nodes)).toEqual({ a: 'unchanged', b: 'unchanged', c: 'unchanged' });
    for (const box of Object.values(boxes())) {
      expect(box.calls().filter((cmd) => cmd.includes('reload'))).toEqual([]);
    }
  });

  it('a node that is down: 502 partial, the others applied, status says which is behind, the next apply brings it in line', async () => {
    await createUser('Alice Smith', 'alice@example.com');
    await apply().expect(200);
    const before = b.sandbox.snapshot();
    await createUser('Bob Jones', 'bob@example.com');
    await b.sshd.halt();
    const res = await apply().expect(502);
    expect(res.body.outcome).toBe('partial');
    expect(byName(res.body.nodes)).toEqual({ a: 'applied', b: 'failed', c: 'applied' });
    const down = (res.body.nodes as NodeResult[]).find((n) => n.name === 'b')!;
    expect(down.reason).toMatch(/^ssh b: could not connect to 127\.0\.0\.1:\d+: ECONNREFUSED$/);
    expect(res.body.message).toMatch(/^b: ssh b: could not connect .*Applied on a, c; b failed\.$/);
    expect(b.sandbox.snapshot()).toEqual(before);
    expect(loaded(c.sandbox)).toMatch(/Endpoint: {2}1001\b/);

    const status = await get('/apply/status').expect(200);
    expect(status.body.pending).toBe(true);
    expect(
      Object.fromEntries(
        (status.body.nodes as { name: string; pending: boolean; lastOutcome: string }[]).map(
          (n) => [n.name, [n.pending, n.lastOutcome]],
        ),
      ),
    ).toEqual({ a: [false, 'applied'], b: [true, 'failed'], c: [false, 'applied'] });
    const nodes = await get('/nodes').expect(200);
    expect(nodes.body.items[1]).toMatchObject({
      name: 'b',
      answers: false,
      version: null,
      pending: true,
      problem: expect.stringMatching(/ECONNREFUSED/),
    });
    const [log] = (await get('/apply/logs?limit=1').expect(200)).body.items;
    expect(log.outcome).toBe('partial');
    expect(log.summary).toContain('node b: failed');

    // The node is back: the next apply writes it, and leaves the others as they are.
    await b.sshd.resume();
    const next = await apply().expect(200);
    expect(byName(next.body.nodes)).toEqual({ a: 'unchanged', b: 'applied', c: 'unchanged' });
    expect(bodies(b.sandbox)).toEqual(bodies(a));
    expect((await get('/apply/status').expect(200)).body.pending).toBe(false);
  });

  it('a node whose verify fails is rolled back alone', async () => {
    await createUser('Alice Smith', 'alice@example.com');
    await apply().expect(200);
    const good = c.sandbox.snapshot();
    await createUser('Bob Jones', 'bob@example.com');
    c.sandbox.setFaults({ rejectObjects: ['1001'] });
    const res = await apply().expect(502);
    expect(res.body.outcome).toBe('partial');
    expect(byName(res.body.nodes)).toEqual({ a: 'applied', b: 'applied', c: 'rolled_back' });
    expect((res.body.nodes as NodeResult[])[2].reason).toMatch(/endpoints missing: 1001/);
    expect(c.sandbox.snapshot()).toEqual(good);
    expect(loaded(c.sandbox)).not.toMatch(/Endpoint: {2}1001\b/);
    expect(loaded(b.sandbox)).toMatch(/Endpoint: {2}1001\b/);
    // The answer lists the failed node's files as they are now: back to the last good pair.
    expect(res.body.files).toEqual([
      expect.objectContaining({ node: 'c', path: c.sandbox.endpointsFile, changed: false }),
      expect.objectContaining({ node: 'c', path: c.sandbox.routingFile, changed: false }),
    ]);
  });

  it('every node failing the same way is rolled_back, as one node is', async () => {
    await createUser('Alice Smith', 'alice@example.com');
    await apply().expect(200);
    await createUser('Bob Jones', 'bob@example.com');
    for (const box of Object.values(boxes())) box.setFaults({ rejectObjects: ['1001'] });
    const res = await apply().expect(502);
    expect(res.body.outcome).toBe('rolled_back');
    expect(byName(res.body.nodes)).toEqual({
      a: 'rolled_back',
      b: 'rolled_back',
      c: 'rolled_back',
    });
  });

  it('refuses a node whose host key changed, before anything is written there', async () => {
    await t.close();
    // The fingerprint of another server's key: what a replaced (or impersonated) host shows.
    const other = await SshNode.start('x');
    try {
      const wrong = other.sshd.hostKeyFingerprint;
      await boot([localEntry('a', a), b.entry(), c.entry({ hostKey: wrong })]);
      await createUser('Alice Smith', 'alice@example.com');
      const res = await apply().expect(502);
      expect(res.body.outcome).toBe('partial');
      expect(byName(res.body.nodes)).toEqual({ a: 'applied', b: 'applied', c: 'failed' });
      expect((res.body.nodes as NodeResult[])[2].reason).toBe(
        `host key mismatch on c: expected ${wrong}, got ${c.sshd.hostKeyFingerprint}`,
      );
      expect(c.sandbox.listing()).toEqual([]);
      expect(c.sandbox.calls()).toEqual([]);
    } finally {
      await other.close();
    }
  });

  it('a connection cut in the middle of the write leaves the old pair whole on that node', async () => {
    await createUser('Alice Smith', 'alice@example.com');
    await apply().expect(200);
    const old = b.sandbox.snapshot();
    // Enough users that the endpoints file takes a while to cross the connection.
    const users = Array.from({ length: 900 }, (_, i) => ({
      name: `User ${i}`,
      email: `user${i}@example.com`,
    }));
    await http().post('/users/import').set('Authorization', t.auth).send({ users }).expect(201);
    const pending = apply();
    const answer = pending.then((r) => r);
    // Kill b's session once its temp file is there: written, not yet renamed.
    const deadline = Date.now() + 20000;
    let seen = false;
    while (!seen && Date.now() < deadline) {
      seen = readdirSync(b.sandbox.pjsipDir).some(
        (n) => n.startsWith('.generated_endpoints.conf.') && n.endsWith('.tmp'),
      );
      if (!seen) await new Promise((r) => setImmediate(r));
    }
    expect(seen).toBe(true);
    for (const pid of b.sshd.sessionPids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    const res = await answer;
    expect(res.status).toBe(502);
    expect(byName(res.body.nodes)).toEqual({ a: 'applied', b: 'failed', c: 'applied' });
    // Old or new, each file whole, and the two from the same apply; nothing `*.conf` but them.
    const now = b.sandbox.snapshot();
    const fresh = a.snapshot();
    expect([old, fresh]).toContainEqual(now);
    for (const name of b.sandbox.listing()) {
      expect(name).toMatch(
        /^(pjsip\/generated_endpoints\.conf|dialplan\/generated_routing\.conf|pjsip\/\.synergycall-last-good\.json|(pjsip|dialplan)\/\.[a-z_.-]+\.[0-9a-f]{12}\.tmp)$/,
      );
    }
    // The next apply brings it in line and clears what the cut left.
    const next = await apply().expect(200);
    expect(byName(next.body.nodes)).toMatchObject({ b: 'applied' });
    expect(bodies(b.sandbox)).toEqual(bodies(a));
    expect(b.sandbox.listing().filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it("a hostile caller name, and a phone's hostile Contact and User-Agent on a remote node, are data", async () => {
    const marker = `/tmp/pwned-${process.pid}-${Date.now()}`;
    // A caller name reaches the node inside a file (SFTP), never on a command line.
    // (The API takes letters, digits, space and . , ' - _ ( ) & only: all of them shell syntax.)
    const name = `Eve (touch pwned) & O'Neil - rm -rf .`;
    const alice = await createUser(name, 'alice@example.com');
    await apply().expect(200);
    expect(b.sandbox.snapshot().endpoints).toContain(`callerid="${name}" <1000>`);
    expect(loaded(b.sandbox)).toMatch(/Endpoint: {2}1000\b/);
    const uri = `sip:1000@127.0.0.1:5491;rinstance=8e9a6d3c7e0e2c3f;x=$(touch ${marker})'&"!*`;
    const userAgent = `Evil $(touch ${marker}) \`touch ${marker}\`; rm -rf / & "q" 'q'`;
    const contact: FakeContact = {
      aor: '1000',
      uri,
      expirationTime: Math.floor(Date.now() / 1000) + 300,
      status: 'Avail',
      rttMs: 1.5,
      userAgent,
      viaAddress: '127.0.0.1',
      viaPort: 5491,
    };
    b.sandbox.setContacts([contact]);
    const one = await get(`/users/${alice.id}`).expect(200);
    expect(one.body.registration).toMatchObject({
      state: 'registered',
      contacts: [{ node: 'b', uri, userAgent, status: 'Avail', viaAddress: '127.0.0.1' }],
    });
    const list = await get('/users?include=registration').expect(200);
    expect(list.body.items[0].registration.contacts).toEqual([
      expect.objectContaining({ node: 'b', uri }),
    ]);
    expect(existsSync(marker)).toBe(false);
  });

  it('a user is registered when any node has it, unknown only while a node without it is down', async () => {
    const alice = await createUser('Alice Smith', 'alice@example.com');
    const bob = await createUser('Bob Jones', 'bob@example.com');
    await apply().expect(200);
    c.sandbox.setContacts([
      {
        aor: '1000',
        uri: 'sip:1000@192.0.2.10:5060',
        expirationTime: Math.floor(Date.now() / 1000) + 300,
        status: 'NonQual',
      },
    ]);
    await b.sshd.halt();
    const alices = await get(`/users/${alice.id}`).expect(200);
    expect(alices.body.registration).toMatchObject({
      state: 'registered',
      contacts: [{ node: 'c' }],
    });
    const bobs = await get(`/users/${bob.id}`).expect(200);
    expect(bobs.body.registration).toMatchObject({
      state: 'unknown',
      reason: expect.stringMatching(/^node did not answer: b: ssh b: could not connect/),
    });
    // A filter on the state cannot be answered while a node is silent.
    await get('/users?registration=unregistered').expect(503);
  });

  it('a dry run shows the checks and the diff of every node, and writes nothing', async () => {
    await createUser('Alice Smith', 'alice@example.com');
    await b.sshd.halt();
    const res = await apply('?dryRun=true').expect(200);
    const checks = res.body.checks as { node: string; name: string; ok: boolean }[];
    expect(checks.filter((x) => x.node === 'a').every((x) => x.ok)).toBe(true);
    expect(checks.filter((x) => x.node === 'c').map((x) => [x.name, x.ok])).toEqual([
      ['pjsipDir', true],
      ['dialplanDir', true],
      ['cli', true],
      ['asterisk', true],
    ]);
    expect(checks.filter((x) => x.node === 'b')).toEqual([
      expect.objectContaining({ name: 'connect', ok: false }),
    ]);
    expect(
      res.body.files.map((f: { node: string; changed: boolean }) => [f.node, f.changed]),
    ).toEqual([
      ['a', true],
      ['a', true],
      ['c', true],
      ['c', true],
    ]);
    expect(res.body.files[2].diff).toContain('+[1000]');
    for (const box of [a, c.sandbox]) expect(box.listing()).toEqual([]);
  });
});

describe('the per-node fields in the OpenAPI document', () => {
  const doc = JSON.parse(readFileSync(`${__dirname}/../openapi.json`, 'utf8')) as {
    components: { schemas: Record<string, { properties: Record<string, { enum?: unknown[] }> }> };
  };
  const props = (name: string) => doc.components.schemas[name].properties;

  it('documents nodes in every apply answer and in the status', () => {
    expect(Object.keys(props('ApplyResultDto'))).toContain('nodes');
    expect(Object.keys(props('ApplyFailedDto'))).toContain('nodes');
    expect(props('ApplyFailedDto').outcome.enum).toEqual(['failed', 'rolled_back', 'partial']);
    expect(props('ApplyNodeResultDto').outcome.enum).toEqual([
      'applied',
      'unchanged',
      'rolled_back',
      'failed',
    ]);
    expect(Object.keys(props('NodeStatusDto')).sort()).toEqual(
      ['name', 'pending', 'appliedHash', 'lastAppliedAt', 'lastOutcome'].sort(),
    );
    expect(Object.keys(props('NodeDto')).sort()).toEqual(
      ['name', 'transport', 'host', 'answers', 'version', 'problem', 'pending'].sort(),
    );
  });
});
