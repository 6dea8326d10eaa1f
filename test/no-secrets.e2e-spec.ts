import { createHash } from 'node:crypto';
import request from 'supertest';
import { bootApp, TestApp } from './support/app';
import { AsteriskSandbox } from './support/asterisk-sandbox';
import { captureLogs } from './support/captured-logs';

/**
 * The README promises that digests are never selected for a response: an MD5 of
 * `username:realm:password` answers a SIP digest challenge as well as the password does.
 * This walks an answer of every route, errors and dry-run diffs included, for the 32- and
 * 64-hex digests of every user it created (before and after rotating their passwords), and
 * checks that a SIP password is shown only in the answer that made it.
 */
describe('no response carries a SIP digest, and a SIP password only once', () => {
  let box: AsteriskSandbox;
  let t: TestApp;
  const answers: { label: string; text: string }[] = [];
  /** Every digest any user had at any point. */
  const digests = new Set<string>();
  /** Each SIP password and the label of the one answer allowed to show it. */
  const passwords = new Map<string, string>();

  const api = () => request(t.app.getHttpServer());
  const keep = (label: string, res: request.Response): request.Response => {
    answers.push({ label, text: res.text });
    return res;
  };
  const collectDigests = async (): Promise<void> => {
    const { rows } = await t.pg.query<{ md5_digest: string; sha256_digest: string }>(
      'SELECT md5_digest, sha256_digest FROM extension',
    );
    for (const r of rows) {
      expect(r.md5_digest).toMatch(/^[0-9a-f]{32}$/);
      expect(r.sha256_digest).toMatch(/^[0-9a-f]{64}$/);
      digests.add(r.md5_digest).add(r.sha256_digest);
    }
  };

  beforeAll(async () => {
    box = new AsteriskSandbox();
    t = await bootApp(box.env());
  });
  afterAll(async () => {
    await t?.close();
    box?.remove();
  });

  it('walks every route', async () => {
    const auth = { Authorization: t.auth };
    const ids: string[] = [];
    for (const [i, name] of ['Secret One', 'Secret Two', 'Secret Three'].entries()) {
      const label = `create ${i}`;
      const res = keep(
        label,
        await api()
          .post('/users')
          .set(auth)
          .send({ name, email: `secret${i}@example.com` })
          .expect(201),
      );
      ids.push(res.body.id);
      passwords.set(res.body.sipPassword, label);
    }
    await collectDigests();
    keep('list', await api().get('/users').set(auth).expect(200));
    keep(
      'update',
      await api().patch(`/users/${ids[0]}`).set(auth).send({ name: 'Secret Renamed' }).expect(200),
    );
    keep(
      'update, duplicate email',
      await api()
        .patch(`/users/${ids[0]}`)
        .set(auth)
        .send({ email: 'secret1@example.com' })
        .expect(409),
    );
    keep('extensions', await api().get('/extensions?status=used').set(auth).expect(200));
    keep('search', await api().get('/users?search=secret').set(auth).expect(200));
    keep('dry run, nothing on disk', await api().post('/apply?dryRun=true').set(auth).expect(200));
    keep('apply', await api().post('/apply').set(auth).expect(200));

    for (const id of ids.slice(0, 2)) {
      const label = `rotate ${id}`;
      const res = keep(label, await api().post(`/users/${id}/sip-password`).set(auth).expect(200));
      passwords.set(res.body.sipPassword, label);
    }
    await collectDigests();
    // The diff now has the old digests on its - lines and the new ones on its + lines.
    const dry = keep(
      'dry run after rotating',
      await api().post('/apply?dryRun=true').set(auth).expect(200),
    );
    expect(dry.body.changed).toBe(true);
    keep('status, pending', await api().get('/apply/status').set(auth).expect(200));
    box.setContacts([
      { aor: '1000', uri: 'sip:1000@192.0.2.10:5060', expirationTime: 4102444800, userAgent: 'X' },
    ]);
    keep('one user', await api().get(`/users/${ids[0]}`).set(auth).expect(200));
    keep('list with registration', await api().get('/users?include=registration').set(auth));
    keep('filtered list', await api().get('/users?registration=registered').set(auth).expect(200));

    box.setFaults({ down: true });
    keep('failed apply', await api().post('/apply').set(auth).expect(502));
    keep('one user, Asterisk down', await api().get(`/users/${ids[1]}`).set(auth).expect(200));
    box.clearFaults();
    keep('apply again', await api().post('/apply').set(auth).expect(200));
    keep('status', await api().get('/apply/status').set(auth).expect(200));
    keep('logs', await api().get('/apply/logs').set(auth).expect(200));
    keep('metrics', await api().get('/metrics').set(auth).expect(200));

    keep(
      'duplicate email',
      await api()
        .post('/users')
        .set(auth)
        .send({ name: 'Dup', email: 'secret0@example.com' })
        .expect(409),
    );
    keep('delete', await api().delete(`/users/${ids[2]}`).set(auth).expect(204));
    keep('delete again', await api().delete(`/users/${ids[2]}`).set(auth).expect(404));
    keep('rotate deleted', await api().post(`/users/${ids[2]}/sip-password`).set(auth).expect(404));
    keep('read deleted', await api().get(`/users/${ids[2]}`).set(auth).expect(404));
    keep('list after delete', await api().get('/users').set(auth).expect(200));
    keep('health', await api().get('/health').expect(200));

    expect(digests.size).toBe(3 * 2 + 2 * 2);
    const leaks = answers.flatMap(({ label, text }) =>
      [...digests].filter((d) => text.includes(d)).map((d) => `${label}: ${d}`),
    );
    expect(leaks).toEqual([]);
    // Whatever the digest's spelling, no answer shows a password_digest value.
    const shown = answers.filter(({ text }) => /password_digest=(?!<redacted>)/.test(text));
    expect(shown.map((a) => a.label)).toEqual([]);
    const misplaced = answers.flatMap(({ label, text }) =>
      [...passwords]
        .filter(([password, own]) => own !== label && text.includes(password))
        .map(([, own]) => `${label} shows the password of ${own}`),
    );
    expect(misplaced).toEqual([]);
    // Nor does any answer, /metrics included, repeat the API token.
    const token = t.auth.replace(/^Bearer /, '');
    expect(answers.filter(({ text }) => text.includes(token)).map((a) => a.label)).toEqual([]);
  });
});

