import { createHash } from 'node:crypto';
import { Client } from 'pg';
import request from 'supertest';
import { bootApp, TestApp } from './support/app';
import { AsteriskSandbox } from './support/asterisk-sandbox';

const REALM = 'import.example';
const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');
const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

interface Imported {
  line: number;
  id: string;
  name: string;
  email: string;
  extension: number;
  sipUsername: string;
  sipPassword: string | null;
}

describe('POST /users/import (real PostgreSQL)', () => {
  let box: AsteriskSandbox;
  let t: TestApp;
  let pg: Client;
  const http = () => request(t.app.getHttpServer());
  const csv = (text: string, query = '') =>
    http()
      .post(`/users/import${query}`)
      .set('Authorization', t.auth)
      .set('Content-Type', 'text/csv')
      .send(text);
  const json = (body: unknown, query = '') =>
    http()
      .post(`/users/import${query}`)
      .set('Authorization', t.auth)
      .send(body as object);
  const users = async () =>
    (
      await pg.query<{ name: string; email: string; extension: number }>(
        `SELECT u.name, u.email, e.number AS extension
         FROM "user" u JOIN extension e ON e.user_id = u.id ORDER BY e.number`,
      )
    ).rows;
  const count = async () => (await users()).length;

  beforeAll(async () => {
    box = new AsteriskSandbox();
    t = await bootApp(box.env({ SIP_REALM: REALM, EXTENSION_MIN: '1000', EXTENSION_MAX: '1599' }));
    pg = t.pg;
  });
  afterAll(async () => {
    await t?.close();
    box?.remove();
  });
  beforeEach(async () => {
    await pg.query('DELETE FROM "user"');
  });

  it('reads a CSV with a BOM, CRLF line ends, quoted commas and names in several scripts', async () => {
    const names = [
      'Smith, Alice',
      'Zoë O’Brien'.replace('’', "'"),
      'Ольга Петрова',
      'Γιώργος Παπαδόπουλος',
      '王小明',
      'محمد علي',
      'अनिल कुमार',
      '佐藤 花子',
    ];
    const lines = names.map((n, i) => `"${n}",user${i}@example.com`);
    const file = `\uFEFFname,email\r\n${lines.join('\r\n')}\r\n`;
    const res = await csv(file).expect(201);
    expect(res.body.created).toBe(names.length);
    expect(
      res.body.users.map((u: Imported) => [u.line, u.name, u.email, u.extension, u.sipUsername]),
    ).toEqual(names.map((n, i) => [i + 2, n, `user${i}@example.com`, 1000 + i, `${1000 + i}`]));
    for (const u of res.body.users as Imported[]) {
      expect(u.sipPassword).toMatch(/^[A-Za-z0-9]{24}$/);
    }
    expect(await users()).toEqual(
      names.map((name, i) => ({ name, email: `user${i}@example.com`, extension: 1000 + i })),
    );
  });

  it('places explicit extensions first, then gives the others the lowest free numbers in row order', async () => {
    await http()
      .post('/users')
      .set('Authorization', t.auth)
      .send({ name: 'Existing', email: 'existing@example.com' })
      .expect(201);
    const res = await csv(
      [
        'email,extension,name',
        'a@example.com,,A',
        'b@example.com,1002,B',
        'c@example.com,,C',
        'd@example.com,1001,D',
        'e@example.com,,E',
      ].join('\n'),
    ).expect(201);
    expect(res.body.users.map((u: Imported) => [u.line, u.name, u.extension])).toEqual([
      [2, 'A', 1003],
      [3, 'B', 1002],
      [4, 'C', 1004],
      [5, 'D', 1001],
      [6, 'E', 1005],
    ]);
  });

  it('counts lines as the file shows them: blank lines and quoted line breaks included', async () => {
    const res = await csv('name,email\n\nA,a@example.com\n"B\nb",b@example.com\n\nC,c\n').expect(
      400,
    );
    expect(res.body.rows).toEqual([
      { line: 4, errors: [{ field: 'name', message: expect.stringMatching(/^name may contain/) }] },
      {
        line: 7,
        errors: [
          {
            field: 'email',
            message: 'email must be a valid email address of at most 254 characters',
          },
        ],
      },
    ]);
  });

  it('a file with one bad row in 500 writes nothing and names the line', async () => {
    const rows = Array.from({ length: 500 }, (_, i) =>
      i === 249 ? `Bad;Name,bad${i}@example.com` : `User ${i},user${i}@example.com`,
    );
    const res = await csv(`name,email\n${rows.join('\n')}\n`).expect(400);
    expect(res.body).toMatchObject({
      statusCode: 400,
      error: 'IMPORT_INVALID',
      rows: [{ line: 251, errors: [{ field: 'name' }] }],
    });
    expect(res.body.message).toMatch(
      /^1 of 500 rows are invalid, nothing was imported: line 251: /,
    );
    expect(await count()).toBe(0);
  });

  it('validates each row exactly as POST /users does, and reports every row at once', async () => {
    const bad = [
      { name: '', email: 'x1@example.com' },
      { name: 'Eve [x]', email: 'not-an-email' },
      { name: 'a'.repeat(101), email: 'x3@example.com' },
      { email: 'x4@example.com' },
      { name: 'Bob', email: 7 },
    ];
    const expected: { field: string; message: string }[][] = [];
    for (const body of bad) {
      const res = await http().post('/users').set('Authorization', t.auth).send(body).expect(400);
      expected.push(
        (res.body.message as string).split(/; (?=name |email )/).map((message) => ({
          field: message.split(' ')[0],
          message,
        })),
      );
    }
    const res = await json({ users: bad }).expect(400);
    expect(res.body.rows).toEqual(expected.map((errors, i) => ({ line: i + 1, errors })));
    expect(await count()).toBe(0);
  });

  it('checks the import fields: extension in range, sipPassword rules, sipUsername, unknown fields', async () => {
    const res = await json({
      users: [
        { name: 'A', email: 'a@example.com', extension: 999 },
        { name: 'B', email: 'b@example.com', extension: '1005' },
        { name: 'C', email: 'c@example.com', sipPassword: 'short-pw' },
        { name: 'D', email: 'd@example.com', sipPassword: 'has a space in it' },
        { name: 'E', email: 'e@example.com', sipPassword: 'ünïcödé-pässwörd' },
        { name: 'F', email: 'f@example.com', sipUsername: '1010' },
        { name: 'G', email: 'g@example.com', extension: 1011, sipUsername: '1010' },
        { name: 'H', email: 'h@example.com', role: 'admin' },
        'not a row',
      ],
    }).expect(400);
    const pw = 'sipPassword must be 12 to 128 printable ASCII characters without spaces';
    expect(res.body.rows).toEqual([
      {
        line: 1,
        errors: [{ field: 'extension', message: 'extension must be an integer from 1000 to 1599' }],
      },
      {
        line: 2,
        errors: [{ field: 'extension', message: 'extension must be an integer from 1000 to 1599' }],
      },
      { line: 3, errors: [{ field: 'sipPassword', message: pw }] },
      { line: 4, errors: [{ field: 'sipPassword', message: pw }] },
      { line: 5, errors: [{ field: 'sipPassword', message: pw }] },
      {
        line: 6,
        errors: [
          {
            field: 'sipUsername',
            message:
              'sipUsername is the extension number: give extension too, or leave sipUsername out',
          },
        ],
      },
      {
        line: 7,
        errors: [{ field: 'sipUsername', message: 'sipUsername must equal extension (1011)' }],
      },
      { line: 8, errors: [{ field: 'role', message: 'property role should not exist' }] },
      { line: 9, errors: [{ field: 'row', message: 'row must be a JSON object' }] },
    ]);
    // No message repeats a password.
    expect(res.text).not.toMatch(/short-pw|has a space|pässwörd/);
  });

  it('refuses explicit extensions that collide with each other or with an existing user, naming both lines', async () => {
    await csv('name,email,extension\nOld,old@example.com,1200\n').expect(201);
    const res = await csv(
      [
        'name,email,extension',
        'A,a@example.com,1100',
        'B,b@example.com,1200',
        'C,c@example.com,1100',
        'D,OLD@example.com,',
        'E,a@EXAMPLE.com,',
      ].join('\r\n'),
    ).expect(400);
    expect(res.body.rows).toEqual([
      {
        line: 2,
        errors: [
          { field: 'email', message: 'email a@example.com is also on line 6' },
          { field: 'extension', message: 'extension 1100 is also on line 4' },
        ],
      },
      {
        line: 3,
        errors: [{ field: 'extension', message: 'extension 1200 is taken by an existing user' }],
      },
      { line: 4, errors: [{ field: 'extension', message: 'extension 1100 is also on line 2' }] },
      {
        line: 5,
        errors: [{ field: 'email', message: 'a user with email OLD@example.com already exists' }],
      },
      { line: 6, errors: [{ field: 'email', message: 'email a@EXAMPLE.com is also on line 2' }] },
    ]);
    expect(await count()).toBe(1);
  });

  it('names at most five other lines when many rows share an email', async () => {
    const rows = Array.from({ length: 300 }, (_, i) => `Same ${i},same@example.com`);
    const res = await csv(`name,email\n${rows.join('\n')}\n`).expect(400);
    expect(res.body.rows).toHaveLength(300);
    expect(res.body.rows[0].errors).toEqual([
      {
        field: 'email',
        message: 'email same@example.com is also on lines 3, 4, 5, 6, 7 and 294 more',
      },
    ]);
    expect(res.body.rows[299].errors[0].message).toBe(
      'email same@example.com is also on lines 2, 3, 4, 5, 6 and 294 more',
    );
  });

  it('stores brought and generated passwords only as digests, and the apply writes them', async () => {
    const brought = 'Kept-on-the-phone:42!';
    const res = await csv(
      `name,email,extension,sipPassword\nKeeps Phone,keep@example.com,1300,${brought}\nNew Phone,new@example.com,,\n`,
    ).expect(201);
    const [keep, fresh] = res.body.users as Imported[];
    expect(keep).toMatchObject({ extension: 1300, sipUsername: '1300', sipPassword: null });
    expect(fresh.sipPassword).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(res.text).not.toContain(brought);

    const applied = await http().post('/apply').set('Authorization', t.auth).expect(200);
    expect(applied.body.outcome).toBe('success');
    const file = box.read(box.endpointsFile) ?? '';
    for (const [user, password] of [
      [keep, brought],
      [fresh, fresh.sipPassword as string],
    ] as const) {
      const ha1 = `${user.sipUsername}:${REALM}:${password}`;
      expect(file).toContain(
        `[${user.extension}-auth]\ntype=auth\nauth_type=digest\nusername=${user.sipUsername}\nrealm=${REALM}\npassword_digest=MD5:${md5(ha1)},SHA-256:${sha256(ha1)}\n`,
      );
    }
    expect(file).not.toContain(brought);
    expect(file).not.toContain(fresh.sipPassword);
  });

  it('a dry run validates and shows the numbers, writing nothing', async () => {
    await csv('name,email\nFirst,first@example.com\n').expect(201);
    const before = await users();
    const dry = await csv(
      'name,email,extension\nA,a@example.com,\nB,b@example.com,1010\n',
      '?dryRun=true',
    ).expect(200);
    expect(dry.body).toEqual({
      dryRun: true,
      valid: true,
      created: 0,
      rows: [
        { line: 2, name: 'A', email: 'a@example.com', extension: 1001, errors: [] },
        { line: 3, name: 'B', email: 'b@example.com', extension: 1010, errors: [] },
      ],
    });
    const invalid = await json(
      { users: [{ name: ' A ', email: 'first@example.com' }] },
      '?dryRun=true',
    ).expect(200);
    expect(invalid.body).toEqual({
      dryRun: true,
      valid: false,
      created: 0,
      rows: [
        {
          line: 1,
          name: 'A',
          email: 'first@example.com',
          extension: null,
          errors: [
            { field: 'email', message: 'a user with email first@example.com already exists' },
          ],
        },
      ],
    });
    expect(await users()).toEqual(before);
    // The numbers a dry run looked at are free for the next create.
    const next = await http()
      .post('/users')
      .set('Authorization', t.auth)
      .send({ name: 'Next', email: 'next@example.com' })
      .expect(201);
    expect(next.body.extension).toBe(1001);
  });

  it('refuses a file it cannot read, with one clear 400 or 415', async () => {
    const cases: [string, request.Test][] = [
      ['unknown column', csv('name,email,phone\nA,a@example.com,123\n')],
      ['no email column', csv('name\nA\n')],
      ['unclosed quote', csv('name,email\n"A,a@example.com\n')],
      // Found by fuzzing: csv-parse's INVALID_OPENING_QUOTE has no CSV_ prefix; it was a 500.
      ['quote inside a field', csv('name,email\nMy"name,a@example.com\n')],
      // A file without its header row: its first row, a password included, is not repeated.
      ['no header row', csv('Eve,eve@example.com,1500,MySecretPassw0rd!\n')],
      ['an unknown cell that is no name', csv('name,email,pass=Secret-0123\nA,a@example.com,x\n')],
      // Found by fuzzing: 100,000 unknown columns gave a 2.8 MB message.
      [
        'many unknown columns',
        csv(`${Array.from({ length: 100_000 }, (_, i) => `x${i},`).join('')}name,email\nA,a\n`),
      ],
      ['header only', csv('name,email\r\n')],
      ['field count', csv('name,email\nA,a@example.com,extra\n')],
      ['no body', http().post('/users/import').set('Authorization', t.auth)],
      ['JSON array', json([{ name: 'A', email: 'a@example.com' }])],
      ['JSON extra key', json({ users: [], more: 1 })],
      ['users not array', json({ users: 'A' })],
      ['dryRun=maybe', csv('name,email\nA,a@example.com\n', '?dryRun=maybe')],
      [
        'text/plain',
        http()
          .post('/users/import')
          .set('Authorization', t.auth)
          .set('Content-Type', 'text/plain')
          .send('name,email\n'),
      ],
      [
        'a charset it cannot read',
        http()
          .post('/users/import')
          .set('Authorization', t.auth)
          .set('Content-Type', 'text/csv; charset=klingon')
          .send('name,email\nA,a@example.com\n'),
      ],
    ];
    const answers: [string, number, string][] = [];
    for (const [label, req] of cases) {
      const res = await req;
      answers.push([label, res.status, res.body.message]);
    }
    expect(answers).toEqual([
      [
        'unknown column',
        400,
        'CSV header: unknown column "phone" (the columns are name, email, extension, sipPassword, sipUsername, createdAt; name and email are required)',
      ],
      [
        'no email column',
        400,
        'CSV header: the header has no email column (the columns are name, email, extension, sipPassword, sipUsername, createdAt; name and email are required)',
      ],
      [
        'unclosed quote',
        400,
        'CSV could not be read: a quoted field is never closed (the file ends at line 2)',
      ],
      [
        'quote inside a field',
        400,
        'CSV could not be read: a quote inside an unquoted field at line 2 (quote the whole field and double the quotes inside it)',
      ],
      [
        'no header row',
        400,
        'CSV header: the first line must name the columns (name, email, extension, sipPassword, sipUsername, createdAt; name and email are required), and none of its 4 cells is one of them',
      ],
      [
        'an unknown cell that is no name',
        400,
        'CSV header: an unknown column (not repeated: it does not look like a column name) (the columns are name, email, extension, sipPassword, sipUsername, createdAt; name and email are required)',
      ],
      [
        'many unknown columns',
        400,
        'CSV header: unknown column "x0"; unknown column "x1"; unknown column "x2"; unknown column "x3"; unknown column "x4"; 99995 more (the columns are name, email, extension, sipPassword, sipUsername, createdAt; name and email are required)',
      ],
      ['header only', 400, 'The import has no rows'],
      [
        'field count',
        400,
        '1 of 1 rows are invalid, nothing was imported: line 2: row has 3 fields but the header has 2',
      ],
      [
        'no body',
        400,
        'Request body is required: CSV with a header row (Content-Type: text/csv), or JSON {"users": [...]}',
      ],
      ['JSON array', 400, 'Request body must be a JSON object'],
      ['JSON extra key', 400, 'property more should not exist'],
      ['users not array', 400, 'users must be an array of rows'],
      ['dryRun=maybe', 400, 'dryRun must be true or false'],
      [
        'text/plain',
        415,
        'Request body must be CSV (Content-Type: text/csv) or JSON (Content-Type: application/json)',
      ],
      [
        'a charset it cannot read',
        415,
        'Request body must be CSV (Content-Type: text/csv) or JSON (Content-Type: application/json)',
      ],
    ]);
    expect(await count()).toBe(0);
  });

  it('a file separated by semicolons is told that the separator must be a comma, and writes nothing', async () => {
    const separator =
      'CSV header: the columns must be separated by commas, not semicolons (save the file as comma-separated CSV; the columns are name, email, extension, sipPassword, sipUsername, createdAt)';
    const answers = [];
    for (const text of [
      'name;email\nAnna;anna@example.com\n',
      'Name ; Email ; Extension\r\nAnna;anna@example.com;1500\r\n',
      // Semicolons and a comma: the known names are inside a cell.
      'name;email,extension\nAnna;anna@example.com,1500\n',
    ]) {
      const res = await csv(text);
      answers.push([text, res.status, res.body.message]);
    }
    expect(answers).toEqual([
      ['name;email\nAnna;anna@example.com\n', 400, separator],
      ['Name ; Email ; Extension\r\nAnna;anna@example.com;1500\r\n', 400, separator],
      ['name;email,extension\nAnna;anna@example.com,1500\n', 400, separator],
    ]);
    // A semicolon inside an unknown column of a comma-separated header is not the separator.
    const comma = await csv('name,email,a;b\nAnna,anna@example.com,x\n').expect(400);
    expect(comma.body.message).toMatch(/^CSV header: an unknown column/);
    expect(await count()).toBe(0);
  });

  it('takes up to 2,000 rows past the 16 KB limit of other routes, and says when a body is too large', async () => {
    const wide = await bootApp(box.env({ EXTENSION_MIN: '1000', EXTENSION_MAX: '2999' }));
    try {
      const rows = Array.from({ length: 2000 }, (_, i) => ({
        name: `${'Ä'.repeat(60)} ${i}`,
        email: `user${i}.${'x'.repeat(50)}@${'d'.repeat(60)}.example.com`,
        sipPassword: `${'p'.repeat(100)}${i}`,
      }));
      const res = await request(wide.app.getHttpServer())
        .post('/users/import')
        .set('Authorization', wide.auth)
        .send({ users: rows })
        .expect(201);
      expect(res.body.created).toBe(2000);
      const big = `name,email\n${'A,a@example.com\n'.repeat(150_000)}`;
      const tooLarge = await request(wide.app.getHttpServer())
        .post('/users/import')
        .set('Authorization', wide.auth)
        .set('Content-Type', 'text/csv')
        .send(big)
        .expect(413);
      expect(tooLarge.body.message).toBe('Request body is larger than the 2148 KB limit');
      const other = await request(wide.app.getHttpServer())
        .post('/users')
        .set('Authorization', wide.auth)
        .send({ name: 'Big', email: 'big@example.com', pad: 'x'.repeat(17 * 1024) })
        .expect(413);
      expect(other.body.message).toBe('Request body is larger than the 16 KB limit');
    } finally {
      await wide.close();
    }
  });

  it('authenticates before it reads a body: a caller without a token or key gets its 401 (and, past the limit, 429) unread', async () => {
    const limited = await bootApp(box.env({ AUTH_FAILURE_LIMIT: '3' }));
    try {
      const post = () =>
        request(limited.app.getHttpServer())
          .post('/users/import')
          .set('Content-Type', 'application/json');
      // Malformed and large: were it parsed first, the answer would be a 400 or a 413.
      const malformed = `{"users": [${'{"name": "A", '.repeat(100_000)}`;
      const none = await post().send(malformed);
      const wrong = await post()
        .set('Authorization', 'Bearer wrong-token-0123456789')
        .send(malformed);
      const huge = await post()
        .set('Authorization', 'Bearer wrong-token-0123456789')
        .set('Content-Type', 'text/csv')
        .send('x'.repeat(3 * 1024 * 1024));
      expect([none, wrong, huge].map((r) => [r.status, r.body.message])).toEqual([
        [401, 'Missing Authorization header: send "Bearer <token>"'],
        [401, 'Invalid API token'],
        [401, 'Invalid API token'],
      ]);
      // Those three were failures: the fourth is refused by the limit, still unread.
      const fourth = await post().send(malformed);
      expect(fourth.status).toBe(429);
      expect(fourth.headers['retry-after']).toMatch(/^\d+$/);
      // With the token, the same body is read and refused for what it is.
      const bad = await request(t.app.getHttpServer())
        .post('/users/import')
        .set('Authorization', t.auth)
        .set('Content-Type', 'application/json')
        .send(malformed);
      expect([bad.status, bad.body.error]).toEqual([400, 'BAD_REQUEST']);
    } finally {
      await limited.close();
    }
  });

  it('refuses more rows than the range holds (400) and more than are free (409, saying how many)', async () => {
    const rows = (n: number, from = 0) =>
      Array.from({ length: n }, (_, i) => `U ${i + from},u${i + from}@example.com`).join('\n');
    const tooMany = await csv(`name,email\n${rows(601)}\n`).expect(400);
    expect(tooMany.body.message).toBe(
      'The import has more than 600 rows: the extension range 1000 to 1599 holds 600 numbers',
    );
    await csv(`name,email\n${rows(590)}\n`).expect(201);
    const full = await json({
      users: [
        { name: 'X', email: 'x@example.com', extension: 1595 },
        ...Array.from({ length: 12 }, (_, i) => ({ name: `V ${i}`, email: `v${i}@example.com` })),
      ],
    });
    expect(full.status).toBe(409);
    expect(full.body).toMatchObject({ error: 'EXTENSION_POOL_EXHAUSTED' });
    expect(full.body.message).toMatch(
      /^Not enough free extensions: 12 rows have no extension of their own, but only 9 numbers from 1000 to 1599 are free after the explicit ones/,
    );
    expect(await count()).toBe(590);
  });

  it('concurrent creates and two imports never share a number, and each import is all or nothing', async () => {
    const importOf = (prefix: string, n: number, explicit: number[]) =>
      json({
        users: Array.from({ length: n }, (_, i) => ({
          name: `${prefix} ${i}`,
          email: `${prefix}${i}@example.com`,
          ...(i < explicit.length ? { extension: explicit[i] } : {}),
        })),
      });
    const creates = Array.from({ length: 40 }, (_, i) =>
      http()
        .post('/users')
        .set('Authorization', t.auth)
        .send({ name: `Create ${i}`, email: `create${i}@example.com` }),
    );
    const [a, b, ...created] = await Promise.all([
      importOf('a', 80, [1500, 1450]),
      importOf('b', 80, [1501, 1460]),
      ...creates,
    ]);
    expect([a.status, b.status, ...created.map((c) => c.status)]).toEqual(Array(42).fill(201));
    const all = await users();
    expect(all).toHaveLength(200);
    // Every number was taken once and from the bottom: 1000..1195, and the explicit ones.
    expect(all.map((u) => u.extension)).toEqual([
      ...Array.from({ length: 196 }, (_, i) => 1000 + i),
      1450,
      1460,
      1500,
      1501,
    ]);
    const byEmail = new Map(all.map((u) => [u.email, u.extension]));
    for (const res of [a, b, ...created]) {
      const list: { email: string; extension: number }[] = res.body.users ?? [res.body];
      for (const u of list) expect(byEmail.get(u.email)).toBe(u.extension);
    }
    expect((a.body.users as Imported[]).slice(0, 2).map((u) => u.extension)).toEqual([1500, 1450]);

    // Two imports that want the same extension and the same emails: one wins, the other
    // writes nothing.
    const race = await Promise.all([importOf('c', 30, [1550]), importOf('c', 30, [1550])]);
    expect(race.map((r) => r.status).sort()).toEqual([201, 400]);
    const lost = race.find((r) => r.status === 400);
    expect(lost?.body.rows[0].errors).toContainEqual({
      field: 'extension',
      message: 'extension 1550 is taken by an existing user',
    });
    expect(await count()).toBe(230);
  });
});
