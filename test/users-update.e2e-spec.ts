import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { bootApp, TestApp } from './support/app';
import { AsteriskSandbox } from './support/asterisk-sandbox';

const EXTENSION_REFUSED =
  'extension cannot be changed: a user keeps its number for life (delete the user and create it again for another)';

describe('PATCH /users/:id (real PostgreSQL, fake Asterisk CLI)', () => {
  let box: AsteriskSandbox;
  let t: TestApp;
  const api = () => request(t.app.getHttpServer());
  const create = async (name: string, email: string): Promise<{ id: string; extension: number }> =>
    (await api().post('/users').set('Authorization', t.auth).send({ name, email }).expect(201))
      .body;
  const patch = (id: string, body?: unknown) => {
    const req = api().patch(`/users/${id}`).set('Authorization', t.auth);
    return body === undefined ? req : req.send(body as object);
  };
  /** Every user row and its extension, to prove a refused PATCH wrote nothing. */
  const tables = async (): Promise<unknown[]> =>
    (
      await t.pg.query(
        `SELECT u.*, e.number, e.sip_username, e.md5_digest, e.sha256_digest
         FROM "user" u JOIN extension e ON e.user_id = u.id ORDER BY e.number`,
      )
    ).rows;
  const pending = async (): Promise<boolean> =>
    (await api().get('/apply/status').set('Authorization', t.auth).expect(200)).body.pending;

  beforeAll(async () => {
    box = new AsteriskSandbox();
    t = await bootApp(box.env());
  });
  afterAll(async () => {
    await t?.close();
    box?.remove();
  });
  beforeEach(async () => {
    await t.pg.query('DELETE FROM "user"');
  });

  it('changes the name (trimmed) and the email, and answers the user as the list shows it', async () => {
    const u = await create('Alice Smyth', 'alice@example.com');
    const res = await patch(u.id, { name: '  Alice Smith ' }).expect(200);
    const listed = (await api().get('/users').set('Authorization', t.auth).expect(200)).body;
    expect(listed.items).toEqual([res.body]);
    expect(res.body).toMatchObject({ id: u.id, name: 'Alice Smith', email: 'alice@example.com' });
    expect(res.body.extension).toBe(u.extension);

    const both = await patch(u.id, { name: 'Alice B', email: ' alice.b@example.com ' }).expect(200);
    expect(both.body).toMatchObject({ name: 'Alice B', email: 'alice.b@example.com' });
    // Its own address in another case is no conflict with itself.
    const own = await patch(u.id, { email: 'ALICE.B@example.com' }).expect(200);
    expect(own.body.email).toBe('ALICE.B@example.com');
    const { rows } = await t.pg.query('SELECT name, email FROM "user"');
    expect(rows).toEqual([{ name: 'Alice B', email: 'ALICE.B@example.com' }]);
  });

  it('refuses each bad field with the message create gives for it, and writes nothing', async () => {
    const u = await create('Bob', 'bob@example.com');
    const before = await tables();
    const cases: [string, unknown][] = [
      ['empty name', { name: '' }],
      ['blank name', { name: '   ' }],
      ['name too long', { name: 'x'.repeat(101) }],
      ['name with ;', { name: 'Bob; [x]' }],
      ['name with a newline', { name: 'Bob\n[evil]' }],
      ['name a number', { name: 5 }],
      ['name null', { name: null }],
      ['email malformed', { email: 'not-an-email' }],
      ['email too long', { email: `${'a'.repeat(250)}@x.io` }],
      ['email an array', { email: ['bob@example.com'] }],
      ['email null', { email: null }],
      ['both bad', { name: 'Bob"', email: 'nope' }],
    ];
    const answers: [string, number, string][] = [];
    const createAnswers: [string, number, string][] = [];
    for (const [label, body] of cases) {
      const res = await patch(u.id, body);
      answers.push([label, res.status, res.body.message]);
      // The same value in a create, the other field valid: the same message.
      const full = { name: 'Valid Name', email: 'valid@example.com', ...(body as object) };
      const created = await api().post('/users').set('Authorization', t.auth).send(full);
      createAnswers.push([label, created.status, created.body.message]);
    }
    // null is "required" in a create (it counts as missing) but a PATCH sends it on purpose.
    const expected = createAnswers.map(([label, status, message]): [string, number, string] =>
      label.endsWith('null')
        ? [label, status, message.replace(/ is required$/, ' must be a string')]
        : [label, status, message],
    );
    expect(answers).toEqual(expected);
    expect(answers.map(([, status]) => status)).toEqual(cases.map(() => 400));
    expect(answers.map(([, , m]) => m)).toEqual([
      'name must be 1 to 100 characters after trimming',
      'name must be 1 to 100 characters after trimming',
      'name must be 1 to 100 characters after trimming',
      expect.stringMatching(/^name may contain only letters/),
      expect.stringMatching(/^name may contain only letters/),
      'name must be a string',
      'name must be a string',
      'email must be a valid email address of at most 254 characters',
      'email must be a valid email address of at most 254 characters',
      'email must be a string',
      'email must be a string',
      expect.stringMatching(
        /^name may contain only letters.*; email must be a valid email address/,
      ),
    ]);
    expect(await tables()).toEqual(before);
  });

  it('refuses the extension, unknown fields, an empty body and odd bodies by name, and writes nothing', async () => {
    const u = await create('Carol', 'carol@example.com');
    const before = await tables();
    const send = (label: string, req: request.Test) =>
      req.then((r) => [label, r.status, r.body.message]);
    const answers = [
      await send('extension', patch(u.id, { extension: 1005 })),
      await send('extension null', patch(u.id, { extension: null })),
      await send('extension with a name', patch(u.id, { name: 'Carol B', extension: 1005 })),
      await send('sipUsername', patch(u.id, { sipUsername: '2000' })),
      await send('id', patch(u.id, { name: 'Carol B', id: randomUUID() })),
      await send('sipPassword', patch(u.id, { sipPassword: 'mine' })),
      await send('empty body', patch(u.id, {})),
      await send('no body', patch(u.id)),
      await send('query', patch(u.id, { name: 'Carol B' }).query({ force: 1 })),
      await send(
        'JSON array',
        patch(u.id).set('Content-Type', 'application/json').send('[{"name":"Carol B"}]'),
      ),
      await send('form body', patch(u.id).type('form').send('name=Carol')),
      await send(
        'prototype key',
        patch(u.id)
          .set('Content-Type', 'application/json')
          .send('{"name":"Carol B","__proto__":{"x":1}}'),
      ),
    ];
    expect(answers).toEqual([
      ['extension', 400, EXTENSION_REFUSED],
      ['extension null', 400, EXTENSION_REFUSED],
      ['extension with a name', 400, EXTENSION_REFUSED],
      ['sipUsername', 400, 'property sipUsername should not exist'],
      ['id', 400, 'property id should not exist'],
      ['sipPassword', 400, 'property sipPassword should not exist'],
      ['empty body', 400, 'Nothing to change: send name, email or both'],
      ['no body', 400, 'Nothing to change: send name, email or both'],
      ['query', 400, 'property force should not exist'],
      ['JSON array', 400, 'Request body must be a JSON object'],
      ['form body', 415, 'Request body must be JSON (Content-Type: application/json)'],
      ['prototype key', 400, 'property __proto__ should not exist'],
    ]);
    expect(await tables()).toEqual(before);
  });

  it('404 for an unknown id, 400 for a malformed one, 401 without the token: nothing written', async () => {
    await create('Dave', 'dave@example.com');
    const before = await tables();
    const unknown = randomUUID();
    const missing = await patch(unknown, { name: 'Ghost' });
    expect([missing.status, missing.body.error, missing.body.message]).toEqual([
      404,
      'USER_NOT_FOUND',
      `No user with id ${unknown}`,
    ]);
    const malformed = await patch('not-a-uuid', { name: 'Ghost' });
    expect([malformed.status, malformed.body.message]).toEqual([400, 'id must be a UUID']);
    const anonymous = await api().patch(`/users/${unknown}`).send({ name: 'Ghost' });
    expect(anonymous.status).toBe(401);
    expect(await tables()).toEqual(before);
  });

  it('409 on an email another user has, case-insensitively, with the message of create', async () => {
    await create('Erin', 'Erin@Example.com');
    const frank = await create('Frank', 'frank@example.com');
    const before = await tables();
    const res = await patch(frank.id, { name: 'Frank B', email: 'erin@example.COM' });
    const created = await api()
      .post('/users')
      .set('Authorization', t.auth)
      .send({ name: 'Other', email: 'erin@example.COM' });
    expect([res.status, res.body.error, res.body.message]).toEqual([
      409,
      'DUPLICATE_EMAIL',
      created.body.message,
    ]);
    expect(created.status).toBe(409);
    // The name sent with it was not written either.
    expect(await tables()).toEqual(before);
  });

  it('two PATCHes giving two users one email at once: exactly one wins, the other gets 409', async () => {
    for (let round = 0; round < 5; round++) {
      const a = await create(`Gina ${round}`, `gina${round}@example.com`);
      const b = await create(`Hank ${round}`, `hank${round}@example.com`);
      const email = `shared${round}@example.com`;
      const answers = await Promise.all([
        patch(a.id, { email }),
        patch(b.id, { email: email.toUpperCase() }),
      ]);
      expect(answers.map((r) => r.status).sort()).toEqual([200, 409]);
      expect(answers.find((r) => r.status === 409)?.body.error).toBe('DUPLICATE_EMAIL');
      const { rows } = await t.pg.query('SELECT id FROM "user" WHERE lower(email) = $1', [email]);
      expect(rows).toEqual([{ id: answers.find((r) => r.status === 200)?.body.id }]);
    }
  });

  it('a name change is pending until the next apply, which gives the endpoint its new caller ID', async () => {
    const u = await create('Ivy Old', 'ivy@example.com');
    await api().post('/apply').set('Authorization', t.auth).expect(200);
    expect(await pending()).toBe(false);
    expect(box.read(box.endpointsFile)).toContain(`callerid="Ivy Old" <${u.extension}>`);

    // A refused PATCH leaves nothing pending; the email is not in Asterisk's config.
    await patch(u.id, { name: 'Ivy;New' }).expect(400);
    expect(await pending()).toBe(false);
    await patch(u.id, { email: 'ivy.new@example.com' }).expect(200);
    expect(await pending()).toBe(false);

    await patch(u.id, { name: 'Ivy New' }).expect(200);
    expect(await pending()).toBe(true);
    // Nothing reaches Asterisk before the apply.
    expect(box.read(box.endpointsFile)).toContain(`callerid="Ivy Old" <${u.extension}>`);

    const applied = await api().post('/apply').set('Authorization', t.auth).expect(200);
    expect(applied.body).toMatchObject({ outcome: 'success', users: 1 });
    const endpoints = box.read(box.endpointsFile) ?? '';
    expect(endpoints).toContain(`callerid="Ivy New" <${u.extension}>`);
    expect(endpoints).not.toContain('Ivy Old');
    expect(await pending()).toBe(false);
  });
});