/**
 * Imports carry passwords in: a phone's own (brought) password may never leave the portal,
 * and a generated one is shown only in the answer of the import that made it. Neither, nor
 * a digest of either, may reach an answer or a log line, a failed insert's error included.
 */
describe('imports: no answer or log line shows a brought password, a generated one only once', () => {
  const api2 = (app: TestApp) => request(app.app.getHttpServer());
  const REALM = 'secrets.example';
  const hex = (algorithm: string, s: string) => createHash(algorithm).update(s).digest('hex');

  it('walks import, dry run, invalid rows, a failed insert, export and apply', async () => {
    const box = new AsteriskSandbox();
    const { written, restore } = captureLogs();
    const answers: { label: string; text: string }[] = [];
    const generated = new Map<string, string>();
    const brought = ['Brought-Secret-0001!', 'Brought:Secret;0002', 'Brought"Secret,0003'];
    const digests = new Set<string>();
    let t: TestApp | undefined;
    try {
      t = await bootApp(box.env({ LOG_LEVEL: 'debug', SIP_REALM: REALM }));
      const app = t;
      const csv = (label: string, body: string, query = '') =>
        request(app.app.getHttpServer())
          .post(`/users/import${query}`)
          .set('Authorization', app.auth)
          .set('Content-Type', 'text/csv')
          .send(body)
          .then((res) => {
            answers.push({ label, text: res.text });
            return res;
          });
      const quoted = (p: string) => `"${p.replace(/"/g, '""')}"`;
      const file = [
        'name,email,extension,sipPassword',
        `Kept One,kept1@example.com,1100,${quoted(brought[0])}`,
        `Kept Two,kept2@example.com,,${quoted(brought[1])}`,
        'Fresh One,fresh1@example.com,,',
        'Fresh Two,fresh2@example.com,,',
      ].join('\n');

      expect((await csv('dry run', file, '?dryRun=true')).status).toBe(200);
      const invalid = `${file}\nBad Row,not-an-email,,${quoted(brought[2])}\nShort,short@example.com,,short-secret`;
      expect((await csv('invalid rows', invalid)).status).toBe(400);
      const ok = await csv('import', file);
      expect(ok.status).toBe(201);
      for (const u of ok.body.users as { sipPassword: string | null }[]) {
        if (u.sipPassword !== null) generated.set(u.sipPassword, 'import');
      }
      expect(generated.size).toBe(2);

      // An insert that fails for an unexpected reason is logged: without its values.
      await app.pg.query(
        'ALTER TABLE extension ADD CONSTRAINT test_refuse_all CHECK (number < 0) NOT VALID',
      );
      const failed = await csv(
        'failed insert',
        `name,email,extension,sipPassword\nLate,late@example.com,1200,${quoted(brought[2])}`,
      );
      // A create and a rotation that fail the same way bind digests nobody has seen: no
      // error line may hold the query's parameters or any digest-sized hex.
      const failedCreate = await api2(app)
        .post('/users')
        .set('Authorization', app.auth)
        .send({ name: 'Failed Create', email: 'failed-create@example.com' });
      const failedRotate = await api2(app)
        .post(`/users/${(ok.body.users as { id: string }[])[0].id}/sip-password`)
        .set('Authorization', app.auth);
      await app.pg.query('ALTER TABLE extension DROP CONSTRAINT test_refuse_all');
      expect([failed.status, failedCreate.status, failedRotate.status]).toEqual([500, 500, 500]);
      const late = `1200:${REALM}:${brought[2]}`;
      digests.add(hex('md5', late)).add(hex('sha256', late));

      for (const accept of ['text/csv', 'application/json']) {
        const res = await request(app.app.getHttpServer())
          .get('/users/export')
          .set('Authorization', app.auth)
          .set('Accept', accept)
          .expect(200);
        answers.push({ label: `export ${accept}`, text: res.text });
      }
      const applied = await request(app.app.getHttpServer())
        .post('/apply')
        .set('Authorization', app.auth)
        .expect(200);
      answers.push({ label: 'apply', text: applied.text });
      const { rows } = await app.pg.query<{ md5_digest: string; sha256_digest: string }>(
        'SELECT md5_digest, sha256_digest FROM extension',
      );
      for (const r of rows) digests.add(r.md5_digest).add(r.sha256_digest);
      expect(digests.size).toBe(4 * 2 + 2);
    } finally {
      await t?.close();
      restore();
      box.remove();
    }

    const log = written.join('');
    expect(log).toMatch(/POST \/users\/import 201/);
    expect(log).toMatch(/test_refuse_all/);
    const errorLines = log.split('\n').filter((line) => /"level":50/.test(line));
    expect(errorLines.length).toBeGreaterThanOrEqual(3);
    expect(errorLines.filter((line) => /"parameters"|[0-9a-f]{32}|Failing row/.test(line))).toEqual(
      [],
    );
    const everywhere = [...answers, { label: 'log', text: log }];
    const leaks = everywhere.flatMap(({ label, text }) => [
      ...brought.filter((p) => text.includes(p)).map((p) => `${label}: brought ${p}`),
      ...[...digests].filter((d) => text.includes(d)).map((d) => `${label}: digest ${d}`),
      ...[...generated]
        .filter(([p, own]) => own !== label && text.includes(p))
        .map(([p]) => `${label}: generated ${p}`),
    ]);
    expect(leaks).toEqual([]);
    expect(everywhere.filter(({ text }) => text.includes('short-secret'))).toEqual([]);
  });
});

