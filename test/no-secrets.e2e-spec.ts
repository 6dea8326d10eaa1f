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
