import { __resetOutOfContextForTests } from 'nestjs-pino/PinoLogger';
import request from 'supertest';
import { bootApp, TestApp } from './support/app';
import { AsteriskSandbox } from './support/asterisk-sandbox';

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

    box.setFaults({ down: true });
    keep('failed apply', await api().post('/apply').set(auth).expect(502));
    box.clearFaults();
    keep('apply again', await api().post('/apply').set(auth).expect(200));
    keep('status', await api().get('/apply/status').set(auth).expect(200));
    keep('logs', await api().get('/apply/logs').set(auth).expect(200));

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
  });
});

/**
 * An API key is shown once, in the answer that created it: never in a later answer (the key
 * list, the audit, errors) nor in a log line, at debug level, used or refused.
 */
describe('an API key appears only in the answer that created it, and in no log line', () => {
  it('walks the key routes and uses the keys on every route', async () => {
    const box = new AsteriskSandbox();
    const written: string[] = [];
    // As the abuse suite does: pino then writes through process.stdout, which this sees.
    const spy = jest
      .spyOn(process.stdout, 'write')
      .mockImplementation((chunk: string | Uint8Array): boolean => {
        written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
        return true;
      });
    __resetOutOfContextForTests();
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
        ['users:read', 'users:write', 'apply', 'audit:read', 'keys:admin'],
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
      spy.mockRestore();
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
