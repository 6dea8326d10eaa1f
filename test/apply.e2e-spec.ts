import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import request from 'supertest';
import { parseHeader, stripHeader } from '../src/asterisk/generation/file-header';
import { bootApp, TestApp } from './support/app';
import { AsteriskSandbox } from './support/asterisk-sandbox';
import { cliFixture, generatedFixture } from './fixtures';
import { createTestDatabase } from './support/test-database';

// The recorded file with the default SIP_QUALIFY_SECONDS (60) in each aor.
const GOLDEN_ENDPOINTS = generatedFixture('three.qualify-60.generated_endpoints.conf');
const GOLDEN_ROUTING = cliFixture('three.generated_routing.conf');

/** The digests of the fixture's three users, so generated files can equal it byte for byte. */
function fixtureDigests(): { md5: string; sha256: string }[] {
  return [
    ...GOLDEN_ENDPOINTS.matchAll(/password_digest=MD5:([0-9a-f]{32}),SHA-256:([0-9a-f]{64})/g),
  ].map((m) => ({ md5: m[1], sha256: m[2] }));
}

describe('POST /apply with the fake Asterisk CLI', () => {
  let box: AsteriskSandbox;
  let db: { url: string; drop: () => Promise<void> };
  let t: TestApp;
  let pg: Client;
  const http = () => request(t.app.getHttpServer());
  const apply = (query = '') => http().post(`/apply${query}`).set('Authorization', t.auth);
  const createUser = async (name: string, email: string) =>
    (await http().post('/users').set('Authorization', t.auth).send({ name, email }).expect(201))
      .body as {
      id: string;
      extension: number;
    };
  /** One apply from a second portal instance with extra settings, on the same database. */
  const applyWith = async (env: Record<string, string>) => {
    const other = await bootApp(box.env(env), { database: db });
    try {
      return await request(other.app.getHttpServer())
        .post('/apply')
        .set('Authorization', other.auth);
    } finally {
      await other.close();
    }
  };
  const fake = (command: string): string => execFileSync(box.cli, ['-rx', command]).toString();
  const auditRows = async () =>
    (await pg.query('SELECT * FROM apply_audit_log ORDER BY started_at')).rows as {
      id: string;
      outcome: string;
      started_at: Date;
      finished_at: Date;
      summary: string;
      user_count: number;
      content_hash: string;
      request_id: string;
    }[];

  beforeEach(async () => {
    box = new AsteriskSandbox();
    db = await createTestDatabase();
    t = await bootApp(box.env(), { database: db });
    pg = t.pg;
  });
  afterEach(async () => {
    await t.close();
    await db.drop();
    box.remove();
  });

  /** The fixture's three users with the fixture's digests. */
  const seedThree = async (): Promise<{ id: string; extension: number }[]> => {
    const users = [
      await createUser('Alice Smith', 'alice@example.com'),
      await createUser("Bob O'Neil", 'bob@example.com'),
      await createUser('Zoë Ünal', 'zoe@example.com'),
    ];
    for (const [i, d] of fixtureDigests().entries()) {
      await pg.query('UPDATE extension SET md5_digest = $1, sha256_digest = $2 WHERE number = $3', [
        d.md5,
        d.sha256,
        1000 + i,
      ]);
    }
    return users;
  };

  it('writes the verified shape byte for byte, mode 0640, no temp files, audits success', async () => {
    await seedThree();
    const res = await apply().set('X-Request-Id', 'req-apply-1').expect(200);
    expect(res.body).toMatchObject({
      outcome: 'success',
      users: 3,
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(res.body.files).toEqual([
      { node: 'local', path: box.endpointsFile, changed: true, sha256: expect.any(String) },
      { node: 'local', path: box.routingFile, changed: true, sha256: expect.any(String) },
    ]);
    const { timings } = res.body;
    expect(Object.keys(timings).sort()).toEqual([
      'finishMs',
      'planMs',
      'reloadCliMs',
      'reloadMs',
      'verifyCliMs',
      'verifyMs',
      'writeMs',
    ]);
    // Both reloads and both read-backs ran, and the CLI's share is within each step's time.
    expect(timings.reloadCliMs).toBeGreaterThan(0);
    expect(timings.reloadCliMs).toBeLessThanOrEqual(timings.reloadMs);
    expect(timings.verifyCliMs).toBeGreaterThan(0);
    expect(timings.verifyCliMs).toBeLessThanOrEqual(timings.verifyMs);
    const files = box.snapshot();
    expect(stripHeader(files.endpoints!)).toBe(GOLDEN_ENDPOINTS);
    expect(stripHeader(files.routing!)).toBe(GOLDEN_ROUTING);
    expect(parseHeader(files.endpoints!)).toMatchObject({ applyId: res.body.id });
    expect(statSync(box.endpointsFile).mode & 0o777).toBe(0o640);
    expect(statSync(box.routingFile).mode & 0o777).toBe(0o640);
    expect(box.listing().filter((n) => n.endsWith('.tmp'))).toEqual([]);
    // Asterisk (the fake) now shows exactly what the real one showed for these files.
    expect(fake('pjsip show endpoints')).toBe(cliFixture('pjsip-show-endpoints.three.txt'));
    // The fixture's file had no header; ours shifts the source line numbers by its length.
    const shift = files.routing!.split('\n').length - GOLDEN_ROUTING.split('\n').length;
    expect(fake('dialplan show synergycall-internal')).toBe(
      cliFixture('dialplan-show.three.txt').replace(
        /conf:(\d+)\]/g,
        (_m, n: string) => `conf:${Number(n) + shift}]`,
      ),
    );

    const [row] = await auditRows();
    expect(row).toMatchObject({
      id: res.body.id,
      outcome: 'success',
      user_count: 3,
      request_id: 'req-apply-1',
    });
    expect(row.content_hash).toBe(res.body.hash);
    expect(row.summary).toMatch(/reloaded successfully/);
  });

  it('a second apply with no change leaves both files byte-identical', async () => {
    await seedThree();
    await apply().expect(200);
    const first = box.snapshot();
    const res = await apply().expect(200);
    expect(res.body.files.map((f: { changed: boolean }) => f.changed)).toEqual([false, false]);
    expect(box.snapshot()).toEqual(first);
    // Nothing changed, so nothing was reloaded; the state was still read back.
    const row = (await auditRows()).find((r) => r.id === res.body.id)!;
    expect(row.summary).not.toMatch(/reload/);
    expect(row.summary).toMatch(/pjsip show endpoints/);
  });

  it('reloads only the file that changed, and everything when Asterisk lost the unchanged one', async () => {
    const [alice] = await seedThree();
    await apply().expect(200);
    await http().post(`/users/${alice.id}/sip-password`).set('Authorization', t.auth).expect(200);
    const rotated = await apply().expect(200);
    expect(rotated.body.files.map((f: { changed: boolean }) => f.changed)).toEqual([true, false]);
    let row = (await auditRows()).find((r) => r.id === rotated.body.id)!;
    expect(row.summary).toMatch(/module reload res_pjsip.so/);
    expect(row.summary).not.toMatch(/dialplan reload/);

    // Asterisk no longer holds what the files say (say it restarted without them).
    rmSync(path.join(box.state, 'pjsip.json'), { force: true });
    rmSync(path.join(box.state, 'dialplan.json'), { force: true });
    const healed = await apply().expect(200);
    row = (await auditRows()).find((r) => r.id === healed.body.id)!;
    expect(row.summary).toMatch(/read-back after a partial reload failed .*endpoints missing/);
    expect(row.summary).toMatch(/dialplan reload/);
    expect(fake('pjsip show endpoints')).toBe(cliFixture('pjsip-show-endpoints.three.txt'));
  });

  it('applies zero users: empty files, no context, success', async () => {
    const res = await apply().expect(200);
    expect(res.body).toMatchObject({ outcome: 'success', users: 0 });
    expect(stripHeader(box.read(box.endpointsFile)!)).toBe('');
    expect(fake('pjsip show endpoints')).toBe('No objects found.\n\n');
  });

  it('removes a deleted user from both files and changes a rotated digest', async () => {
    const [alice, bob] = await seedThree();
    await apply().expect(200);
    await http().delete(`/users/${bob.id}`).set('Authorization', t.auth).expect(204);
    const rotated = await http()
      .post(`/users/${alice.id}/sip-password`)
      .set('Authorization', t.auth)
      .expect(200);
    const before = box.snapshot();
    await apply().expect(200);
    const after = box.snapshot();
    expect(after.endpoints).not.toContain('[1001]');
    expect(after.routing).not.toContain('1001');
    expect(after.endpoints).toContain('[1002]');
    const md5 = createHash('md5').update(`1000:asterisk:${rotated.body.sipPassword}`).digest('hex');
    expect(after.endpoints).toContain(`password_digest=MD5:${md5},`);
    expect(before.endpoints).not.toContain(md5);
    expect(fake('pjsip show aors')).not.toMatch(/Aor:\s+1001/);
  });

  it('creating, deleting and rotating never touch Asterisk or the files', async () => {
    const u = await createUser('Quiet', 'quiet@example.com');
    await http().post(`/users/${u.id}/sip-password`).set('Authorization', t.auth).expect(200);
    await http().delete(`/users/${u.id}`).set('Authorization', t.auth).expect(204);
    expect(box.listing()).toEqual([]);
    expect(fake('pjsip show endpoints')).toBe('No objects found.\n\n');
  });

  it('dry run returns contents and a diff, and writes and reloads nothing', async () => {
    await createUser('Dry Run', 'dry@example.com');
    const res = await apply('?dryRun=true').expect(200);
    expect(res.body).toMatchObject({ dryRun: true, changed: true, users: 1 });
    expect(res.body.files[0].content).toContain('callerid="Dry Run" <1000>');
    expect(res.body.files[0].diff).toContain('+callerid="Dry Run" <1000>');
    // The digests answer a SIP challenge like the password: shown redacted, never as hex.
    expect(res.body.files[0].content).toContain('\npassword_digest=<redacted>\n');
    expect(res.body.files[0].diff).toContain('\n+password_digest=<redacted>\n');
    const [{ md5_digest: md5, sha256_digest: sha256 }] = (
      await pg.query('SELECT md5_digest, sha256_digest FROM extension')
    ).rows;
    expect(JSON.stringify(res.body)).not.toContain(md5);
    expect(JSON.stringify(res.body)).not.toContain(sha256);
    expect(box.listing()).toEqual([]);
    expect(fake('pjsip show endpoints')).toBe('No objects found.\n\n');
    expect(await auditRows()).toEqual([]);
    await apply().expect(200);
    const again = await apply('?dryRun=true').expect(200);
    expect(again.body.changed).toBe(false);
    expect(again.body.files.map((f: { diff: string }) => f.diff)).toEqual(['', '']);
    // The file on disk keeps the real digests; only what is shown hides them.
    expect(box.read(box.endpointsFile)).toContain(`password_digest=MD5:${md5},SHA-256:${sha256}`);
    expect(again.body.files[0].sha256).toBe(res.body.files[0].sha256);
  });

  it('dry run checks what a real apply needs: directories, the CLI, Asterisk', async () => {
    await createUser('Checked', 'checked@example.com');
    const checks = async (env: Record<string, string> = {}) => {
      const other = await bootApp(box.env(env), { database: db });
      try {
        const res = await request(other.app.getHttpServer())
          .post('/apply?dryRun=true')
          .set('Authorization', other.auth)
          .expect(200);
        return Object.fromEntries(
          (res.body.checks as { name: string; ok: boolean; message: string }[]).map((c) => [
            c.name,
            c.ok ? 'ok' : c.message,
          ]),
        );
      } finally {
        await other.close();
      }
    };
    expect(await checks()).toEqual({
      pjsipDir: 'ok',
      dialplanDir: 'ok',
      cli: 'ok',
      asterisk: 'ok',
    });
    const missing = path.join(box.root, 'missing');
    expect(await checks({ ASTERISK_PJSIP_DIR: missing })).toMatchObject({
      pjsipDir: expect.stringMatching(/^ASTERISK_PJSIP_DIR .*missing does not exist/),
      dialplanDir: 'ok',
    });
    const cli = path.join(box.root, 'no-such-asterisk');
    expect(await checks({ ASTERISK_CLI: cli })).toMatchObject({
      cli: `Asterisk CLI not found: "${cli}" (ASTERISK_CLI)`,
      asterisk: 'not asked: the CLI could not be run',
    });
    box.setFaults({ down: true });
    expect(await checks()).toMatchObject({
      cli: 'ok',
      asterisk: expect.stringMatching(/^Unable to connect to remote asterisk/),
    });
    // Checking changed nothing.
    expect(box.listing()).toEqual([]);
    expect(await auditRows()).toEqual([]);
  });

  it('status says pending until an apply, and logs come newest first', async () => {
    const s0 = await http().get('/apply/status').set('Authorization', t.auth).expect(200);
    expect(s0.body).toEqual({
      pending: true,
      lastApply: null,
      nodes: [
        { name: 'local', pending: true, appliedHash: null, lastAppliedAt: null, lastOutcome: null },
      ],
    });
    await createUser('Pending', 'pending@example.com');
    const first = await apply().expect(200);
    const s1 = await http().get('/apply/status').set('Authorization', t.auth).expect(200);
    expect(s1.body.pending).toBe(false);
    expect(s1.body.lastApply).toMatchObject({ id: first.body.id, outcome: 'success', users: 1 });
    expect(s1.body.nodes).toEqual([
      {
        name: 'local',
        pending: false,
        appliedHash: first.body.hash,
        lastAppliedAt: expect.any(String),
        lastOutcome: 'applied',
      },
    ]);
    await createUser('Later', 'later@example.com');
    const s2 = await http().get('/apply/status').set('Authorization', t.auth).expect(200);
    expect(s2.body.pending).toBe(true);
    expect(s2.body.nodes[0]).toMatchObject({ pending: true, appliedHash: first.body.hash });
    const second = await apply().expect(200);
    const logs = await http().get('/apply/logs?limit=1').set('Authorization', t.auth).expect(200);
    expect(logs.body.items.map((l: { id: string }) => l.id)).toEqual([second.body.id]);
    expect(logs.body.total).toBe(2);
    await http().get('/apply/logs?limit=0').set('Authorization', t.auth).expect(400);
  });

  describe('faults: a recorded failure, and the last good files stay in place', () => {
    const faultCases: [string, () => void, RegExp][] = [
      ['Asterisk down', () => box.setFaults({ down: true }), /Unable to connect/],
      [
        'reload always in progress',
        () => box.setFaults({ reloadInProgress: 100 }),
        /already in progress/,
      ],
      [
        'reload times out',
        () => box.setFaults({ delayMs: { 'module reload res_pjsip.so': 10000 } }),
        /timed out/,
      ],
      [
        'a new object fails to load',
        () => box.setFaults({ rejectObjects: ['1001'] }),
        /endpoints missing: 1001; aors missing: 1001/,
      ],
      [
        'a new auth fails to load (its endpoint and aor do)',
        () => box.setFaults({ rejectObjects: ['1001-auth'] }),
        /auths missing: 1001-auth/,
      ],
      [
        'a dialplan extension is dropped',
        () => box.setFaults({ dropExtensions: ['1001'] }),
        /dialplan extensions missing: 1001/,
      ],
    ];

    it.each(faultCases)(
      '%s',
      async (_label, inject, reason) => {
        await createUser('Good One', 'one@example.com');
        const good = await apply().expect(200);
        const lastGood = box.snapshot();
        await createUser('New Two', 'two@example.com');
        inject();
        const res = await apply();
        expect(res.status).toBe(502);
        expect(res.body).toMatchObject({
          outcome: expect.stringMatching(/^(rolled_back|failed)$/),
          users: 2,
          reason: expect.stringMatching(reason),
          files: expect.any(Array),
        });
        expect(box.snapshot()).toEqual(lastGood);
        expect(box.listing().filter((n) => n.endsWith('.tmp'))).toEqual([]);
        // The answer says what is on disk now: the last good files, unchanged by this apply.
        expect(res.body.files).toEqual(
          [box.endpointsFile, box.routingFile].map((file, i) => ({
            node: 'local',
            path: file,
            changed: false,
            sha256: good.body.files[i].sha256,
          })),
        );
        expect(res.body.message).not.toBe(res.body.reason);
        expect(res.body.message.startsWith(res.body.reason.replace(/\.$/, ''))).toBe(true);
        const rows = await auditRows();
        expect(rows.map((r) => r.id)).toEqual([good.body.id, res.body.id]);
        expect(rows[1].outcome).toBe(res.body.outcome);
        expect(rows[1].summary).toMatch(reason);

        box.clearFaults();
        const recovered = await apply().expect(200);
        expect(recovered.body.users).toBe(2);
        expect(box.read(box.endpointsFile)).toContain('[1001-auth]');
      },
      30000,
    );

    it('a transient "reload in progress" is retried and succeeds', async () => {
      await createUser('Retry', 'retry@example.com');
      box.setFaults({ reloadInProgress: 2 });
      const res = await apply().expect(200);
      expect(res.body.outcome).toBe('success');
      const [row] = await auditRows();
      expect(row.summary.match(/already in progress/g)).toHaveLength(2);
    });

    it('a first apply without an Asterisk CLI says so once and leaves the directories as they were', async () => {
      await createUser('No Cli', 'nocli@example.com');
      const cli = path.join(box.root, 'no-such-asterisk');
      const res = await applyWith({ ASTERISK_CLI: cli });
      expect(res.status).toBe(502);
      const reason = `Asterisk CLI not found: "${cli}" (ASTERISK_CLI)`;
      expect(res.body.reason).toBe(reason);
      expect(res.body.message).toBe(
        `${reason}. The include directories are as they were before this apply, but Asterisk could not be reloaded with them for the same reason.`,
      );
      // Nothing had ever been good: no generated file, no last good pair, no temp file.
      expect(box.listing()).toEqual([]);
      expect(res.body.files).toEqual([
        { node: 'local', path: box.endpointsFile, changed: false, sha256: null },
        { node: 'local', path: box.routingFile, changed: false, sha256: null },
      ]);
      const rows = await auditRows();
      expect(rows.map((r) => r.outcome)).toEqual(['failed']);
      expect(rows[0].summary.startsWith(res.body.message)).toBe(true);
    });

    it('a failed first apply puts back the files that were there before it', async () => {
      await createUser('Hand Made', 'hand@example.com');
      writeFileSync(box.endpointsFile, '; written by hand before the portal\n');
      box.setFaults({ down: true });
      const res = await apply();
      expect(res.status).toBe(502);
      expect(box.snapshot()).toEqual({
        endpoints: '; written by hand before the portal\n',
        routing: null,
      });
      expect(box.listing()).toEqual(['pjsip/generated_endpoints.conf']);
      expect(res.body.files.map((f: { changed: boolean }) => f.changed)).toEqual([false, false]);
    });

    it('a missing include directory fails before writing anything', async () => {
      await createUser('Nodir', 'nodir@example.com');
      const res = await applyWith({ ASTERISK_DIALPLAN_DIR: path.join(box.root, 'missing') });
      expect(res.status).toBe(502);
      expect(res.body.outcome).toBe('failed');
      expect(res.body.reason).toMatch(
        /^ASTERISK_DIALPLAN_DIR .*missing does not exist; create it \(docs\/asterisk.md, "Include directories"\)$/,
      );
      // The section it points to exists.
      expect(readFileSync(path.join(__dirname, '..', 'docs', 'asterisk.md'), 'utf8')).toMatch(
        /^## Include directories$/m,
      );
      expect(box.listing()).toEqual([]);
      const rows = await auditRows();
      expect(rows.map((r) => r.outcome)).toEqual(['failed']);
    });
  });

  it('a row the generator refuses fails the apply before anything is written', async () => {
    await createUser('Tampered', 'tampered@example.com');
    // Only possible by editing the database by hand: the API never stores such a realm.
    await pg.query(`UPDATE extension SET realm = 'bad realm' WHERE number = 1000`);
    const res = await apply();
    expect(res.status).toBe(502);
    expect(res.body).toMatchObject({
      outcome: 'failed',
      users: 1,
      // The nodes were not reached: no file of any node was read or written.
      files: [],
      nodes: [],
    });
    expect(res.body.reason).toMatch(/^Could not generate the config: .*realm/);
    expect(res.body.message).toMatch(
      /^Could not generate the config: .*realm.*\. Nothing was written\.$/,
    );
    expect(box.listing()).toEqual([]);
    const [row] = await auditRows();
    expect(row.outcome).toBe('failed');
  });

  it('gives the files the group from ASTERISK_FILE_GROUP', async () => {
    await createUser('Grouped', 'grouped@example.com');
    expect((await applyWith({ ASTERISK_FILE_GROUP: 'postgres' })).status).toBe(200);
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    expect(statSync(box.endpointsFile).gid).toBe(gid);
    expect(statSync(box.routingFile).gid).toBe(gid);
    expect(statSync(box.routingFile).mode & 0o777).toBe(0o640);
  });

  it('10 concurrent applies all complete, serialized, with 10 audit rows', async () => {
    await seedThree();
    const results = await Promise.all(Array.from({ length: 10 }, () => apply()));
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    const rows = await auditRows();
    expect(rows).toHaveLength(10);
    expect(rows.every((r) => r.outcome === 'success')).toBe(true);
    for (let i = 1; i < rows.length; i++) {
      expect(rows[i].started_at.getTime()).toBeGreaterThanOrEqual(
        rows[i - 1].finished_at.getTime(),
      );
    }
    expect(stripHeader(box.read(box.endpointsFile)!)).toBe(GOLDEN_ENDPOINTS);
  });

  it('serializes applies across two portal instances on one database', async () => {
    await seedThree();
    const second = await bootApp(box.env(), { database: db });
    try {
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          request((i % 2 ? second : t).app.getHttpServer())
            .post('/apply')
            .set('Authorization', t.auth),
        ),
      );
      expect(results.map((r) => r.status)).toEqual(Array(8).fill(200));
    } finally {
      await second.close();
    }
    const rows = await auditRows();
    expect(rows).toHaveLength(8);
    for (let i = 1; i < rows.length; i++) {
      expect(rows[i].started_at.getTime()).toBeGreaterThanOrEqual(
        rows[i - 1].finished_at.getTime(),
      );
    }
  });

  it('closes its audit row with the real reason when loading the users fails', async () => {
    await seedThree();
    const good = await apply().expect(200);
    const before = box.snapshot();
    await createUser('Dana Four', 'dana@example.com');
    // The audit row opens, then the users' query fails: a schema the portal does not expect.
    await pg.query('ALTER TABLE extension RENAME COLUMN md5_digest TO md5_digest_gone');
    const res = await apply().set('X-Request-Id', 'req-load-fails');
    expect(res.status).toBe(500);
    expect(JSON.stringify(res.body)).not.toMatch(/md5_digest/);
    expect(box.snapshot()).toEqual(before);
    let rows = await auditRows();
    expect(rows.map((r) => [r.id === good.body.id, r.outcome])).toEqual([
      [true, 'success'],
      [false, 'failed'],
    ]);
    expect(rows[1].request_id).toBe('req-load-fails');
    expect(rows[1].finished_at).not.toBeNull();
    expect(rows[1].summary).toMatch(
      /^Could not load the users: .*md5_digest.* does not exist\. Nothing was written\./,
    );

    await pg.query('ALTER TABLE extension RENAME COLUMN md5_digest_gone TO md5_digest');
    expect((await apply().expect(200)).body.users).toBe(4);
    rows = await auditRows();
    // The next apply finds nothing left running: the failed row keeps its own reason.
    expect(rows[1].summary).not.toMatch(/interrupted/);
    expect(rows.map((r) => r.outcome)).toEqual(['success', 'failed', 'success']);
  });

  it('removes temp files a crash left behind at start-up, leaving the targets intact', async () => {
    await seedThree();
    await apply().expect(200);
    const good = box.snapshot();
    const staleA = path.join(box.pjsipDir, '.generated_endpoints.conf.0123456789ab.tmp');
    const staleB = path.join(box.dialplanDir, '.generated_routing.conf.ba9876543210.tmp');
    const staleC = path.join(box.pjsipDir, '.synergycall-last-good.json.00112233aabb.tmp');
    const foreign = path.join(box.pjsipDir, 'operator-notes.tmp');
    writeFileSync(staleA, '[half');
    writeFileSync(staleB, '[half');
    writeFileSync(staleC, '{"endpoints":');
    writeFileSync(foreign, 'not ours');
    // An apply that died between its two renames: a newer routing file beside the old endpoints.
    writeFileSync(box.routingFile, `${good.routing}exten => 1999,1,Dial(PJSIP/1999,30)\n`);
    await pg.query(
      `INSERT INTO apply_audit_log (id, started_at, outcome, user_count, summary)
       VALUES (gen_random_uuid(), now(), 'running', 3, 'started')`,
    );
    const restarted = await bootApp(box.env(), { database: db });
    try {
      expect(box.listing()).toEqual(
        [
          'pjsip/generated_endpoints.conf',
          'pjsip/.synergycall-last-good.json',
          'pjsip/operator-notes.tmp',
          'dialplan/generated_routing.conf',
        ].sort(),
      );
      expect(box.snapshot()).toEqual(good);
      const rows = await auditRows();
      expect(rows.filter((r) => r.outcome === 'running')).toEqual([]);
      expect(rows.some((r) => /interrupted/.test(r.summary))).toBe(true);
    } finally {
      await restarted.close();
    }
  });
});