/**
 * An API key is shown once, in the answer that created it: never in a later answer (the key
 * list, the audit, errors) nor in a log line, at debug level, used or refused.
 */
describe('an API key appears only in the answer that created it, and in no log line', () => {
  it('walks the key routes and uses the keys on every route', async () => {
    const box = new AsteriskSandbox();
    const { written, restore } = captureLogs();
    const answers: { label: string; text: string }[] = [];
    const keys = new Map<string, string>();
    let t: TestApp | undefined;
    try {
      t = await bootApp(box.env({ LOG_LEVEL: 'debug' }));
      const api = () => request(t!.app.getHttpServer());
      const keep = (label: string, res: request.Response): request.Response => {
        answers.push({ label, text: res.text });
        return res;
      };
      const boot = { Authorization: t.auth };
      for (const [i, scopes] of [
        ['users:read', 'users:write', 'apply', 'audit:read', 'keys:admin', 'metrics:read'],
        ['users:read'],
      ].entries()) {
        const label = `create key ${i}`;
        const res = keep(
          label,
          await api()
            .post('/api-keys')
            .set(boot)
            .send({ name: `leak check ${i}`, scopes })
            .expect(201),
        );
        keys.set(res.body.key, label);
      }
      const [all, reader] = [...keys.keys()];
      const as = { Authorization: `Bearer ${all}` };
      const user = keep(
        'create user',
        await api()
          .post('/users')
          .set(as)
          .send({ name: 'Keyed', email: 'keyed@example.com' })
          .expect(201),
      );
      keep('list users', await api().get('/users').set(as).expect(200));
      keep('get user', await api().get(`/users/${user.body.id}`).set(as).expect(200));
      keep(
        'update user',
        await api()
          .patch(`/users/${user.body.id}`)
          .set(as)
          .send({ name: 'Keyed Again' })
          .expect(200),
      );
      keep('extensions', await api().get('/extensions').set(as).expect(200));
      keep(
        'import',
        await api()
          .post('/users/import')
          .set(as)
          .set('Content-Type', 'text/csv')
          .send('name,email\nImported,imported-key@example.com\n')
          .expect(201),
      );
      keep('export', await api().get('/users/export').set(as).expect(200));
      keep('metrics', await api().get('/metrics').set(as).expect(200));
      keep('rotate', await api().post(`/users/${user.body.id}/sip-password`).set(as).expect(200));
      keep('apply', await api().post('/apply').set(as).expect(200));
      keep('dry run', await api().post('/apply?dryRun=true').set(as).expect(200));
      keep('status', await api().get('/apply/status').set(as).expect(200));
      keep('logs', await api().get('/apply/logs').set(as).expect(200));
      keep('keys', await api().get('/api-keys').set(as).expect(200));
      keep('audit', await api().get('/audit?limit=500').set(as).expect(200));
      keep(
        'reader writes',
        await api()
          .delete(`/users/${user.body.id}`)
          .set('Authorization', `Bearer ${reader}`)
          .expect(403),
      );
      keep(
        'wrong key',
        await api().get('/users').set('Authorization', `Bearer ${reader}x`).expect(401),
      );
      keep(
        'bad body',
        await api()
          .post('/api-keys')
          .set(as)
          .send({ name: 'x', scopes: [all] })
          .expect(400),
      );
      keep('delete user', await api().delete(`/users/${user.body.id}`).set(as).expect(204));
      const listed = await api().get('/api-keys').set(boot).expect(200);
      const readerId = listed.body.items.find(
        (k: { name: string }) => k.name === 'leak check 1',
      ).id;
      keep('revoke', await api().delete(`/api-keys/${readerId}`).set(as).expect(204));
      keep(
        'revoked',
        await api().get('/users').set('Authorization', `Bearer ${reader}`).expect(401),
      );
      keep('keys after revoke', await api().get('/api-keys').set(boot).expect(200));
      keep('audit after revoke', await api().get('/audit?limit=500').set(boot).expect(200));
    } finally {
      await t?.close();
      restore();
      box.remove();
    }
    const misplaced = answers.flatMap(({ label, text }) =>
      [...keys]
        .filter(([key, own]) => own !== label && text.includes(key.slice(12)))
        .map(([, own]) => `${label} shows the key of ${own}`),
    );
    expect(misplaced).toEqual([]);
    const log = written.join('');
    // The capture saw the requests: their ids are in it.
    expect(log).toContain('"req":{"id"');
    expect([...keys.keys()].filter((key) => log.includes(key.slice(12)))).toEqual([]);
  });
});
