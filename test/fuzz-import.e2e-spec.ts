import fc from 'fast-check';
import request from 'supertest';
import { bootApp, TestApp } from './support/app';
import { AsteriskSandbox } from './support/asterisk-sandbox';
import { ContractChecker } from './support/contract';
import { FuzzHarness, fuzzInBatches, SEED } from './support/hostile-harness';

/**
 * POST /users/import with generated files: malformed CSV, JSON of the wrong types, huge
 * fields and 10,000 rows. No answer is a 5xx or leaves the contract, an error body is
 * {statusCode, error, message} without internals, and a refused import writes no row.
 */
describe('fuzz: POST /users/import', () => {
  const IMPORT_RUNS = 600;
  const IMPORT_BATCH = 4;
  /** One harness route per test, so each test reports only what its own requests broke. */
  type Route = 'generated files' | 'huge fields' | '10,000 rows';
  let box: AsteriskSandbox;
  let t: TestApp;
  let contract: ContractChecker;
  const fuzz = new FuzzHarness<Route>(() => contract);
  let expected = 0;
  let unique = 0;
  const users = async (): Promise<number> =>
    Number((await t.pg.query<{ n: string }>('SELECT count(*) AS n FROM "user"')).rows[0].n);

  /** Sends one body, checks the answer and counts the rows it must leave. */
  const send = async (
    route: Route,
    kind: string,
    body: string,
    type = 'text/csv',
    query = '',
  ): Promise<request.Response> => {
    const res = await fuzz.send(
      route,
      `${kind}: ${body.slice(0, 200)}`,
      request(t.app.getHttpServer())
        .post(`/users/import${query}`)
        .set('Content-Type', type)
        .send(body),
      { auth: t.auth, kind, documented: 'POST /users/import' },
    );
    if (res.status === 201 && query === '') expected += (res.body as { created: number }).created;
    return res;
  };

  const LINE_ENDS = ['\n', '\r\n', '\r'];
  const header = fc.oneof(
    fc.constantFrom('name,email', 'name,email,extension,sipPassword', '\uFEFFName, Email'),
    fc
      .array(
        fc.constantFrom(
          'name',
          'email',
          'extension',
          'sipPassword',
          'sipUsername',
          'createdAt',
          'phone',
          '',
          '"name"',
        ),
        { maxLength: 7 },
      )
      .map((h) => h.join(',')),
    fc.string({ maxLength: 30 }),
  );
  const cell = fc.oneof(
    fc.constantFrom(
      '',
      '"',
      '""',
      '"a,b"',
      ',',
      '\n',
      '\uFEFF',
      '\0',
      '1000',
      '99999',
      '-1',
      '1e3',
    ),
    fc.string({ unit: 'grapheme', maxLength: 20 }),
    fc.string({ unit: 'binary', maxLength: 20 }),
  );
  const malformedCsv = fc
    .tuple(
      header,
      fc.array(
        fc.array(cell, { maxLength: 6 }).map((c) => c.join(',')),
        { maxLength: 8 },
      ),
      fc.constantFrom(...LINE_ENDS),
    )
    .map(([h, rows, eol]) => [h, ...rows].join(eol));
  /** Mostly valid rows, so imports also succeed; one in four rows has a bad field. */
  const plausibleCsv = fc
    .array(
      fc.record({
        name: fc.oneof(
          { weight: 12, arbitrary: fc.constantFrom('Alice', 'Smith, Bob', 'Ольга', '王小明') },
          { weight: 1, arbitrary: fc.constantFrom('Bad;Name', '') },
        ),
        email: fc.oneof(
          { weight: 12, arbitrary: fc.constant('ok') },
          { weight: 1, arbitrary: fc.constantFrom('bad', 'taken') },
        ),
        extension: fc.oneof(
          { weight: 12, arbitrary: fc.constant('') },
          { weight: 1, arbitrary: fc.constantFrom('1000', '5000', '999', 'abc') },
        ),
        sipPassword: fc.oneof(
          { weight: 12, arbitrary: fc.constantFrom('', 'a-good-secret-42') },
          { weight: 1, arbitrary: fc.constantFrom('short', 'with space in it') },
        ),
      }),
      { minLength: 1, maxLength: 5 },
    )
    .map((rows) => {
      const lines = rows.map((r) => {
        const email =
          r.email === 'ok'
            ? `gen${unique++}@example.com`
            : r.email === 'taken'
              ? 'taken@example.com'
              : 'no-at';
        return [`"${r.name}"`, email, r.extension, r.sipPassword].join(',');
      });
      return ['name,email,extension,sipPassword', ...lines].join('\r\n');
    });
  const wrongJson = fc.oneof(
    fc.anything({ maxDepth: 3 }),
    fc.record({ users: fc.anything({ maxDepth: 3 }) }),
    fc.record({
      users: fc.array(
        fc.oneof(
          fc.anything({ maxDepth: 2 }),
          fc.record(
            {
              name: fc.anything({ maxDepth: 1 }),
              email: fc.anything({ maxDepth: 1 }),
              extension: fc.anything({ maxDepth: 1 }),
              sipPassword: fc.anything({ maxDepth: 1 }),
              sipUsername: fc.anything({ maxDepth: 1 }),
            },
            { requiredKeys: [] },
          ),
        ),
        { maxLength: 5 },
      ),
    }),
  );
  type Case =
    | { kind: 'malformed CSV' | 'plausible CSV'; body: string; dryRun: boolean }
    | { kind: 'wrong types'; body: unknown; dryRun: boolean };
  const importCase: fc.Arbitrary<Case> = fc.oneof(
    fc.record({
      kind: fc.constant('malformed CSV' as const),
      body: malformedCsv,
      dryRun: fc.boolean(),
    }),
    fc.record({
      kind: fc.constant('plausible CSV' as const),
      body: plausibleCsv,
      dryRun: fc.boolean(),
    }),
    fc.record({ kind: fc.constant('wrong types' as const), body: wrongJson, dryRun: fc.boolean() }),
  );

  beforeAll(async () => {
    box = new AsteriskSandbox();
    t = await bootApp(box.env({ EXTENSION_MIN: '1000', EXTENSION_MAX: '9999' }));
    contract = new ContractChecker(
      (await request(t.app.getHttpServer()).get('/docs-json').expect(200)).body,
    );
    await request(t.app.getHttpServer())
      .post('/users')
      .set('Authorization', t.auth)
      .send({ name: 'Taken', email: 'taken@example.com' })
      .expect(201);
  });
  afterAll(async () => {
    console.log(`import fuzz seed ${SEED}:\n${fuzz.summary().join('\n')}`);
    await t?.close();
    box?.remove();
  });

  it(`${IMPORT_RUNS} generated files: no 5xx, a refused import writes nothing`, async () => {
    const route = 'generated files';
    expected = await users();
    await fuzzInBatches(
      importCase,
      (c) => {
        const query = c.dryRun ? '?dryRun=true' : '';
        // A JSON value that is not a string is sent as JSON text.
        return c.kind === 'wrong types'
          ? send(route, c.kind, JSON.stringify(c.body) ?? 'null', 'application/json', query)
          : send(route, c.kind, c.body, 'text/csv', query);
      },
      {
        runs: IMPORT_RUNS,
        batch: IMPORT_BATCH,
        afterBatch: async () => {
          const n = await users();
          if (n !== expected)
            fuzz.violation(route, 'row count differs from the rows of 201 answers', {
              n,
              expected,
            });
          expected = n;
        },
      },
    );
    expect(fuzz.report(route)).toEqual([]);
    // Both outcomes in quantity, or the generators mean nothing.
    const { statuses } = fuzz.stat(route);
    expect(statuses[201] ?? 0).toBeGreaterThan(20);
    expect(statuses[400] ?? 0).toBeGreaterThan(200);
  }, 120_000);

  it('huge fields are a 400 naming the field, and write nothing', async () => {
    const route = 'huge fields';
    const before = await users();
    const huge = (n: number) => 'x'.repeat(n);
    const bodies: [string, string, string][] = [
      ['name', `name,email\n${huge(500_000)},huge1@example.com\n`, 'text/csv'],
      ['email', `name,email\nHuge,${huge(500_000)}@example.com\n`, 'text/csv'],
      [
        'sipPassword',
        `name,email,sipPassword\nHuge,huge2@example.com,${huge(1_000_000)}\n`,
        'text/csv',
      ],
      [
        'extension',
        JSON.stringify({
          users: [{ name: 'Huge', email: 'huge3@example.com', extension: huge(100_000) }],
        }),
        'application/json',
      ],
      ['row', `name,email\n${huge(10)},huge4@example.com,${',x'.repeat(200_000)}\n`, 'text/csv'],
    ];
    const fields = [];
    for (const [field, body, type] of bodies) {
      const res = await send(route, `huge ${field}`, body, type);
      expect({ field, status: res.status }).toEqual({ field, status: 400 });
      fields.push(res.body.rows?.[0]?.errors?.[0]?.field);
      expect(res.text.length).toBeLessThan(5_000);
    }
    expect(fields).toEqual(['name', 'email', 'sipPassword', 'extension', 'row']);
    const header = await send(
      route,
      'huge header',
      `${'name,'.repeat(100_000)}email\nA,a@example.com\n`,
    );
    expect(header.status).toBe(400);
    expect(header.text.length).toBeLessThan(5_000);
    expect(await users()).toBe(before);
    expect(fuzz.report(route)).toEqual([]);
  });

  it('10,000 rows, as CSV or JSON, are refused in one clear 400 and write nothing', async () => {
    const route = '10,000 rows';
    const before = await users();
    const rows = Array.from({ length: 10_000 }, (_, i) => ({
      name: `Row ${i}`,
      email: `r${i}@example.com`,
    }));
    const message =
      'The import has more than 9000 rows: the extension range 1000 to 9999 holds 9000 numbers';
    const asCsv = await send(
      route,
      '10,000 rows CSV',
      ['name,email', ...rows.map((r) => `${r.name},${r.email}`)].join('\n'),
    );
    const asJson = await send(
      route,
      '10,000 rows JSON',
      JSON.stringify({ users: rows }),
      'application/json',
    );
    expect([asCsv.status, asCsv.body.message, asJson.status, asJson.body.message]).toEqual([
      400,
      message,
      400,
      message,
    ]);
    expect(await users()).toBe(before);
    expect(fuzz.report(route)).toEqual([]);
  });
});
