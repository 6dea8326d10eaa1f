import path from 'node:path';
import request from 'supertest';
import { bootApp, TestApp } from './support/app';
import { AsteriskSandbox } from './support/asterisk-sandbox';

describe('apply routes: paging the audit log, and parameters and bodies refused clearly', () => {
  let box: AsteriskSandbox;
  let t: TestApp;
  const api = () => request(t.app.getHttpServer());
  const auditRows = async () =>
    Number((await t.pg.query('SELECT count(*) AS n FROM apply_audit_log')).rows[0].n);

  beforeAll(async () => {
    box = new AsteriskSandbox();
    t = await bootApp(box.env());
  });
  afterAll(async () => {
    await t?.close();
    box?.remove();
  });

  it('a POST /apply body or query the route does not take is refused, and nothing runs', async () => {
    await api()
      .post('/users')
      .set('Authorization', t.auth)
      .send({ name: 'Apply Api', email: 'apply-api@example.com' })
      .expect(201);
    const post = (query: string) => api().post(`/apply${query}`).set('Authorization', t.auth);
    const cases: [string, () => request.Test, number, string][] = [
      ['dryRun twice', () => post('?dryRun=true&dryRun=false'), 400, 'dryRun must be given once'],
      ['dryRun=yes', () => post('?dryRun=yes'), 400, 'dryRun must be true or false'],
      ['unknown parameter', () => post('?force=1'), 400, 'property force should not exist'],
      // A client that puts the option in the body must not get a real apply instead.
      [
        'dryRun in the body',
        () => post('').send({ dryRun: true }),
        400,
        'property dryRun should not exist',
      ],
      [
        'form body',
        () => post('?dryRun=true').type('form').send('dryRun=true'),
        415,
        'Request body must be JSON (Content-Type: application/json)',
      ],
      [
        'JSON null',
        () => post('?dryRun=true').set('Content-Type', 'application/json').send('null'),
        400,
        'Request body must be a JSON object',
      ],
      [
        'status with a parameter',
        () => api().get('/apply/status?verbose=1').set('Authorization', t.auth),
        400,
        'property verbose should not exist',
      ],
    ];
    const answers = [];
    for (const [label, send] of cases) {
      const res = await send();
      answers.push([label, res.status, res.body.message]);
    }
    expect(answers).toEqual(cases.map(([label, , status, message]) => [label, status, message]));
    expect(await auditRows()).toBe(0);
    expect(box.listing()).toEqual([]);
    // An empty body, or none, is what the route takes.
    await post('?dryRun=true').send({}).expect(200);
  });

  it('an apply that fails its checks names every failing one, as its dry run lists them', async () => {
    const missing = (dir: string) => path.join(box.root, `missing-${dir}`);
    const cli = path.join(box.root, 'no-such-asterisk');
    const other = await bootApp(
      box.env({
        ASTERISK_PJSIP_DIR: missing('pjsip'),
        ASTERISK_DIALPLAN_DIR: missing('dialplan'),
        ASTERISK_CLI: cli,
      }),
    );
    try {
      const post = (query: string) =>
        request(other.app.getHttpServer()).post(`/apply${query}`).set('Authorization', other.auth);
      const dry = await post('?dryRun=true').expect(200);
      const failing = (dry.body.checks as { name: string; ok: boolean; message: string }[]).filter(
        (c) => !c.ok,
      );
      expect(failing.map((c) => c.name)).toEqual(['pjsipDir', 'dialplanDir', 'cli', 'asterisk']);
      const res = await post('').expect(502);
      expect(res.body).toMatchObject({ error: 'APPLY_FAILED', outcome: 'failed' });
      expect(res.body.reason).toBe(
        `4 checks fail: ${failing.map((c) => `${c.name}: ${c.message}`).join(' | ')}`,
      );
      expect(res.body.reason).toMatch(
        /^4 checks fail: pjsipDir: ASTERISK_PJSIP_DIR .*missing-pjsip does not exist; .* \| dialplanDir: ASTERISK_DIALPLAN_DIR .*missing-dialplan does not exist; .* \| cli: Asterisk CLI not found: .* \| asterisk: not asked: the CLI could not be run$/,
      );
      expect(res.body.message).toBe(`${res.body.reason}. Nothing was written.`);
    } finally {
      await other.close();
    }
    expect(box.listing()).toEqual([]);
  });

  it('GET /apply/logs pages like GET /users: limit, offset, {items, total}, newest first', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await api().post('/apply').set('Authorization', t.auth).expect(200)).body.id);
    }
    const newestFirst = [...ids].reverse();
    const page = async (query: string) =>
      (await api().get(`/apply/logs${query}`).set('Authorization', t.auth).expect(200)).body as {
        items: { id: string }[];
        total: number;
      };
    const ofPage = async (query: string) => {
      const body = await page(query);
      return { ids: body.items.map((l) => l.id), total: body.total };
    };
    expect(await ofPage('')).toEqual({ ids: newestFirst, total: 3 });
    expect(await ofPage('?limit=2')).toEqual({ ids: newestFirst.slice(0, 2), total: 3 });
    expect(await ofPage('?limit=2&offset=2')).toEqual({ ids: newestFirst.slice(2), total: 3 });
    expect(await ofPage('?offset=1')).toEqual({ ids: newestFirst.slice(1), total: 3 });
    expect(await ofPage('?offset=10')).toEqual({ ids: [], total: 3 });
    expect(Object.keys(await page('?limit=1')).sort()).toEqual(['items', 'total']);
  });

  it('GET /apply/logs refuses a bad parameter with one message', async () => {
    const limit = 'limit must be an integer from 1 to 500';
    const offset = 'offset must be an integer from 0 to 1000000';
    const cases: [string, string][] = [
      ['limit=0', limit],
      ['limit=501', limit],
      ['limit=abc', limit],
      ['offset=-1', offset],
      ['offset=x', offset],
      ['limit=1&limit=2', 'limit must be given once'],
      ['page=2', 'property page should not exist'],
    ];
    const answers = [];
    for (const [q] of cases) {
      const res = await api().get(`/apply/logs?${q}`).set('Authorization', t.auth);
      answers.push([q, res.status, res.body.message]);
    }
    expect(answers).toEqual(cases.map(([q, message]) => [q, 400, message]));
  });
});
