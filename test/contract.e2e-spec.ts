import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import request from 'supertest';
import type { OpenAPIV3 } from 'openapi-types';
import { HealthController } from '../src/health/health.controller';
import { bootApp, TestApp } from './support/app';
import { AsteriskSandbox } from './support/asterisk-sandbox';
import { ContractChecker } from './support/contract';
import { createTestDatabase, serverUrl } from './support/test-database';

/** Every route, as the document names it. */
const ROUTES = {
  createUser: 'POST /users',
  listUsers: 'GET /users',
  getUser: 'GET /users/{id}',
  deleteUser: 'DELETE /users/{id}',
  updateUser: 'PATCH /users/{id}',
  rotateSipPassword: 'POST /users/{id}/sip-password',
  listExtensions: 'GET /extensions',
  getMetrics: 'GET /metrics',
  importUsers: 'POST /users/import',
  exportUsers: 'GET /users/export',
  applyConfig: 'POST /apply',
  getApplyStatus: 'GET /apply/status',
  listApplyLogs: 'GET /apply/logs',
  listNodes: 'GET /nodes',
  createApiKey: 'POST /api-keys',
  listApiKeys: 'GET /api-keys',
  revokeApiKey: 'DELETE /api-keys/{id}',
  listAudit: 'GET /audit',
  getHealth: 'GET /health',
  createWebhook: 'POST /webhooks',
  listWebhooks: 'GET /webhooks',
  getWebhook: 'GET /webhooks/{id}',
  updateWebhook: 'PATCH /webhooks/{id}',
  deleteWebhook: 'DELETE /webhooks/{id}',
  rotateWebhookSecret: 'POST /webhooks/{id}/rotate-secret',
  listWebhookDeliveries: 'GET /webhooks/{id}/deliveries',
  retryWebhookDelivery: 'POST /webhooks/{id}/deliveries/{deliveryId}/retry',
  pingWebhook: 'POST /webhooks/{id}/ping',
} as const;
type Route = (typeof ROUTES)[keyof typeof ROUTES];
const PROTECTED = Object.values(ROUTES).filter((r) => r !== ROUTES.getHealth);
const WITH_BODY = [
  ROUTES.createUser,
  ROUTES.updateUser,
  ROUTES.rotateSipPassword,
  ROUTES.applyConfig,
  ROUTES.createApiKey,
  ROUTES.createWebhook,
  ROUTES.updateWebhook,
  ROUTES.rotateWebhookSecret,
  ROUTES.retryWebhookDelivery,
  ROUTES.pingWebhook,
];
/** A body each route takes, for the cases that must get past validation. */
const VALID_BODY: Partial<Record<Route, object>> = {
  [ROUTES.createUser]: { name: 'Late', email: 'x@example.com' },
  [ROUTES.updateUser]: { name: 'Renamed' },
  [ROUTES.createApiKey]: { name: 'late key', scopes: ['users:read'] },
  // Port 9 on loopback (allowed for this suite): a delivery is refused there, nothing leaves.
  [ROUTES.createWebhook]: { url: 'http://127.0.0.1:9/hooks', events: ['webhook.ping'] },
  [ROUTES.updateWebhook]: { description: 'renamed' },
};
/** A valid one-row import, for the answers that come from the database. */
const IMPORT_ONE = { type: 'text/csv', data: 'name,email\nLate,late-import@example.com\n' };

interface Call {
  /** The real path and query; the route's own path by default. */
  path?: string;
  /** Authorization header; the right token by default, none with null. */
  auth?: string | null;
  body?: unknown;
  raw?: { type: string; data: string };
  accept?: string;
  app?: TestApp;
  label?: string;
}

/**
 * The app's answers against its own OpenAPI document (/docs-json): every route, every
 * documented status of it, each body validated by openapi-response-validator against the
 * schema of its status, with no field the schema does not name.
 */
describe('OpenAPI contract: real answers match the document', () => {
  let box: AsteriskSandbox;
  let db: { url: string; drop: () => Promise<void> };
  let t: TestApp;
  let contract: ContractChecker;
  /** A user that exists for the routes that need one. */
  let userId: string;
  /** A key that exists for the routes that need one. */
  let keyId = '';
  /** A webhook, and a delivery of it, for the routes that need them. */
  let hookId = randomUUID();
  let deliveryId = randomUUID();

  /** Sends one request of `route` and checks the answer against the document. */
  const send = async (route: Route, call: Call = {}): Promise<request.Response> => {
    const [method, template] = route.split(' ');
    const app = call.app ?? t;
    const agent = request(app.app.getHttpServer());
    const id = template.startsWith('/api-keys')
      ? keyId
      : template.startsWith('/webhooks')
        ? hookId
        : userId;
    const path = call.path ?? template.replace('{id}', id).replace('{deliveryId}', deliveryId);
    let req =
      method === 'GET'
        ? agent.get(path)
        : method === 'POST'
          ? agent.post(path)
          : method === 'PATCH'
            ? agent.patch(path)
            : agent.delete(path);
    if (call.auth !== null) req = req.set('Authorization', call.auth ?? app.auth);
    if (call.accept) req = req.set('Accept', call.accept);
    if (call.raw) req = req.set('Content-Type', call.raw.type).send(call.raw.data);
    else if (call.body !== undefined) req = req.send(call.body as object);
    return contract.check(route, await req, call.label);
  };
  /** A metrics:read key's Authorization header, made through the API. */
  const metricsKey = async (): Promise<string> => {
    const res = await send(ROUTES.createApiKey, {
      body: { name: 'prometheus', scopes: ['metrics:read'] },
      label: 'metrics key',
    });
    expect(res.status).toBe(201);
    return `Bearer ${res.body.key as string}`;
  };
  const expectNoProblems = (): void => {
    expect(contract.problems.splice(0)).toEqual([]);
  };

  beforeAll(async () => {
    box = new AsteriskSandbox();
    db = await createTestDatabase();
    // A range of four numbers, so the pool can be exhausted; a failure limit the 401 cases
    // here stay under (the 429 cases use an app of their own).
    t = await bootApp(
      box.env({
        EXTENSION_MIN: '1000',
        EXTENSION_MAX: '1003',
        AUTH_FAILURE_LIMIT: '1000',
        WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1/32',
      }),
      { database: db },
    );
    const doc = (await request(t.app.getHttpServer()).get('/docs-json').expect(200))
      .body as OpenAPIV3.Document;
    contract = new ContractChecker(doc);
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
    box?.remove();
  });

  it('the checker itself refuses an unnamed field, a wrong format and an undocumented status', () => {
    const answer = (status: number, body: unknown) => ({
      status,
      body,
      text: JSON.stringify(body),
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    const good = { sipPassword: 'q3Vb7xK2mT9pLw4ZcR8sN1eY' };
    contract.check(ROUTES.rotateSipPassword, answer(200, good));
    expect(contract.problems.splice(0)).toEqual([]);
    contract.check(ROUTES.rotateSipPassword, answer(200, { ...good, md5Digest: 'x' }));
    contract.check(ROUTES.getHealth, answer(418, { status: 'ok', database: 'up' }));
    contract.check(
      ROUTES.getApplyStatus,
      answer(200, {
        pending: false,
        lastApply: {
          id: 'not-a-uuid',
          startedAt: '2026-01-01T00:00:00.000Z',
          finishedAt: null,
          outcome: 'success',
          users: 1,
          hash: null,
          durationMs: null,
          summary: '',
          requestId: null,
          actor: null,
        },
      }),
    );
    const problems = contract.problems.splice(0);
    expect(problems).toEqual([
      expect.stringMatching(/additionalProperties/),
      expect.stringMatching(/status not documented/),
      expect.stringMatching(/lastApply\/id.*must match format/),
    ]);
    contract.seen.clear();
  });

  it('every success answer, of every route', async () => {
    const status0 = await send(ROUTES.getApplyStatus);
    expect(status0.body).toEqual({
      pending: true,
      lastApply: null,
      nodes: [
        { name: 'local', pending: true, appliedHash: null, lastAppliedAt: null, lastOutcome: null },
      ],
    });
    expect((await send(ROUTES.listNodes)).body).toEqual({
      items: [
        {
          name: 'local',
          transport: 'local',
          host: null,
          answers: true,
          version: '22.7.0',
          problem: null,
          pending: true,
        },
      ],
    });
    const logs0 = await send(ROUTES.listApplyLogs);
    expect(logs0.body).toEqual({ items: [], total: 0 });

    const alice = await send(ROUTES.createUser, {
      body: { name: 'Alice Smith', email: 'alice@example.com' },
    });
    expect(alice.status).toBe(201);
    userId = alice.body.id;
    const bob = await send(ROUTES.createUser, { body: { name: 'Bob', email: 'bob@example.com' } });
    expect(bob.status).toBe(201);

    expect((await send(ROUTES.listUsers)).status).toBe(200);
    expect(
      (await send(ROUTES.listUsers, { path: '/users?search=alice&limit=1&offset=0' })).body,
    ).toMatchObject({ total: 1, items: [{ name: 'Alice Smith' }] });
    expect(
      (await send(ROUTES.updateUser, { body: { name: 'Alice Smyth', email: 'alice@example.com' } }))
        .body,
    ).toMatchObject({ id: userId, name: 'Alice Smyth' });
    expect((await send(ROUTES.rotateSipPassword)).status).toBe(200);
    expect((await send(ROUTES.listExtensions)).body).toMatchObject({
      total: 4,
      items: [
        { number: 1000, userId },
        { number: 1001, userId: bob.body.id },
        { number: 1002, userId: null },
        { number: 1003, userId: null },
      ],
    });
    expect(
      (await send(ROUTES.listExtensions, { path: '/extensions?status=free&limit=1&offset=1' }))
        .body,
    ).toEqual({ total: 2, items: [{ number: 1003, userId: null }] });
    expect((await send(ROUTES.rotateSipPassword, { body: {}, label: 'empty body' })).status).toBe(
      200,
    );

    const dry = await send(ROUTES.applyConfig, { path: '/apply?dryRun=true' });
    expect(dry.body).toMatchObject({ dryRun: true, changed: true, users: 2 });
    const applied = await send(ROUTES.applyConfig);
    expect(applied.body).toMatchObject({ outcome: 'success', users: 2 });
    expect((await send(ROUTES.getApplyStatus)).body).toMatchObject({
      pending: false,
      lastApply: { id: applied.body.id, outcome: 'success' },
    });
    expect(
      (await send(ROUTES.listApplyLogs, { path: '/apply/logs?limit=1&offset=0' })).body,
    ).toMatchObject({ total: 1, items: [{ id: applied.body.id }] });

    // Applied, then a registered phone, so the contact schema is checked on real answers too.
    box.setContacts([
      {
        aor: '1000',
        uri: 'sip:1000@192.0.2.10:5060',
        expirationTime: Math.floor(Date.now() / 1000) + 300,
        status: 'Avail',
        rttMs: 0.581,
        userAgent: 'Yealink SIP-T46S 66.86.0.15',
        viaAddress: '192.0.2.10',
        viaPort: 5060,
      },
    ]);
    const one = await send(ROUTES.getUser);
    expect(one.body).toMatchObject({
      id: userId,
      registration: { state: 'registered', contacts: [{ userAgent: expect.any(String) }] },
    });
    const listed = await send(ROUTES.listUsers, { path: '/users?include=registration' });
    expect(
      listed.body.items.map((u: { registration: { state: string } }) => u.registration.state),
    ).toEqual(['registered', 'unregistered']);
    const filtered = await send(ROUTES.listUsers, {
      path: '/users?registration=unregistered&limit=1&offset=0',
    });
    expect(filtered.body).toMatchObject({ total: 1, items: [{ name: 'Bob' }] });

    expect((await send(ROUTES.deleteUser, { path: `/users/${bob.body.id}` })).status).toBe(204);
    expect((await send(ROUTES.getHealth, { auth: null })).status).toBe(200);

    const key = await send(ROUTES.createApiKey, {
      body: { name: 'contract', scopes: ['users:read', 'audit:read'] },
    });
    expect(key.status).toBe(201);
    keyId = key.body.id;
    expect((await send(ROUTES.listUsers, { auth: `Bearer ${key.body.key}` })).status).toBe(200);
    const keys = await send(ROUTES.listApiKeys, { path: '/api-keys?limit=10&offset=0' });
    expect(keys.body).toMatchObject({ total: 1, items: [{ id: keyId }] });
    const audit = await send(ROUTES.listAudit, {
      path: `/audit?action=key.create&targetId=${keyId}&actor=bootstrap&since=2026-01-01T00:00:00Z&until=2999-01-01T00:00:00Z&limit=5&offset=0`,
      auth: `Bearer ${key.body.key}`,
    });
    expect(audit.body).toMatchObject({ total: 1, items: [{ target: { id: keyId } }] });
    expect((await send(ROUTES.listAudit)).body.total).toBeGreaterThanOrEqual(6);
    const throwaway = await send(ROUTES.createApiKey, {
      body: { name: 'gone', scopes: ['apply'] },
    });
    expect(
      (await send(ROUTES.revokeApiKey, { path: `/api-keys/${throwaway.body.id}` })).status,
    ).toBe(204);
    expect((await send(ROUTES.getMetrics)).text).toMatch(/^portal_users 1$/m);

    const csv = { type: 'text/csv', data: 'name,email,sipPassword\nCarol,carol@example.com,\n' };
    const dryImport = await send(ROUTES.importUsers, {
      path: '/users/import?dryRun=true',
      raw: csv,
      label: 'dry run',
    });
    expect(dryImport.body).toMatchObject({ dryRun: true, valid: true, created: 0 });
    const imported = await send(ROUTES.importUsers, { raw: csv });
    expect(imported.body).toMatchObject({ created: 1, users: [{ line: 2, name: 'Carol' }] });
    const brought = await send(ROUTES.importUsers, {
      body: {
        users: [{ name: 'Dave', email: 'dave@example.com', sipPassword: 'brought-pw-0123' }],
      },
      label: 'JSON, a brought password',
    });
    expect(brought.body).toMatchObject({ created: 1, users: [{ line: 1, sipPassword: null }] });
    const exported = await send(ROUTES.exportUsers, { label: 'CSV' });
    expect(exported.text.split('\n')[0]).toBe('name,email,extension,sipUsername,createdAt');
    const exportedJson = await send(ROUTES.exportUsers, { accept: 'application/json' });
    expect(exportedJson.body.users).toHaveLength(3);
    for (const u of [...imported.body.users, ...brought.body.users]) {
      expect((await send(ROUTES.deleteUser, { path: `/users/${u.id}` })).status).toBe(204);
    }

    const hook = await send(ROUTES.createWebhook, { body: VALID_BODY[ROUTES.createWebhook] });
    expect(hook.status).toBe(201);
    hookId = hook.body.id;
    expect((await send(ROUTES.listWebhooks)).body.total).toBe(1);
    expect((await send(ROUTES.getWebhook)).body.id).toBe(hookId);
    expect((await send(ROUTES.updateWebhook, { body: { enabled: true } })).status).toBe(200);
    expect((await send(ROUTES.rotateWebhookSecret)).status).toBe(200);
    const ping = await send(ROUTES.pingWebhook);
    expect(ping.status).toBe(202);
    deliveryId = ping.body.deliveryId;
    expect((await send(ROUTES.listWebhookDeliveries)).body.items[0].id).toBe(deliveryId);
    expect(
      (
        await send(ROUTES.listWebhookDeliveries, {
          path: `/webhooks/${hookId}/deliveries?status=failed`,
        })
      ).status,
    ).toBe(200);
    expect((await send(ROUTES.retryWebhookDelivery)).body.id).toBe(deliveryId);
    const other = await send(ROUTES.createWebhook, { body: VALID_BODY[ROUTES.createWebhook] });
    expect(
      (await send(ROUTES.deleteWebhook, { path: `/webhooks/${other.body.id as string}` })).status,
    ).toBe(204);
    expectNoProblems();
  });

  it('every 4xx a client can cause, with the message that names the problem', async () => {
    const messages: [string, string][] = [];
    const message = (label: string, res: request.Response) =>
      messages.push([label, res.body.message]);

    message(
      'no name',
      await send(ROUTES.createUser, { body: { email: 'x@example.com' }, label: 'no name' }),
    );
    message('limit=abc', await send(ROUTES.listUsers, { path: '/users?limit=abc' }));
    message('bad id', await send(ROUTES.deleteUser, { path: '/users/not-a-uuid' }));
    message('get bad id', await send(ROUTES.getUser, { path: '/users/not-a-uuid' }));
    message(
      'registration=maybe',
      await send(ROUTES.listUsers, { path: '/users?registration=maybe' }),
    );
    message('patch extension', await send(ROUTES.updateUser, { body: { extension: 1003 } }));
    message('rotate body', await send(ROUTES.rotateSipPassword, { body: { password: 'mine' } }));
    message('dryRun=maybe', await send(ROUTES.applyConfig, { path: '/apply?dryRun=maybe' }));
    message(
      'extensions status',
      await send(ROUTES.listExtensions, { path: '/extensions?status=x' }),
    );
    message('metrics query', await send(ROUTES.getMetrics, { path: '/metrics?x=1' }));
    message('status query', await send(ROUTES.getApplyStatus, { path: '/apply/status?all=1' }));
    message('nodes query', await send(ROUTES.listNodes, { path: '/nodes?all=1' }));
    message('logs limit=0', await send(ROUTES.listApplyLogs, { path: '/apply/logs?limit=0' }));
    message('no scopes', await send(ROUTES.createApiKey, { body: { name: 'x' } }));
    message('keys limit=0', await send(ROUTES.listApiKeys, { path: '/api-keys?limit=0' }));
    message('bad key id', await send(ROUTES.revokeApiKey, { path: '/api-keys/not-a-uuid' }));
    message('audit targetId', await send(ROUTES.listAudit, { path: '/audit?targetId=x' }));
    message(
      'import row',
      await send(ROUTES.importUsers, { body: { users: [{ name: 'Ann' }] }, label: 'invalid row' }),
    );
    message(
      'import header',
      await send(ROUTES.importUsers, {
        raw: { type: 'text/csv', data: 'name,phone\nAnn,1\n' },
        label: 'unknown column',
      }),
    );
    message('export query', await send(ROUTES.exportUsers, { path: '/users/export?all=1' }));
    message('export accept', await send(ROUTES.exportUsers, { accept: 'text/html' }));
    message(
      'loopback hook',
      await send(ROUTES.createWebhook, { body: { url: 'http://127.0.0.2/', events: ['*'] } }),
    );
    message('hooks limit=0', await send(ROUTES.listWebhooks, { path: '/webhooks?limit=0' }));
    message('hook bad id', await send(ROUTES.getWebhook, { path: '/webhooks/x' }));
    message('hook nothing', await send(ROUTES.updateWebhook, { body: {} }));
    message(
      'hook delete query',
      await send(ROUTES.deleteWebhook, { path: `/webhooks/${hookId}?x=1` }),
    );
    message('rotate body', await send(ROUTES.rotateWebhookSecret, { body: { secret: 'mine' } }));
    message(
      'deliveries status',
      await send(ROUTES.listWebhookDeliveries, { path: `/webhooks/${hookId}/deliveries?status=x` }),
    );
    message(
      'retry bad id',
      await send(ROUTES.retryWebhookDelivery, { path: `/webhooks/${hookId}/deliveries/x/retry` }),
    );
    message('ping body', await send(ROUTES.pingWebhook, { body: { x: 1 } }));
    expect(messages).toEqual([
      ['no name', 'name is required'],
      ['limit=abc', 'limit must be an integer from 1 to 1000'],
      ['bad id', 'id must be a UUID'],
      ['get bad id', 'id must be a UUID'],
      ['registration=maybe', 'registration must be one of registered, unreachable, unregistered'],
      [
        'patch extension',
        'extension cannot be changed: a user keeps its number for life (delete the user and create it again for another)',
      ],
      ['rotate body', 'property password should not exist'],
      ['dryRun=maybe', 'dryRun must be true or false'],
      ['extensions status', 'status must be free or used'],
      ['metrics query', 'property x should not exist'],
      ['status query', 'property all should not exist'],
      ['nodes query', 'property all should not exist'],
      ['logs limit=0', 'limit must be an integer from 1 to 500'],
      ['no scopes', 'scopes is required'],
      ['keys limit=0', 'limit must be an integer from 1 to 500'],
      ['bad key id', 'id must be a UUID'],
      ['audit targetId', 'targetId must be a UUID'],
      ['import row', '1 of 1 rows are invalid, nothing was imported: line 1: email is required'],
      [
        'import header',
        'CSV header: unknown column "phone"; the header has no email column (the columns are name, email, extension, sipPassword, sipUsername, createdAt; name and email are required)',
      ],
      ['export query', 'property all should not exist'],
      ['export accept', 'The export is text/csv or application/json'],
      [
        'loopback hook',
        'url is refused: 127.0.0.2 is a loopback address, and WEBHOOK_ALLOWED_NETWORKS does not name it',
      ],
      ['hooks limit=0', 'limit must be an integer from 1 to 500'],
      ['hook bad id', 'id must be a UUID'],
      ['hook nothing', 'Nothing to change: send url, events, description or enabled'],
      ['hook delete query', 'property x should not exist'],
      ['rotate body', 'property secret should not exist'],
      ['deliveries status', 'status must be one of pending, delivered, failed'],
      ['retry bad id', 'id must be a UUID'],
      ['ping body', 'property x should not exist'],
    ]);

    for (const route of PROTECTED) {
      expect((await send(route, { auth: null, label: 'no token' })).status).toBe(401);
    }
    const unknown = randomUUID();
    for (const route of [
      ROUTES.getUser,
      ROUTES.deleteUser,
      ROUTES.updateUser,
      ROUTES.rotateSipPassword,
    ]) {
      const path = route.split(' ')[1].replace('{id}', unknown);
      expect((await send(route, { path, body: VALID_BODY[route] })).body.error).toBe(
        'USER_NOT_FOUND',
      );
    }
    expect((await send(ROUTES.revokeApiKey, { path: `/api-keys/${unknown}` })).body.error).toBe(
      'API_KEY_NOT_FOUND',
    );
    for (const route of [
      ROUTES.getWebhook,
      ROUTES.updateWebhook,
      ROUTES.deleteWebhook,
      ROUTES.rotateWebhookSecret,
      ROUTES.listWebhookDeliveries,
      ROUTES.retryWebhookDelivery,
      ROUTES.pingWebhook,
    ]) {
      const path = route.split(' ')[1].replace('{id}', unknown).replace('{deliveryId}', unknown);
      expect((await send(route, { path, body: VALID_BODY[route] })).body.error).toBe(
        'WEBHOOK_NOT_FOUND',
      );
    }
    const noDelivery = `/webhooks/${hookId}/deliveries/${unknown}/retry`;
    expect((await send(ROUTES.retryWebhookDelivery, { path: noDelivery })).body.error).toBe(
      'WEBHOOK_DELIVERY_NOT_FOUND',
    );

    const create = (name: string, email: string) =>
      send(ROUTES.createUser, { body: { name, email } });
    expect((await create('Alice Again', 'ALICE@example.com')).body.error).toBe('DUPLICATE_EMAIL');
    for (let i = 0; i < 3; i++)
      expect((await create(`Filler ${i}`, `f${i}@example.com`)).status).toBe(201);
    const taken = await send(ROUTES.updateUser, { body: { email: 'F0@example.com' } });
    expect(taken.body.error).toBe('DUPLICATE_EMAIL');
    expect((await create('One Too Many', 'late@example.com')).body.error).toBe(
      'EXTENSION_POOL_EXHAUSTED',
    );
    const full = await send(ROUTES.importUsers, {
      body: { users: [{ name: 'Late', email: 'late@example.com' }] },
      label: 'range full',
    });
    expect(full.body.error).toBe('EXTENSION_POOL_EXHAUSTED');

    // The import's own body rules: 2,000 rows' worth rather than 16 KB, CSV or JSON.
    const huge = JSON.stringify({ users: [], pad: 'x'.repeat(2200 * 1024) });
    const importTooLarge = await send(ROUTES.importUsers, {
      raw: { type: 'application/json', data: huge },
    });
    expect(importTooLarge.status).toBe(413);
    const importForm = await send(ROUTES.importUsers, {
      raw: { type: 'application/x-www-form-urlencoded', data: 'name=Eve' },
    });
    expect(importForm.status).toBe(415);

    for (const route of WITH_BODY) {
      const big = JSON.stringify({ pad: 'x'.repeat(17 * 1024) });
      const tooLarge = await send(route, { raw: { type: 'application/json', data: big } });
      expect({ route, status: tooLarge.status }).toEqual({ route, status: 413 });
      const form = await send(route, {
        raw: { type: 'application/x-www-form-urlencoded', data: 'name=Eve' },
      });
      expect({ route, status: form.status, message: form.body.message }).toEqual({
        route,
        status: 415,
        message: 'Request body must be JSON (Content-Type: application/json)',
      });
    }
    expectNoProblems();
  });

  it('403 on every route that needs the token, for an API key without its scope', async () => {
    const doc = (await request(t.app.getHttpServer()).get('/docs-json')).body as OpenAPIV3.Document;
    for (const route of PROTECTED) {
      const [method, path] = route.split(' ');
      const op: Record<string, unknown> | undefined =
        doc.paths[path]?.[method.toLowerCase() as OpenAPIV3.HttpMethods];
      const scope = op?.['x-required-scope'];
      const other = scope === 'apply' ? 'audit:read' : 'apply';
      const res = await request(t.app.getHttpServer())
        .post('/api-keys')
        .set('Authorization', t.auth)
        .send({ name: `not ${String(scope)}`, scopes: [other] })
        .expect(201);
      const refused = await send(route, {
        auth: `Bearer ${res.body.key}`,
        body: VALID_BODY[route],
        raw: route === ROUTES.importUsers ? IMPORT_ONE : undefined,
        label: 'scope missing',
      });
      expect({ route, status: refused.status, message: refused.body.message }).toEqual({
        route,
        status: 403,
        message: `this API key lacks the scope ${String(scope)}`,
      });
    }
    expectNoProblems();
  });

  it('429 with Retry-After on every route that needs the token, once an address is blocked', async () => {
    const limited = await bootApp(box.env({ AUTH_FAILURE_LIMIT: '1' }), { database: db });
    try {
      const wrong = { app: limited, auth: 'Bearer wrong-token-0123456789', label: 'wrong token' };
      // The limit is one failure: the second is over it and blocks the address.
      expect((await send(ROUTES.listUsers, wrong)).status).toBe(401);
      expect((await send(ROUTES.listUsers, wrong)).status).toBe(429);
      for (const route of PROTECTED) {
        const res = await send(route, { app: limited, label: 'blocked' });
        expect({ route, status: res.status }).toEqual({ route, status: 429 });
        expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      }
    } finally {
      await limited.close();
    }
    expectNoProblems();
  });

  it('502 from POST /apply has the error body and the apply fields, as documented', async () => {
    box.setFaults({ down: true });
    try {
      const res = await send(ROUTES.applyConfig, { label: 'Asterisk down' });
      expect(res.status).toBe(502);
      // Reading a user still answers; a registration filter cannot. A fresh app has no listing
      // cached from before.
      const fresh = await bootApp(box.env(), { database: db });
      const user = await send(ROUTES.getUser, { app: fresh, label: 'Asterisk down' });
      expect(user.body.registration).toMatchObject({
        state: 'unknown',
        reason: expect.any(String),
      });
      const filtered = await send(ROUTES.listUsers, {
        path: '/users?registration=registered',
        app: fresh,
        label: 'Asterisk down',
      });
      expect(filtered.body).toMatchObject({ statusCode: 503, error: 'ASTERISK_UNAVAILABLE' });
      await fresh.close();
      expect(res.body).toMatchObject({
        statusCode: 502,
        error: 'APPLY_FAILED',
        message: expect.any(String),
        requestId: res.headers['x-request-id'],
      });
    } finally {
      box.clearFaults();
    }
    expectNoProblems();
  });

  it('500 on every route that needs the token, when a query fails unexpectedly', async () => {
    const tables = [
      'user',
      'extension',
      'apply_audit_log',
      'api_key',
      'change_audit',
      'webhook_subscription',
      'webhook_event',
      'webhook_delivery',
      'webhook_attempt',
    ];
    const rename = async (from: (t: string) => string, to: (t: string) => string) => {
      for (const table of tables) {
        await t.pg.query(`ALTER TABLE "${from(table)}" RENAME TO "${to(table)}"`);
      }
    };
    const gone = (table: string) => `${table}_gone`;
    const same = (table: string) => table;
    const key = await metricsKey();
    await rename(same, gone);
    try {
      for (const route of PROTECTED) {
        const res = await send(route, {
          body: VALID_BODY[route],
          raw: route === ROUTES.importUsers ? IMPORT_ONE : undefined,
          label: 'tables renamed',
        });
        // The metrics leave out the gauges they cannot read, and answer.
        const status = route === ROUTES.getMetrics ? 200 : 500;
        const error = route === ROUTES.getMetrics ? undefined : 'INTERNAL_ERROR';
        expect({ route, status: res.status, error: res.body.error }).toEqual({
          route,
          status,
          error,
        });
      }
      // With a key, the key's own look-up fails first.
      const withKey = await send(ROUTES.getMetrics, { auth: key, label: 'tables renamed, key' });
      expect([withKey.status, withKey.body.error]).toEqual([500, 'INTERNAL_ERROR']);
    } finally {
      await rename(gone, same);
    }
    expectNoProblems();
  });

  it('500 on GET /health too, when its check fails in a way it does not expect', async () => {
    // Its database errors are the documented 503; only a fault of the portal itself is a 500.
    const health = t.app.get<HealthController, { probe: () => Promise<boolean> }>(HealthController);
    const probe = jest.spyOn(health, 'probe').mockRejectedValue(new Error('not a database error'));
    try {
      const res = await send(ROUTES.getHealth, { auth: null, label: 'health fails unexpectedly' });
      expect(res.body).toEqual({
        statusCode: 500,
        error: 'INTERNAL_ERROR',
        message: `Internal error; quote request id ${res.headers['x-request-id']} to the operator`,
        requestId: res.headers['x-request-id'],
      });
    } finally {
      probe.mockRestore();
    }
    expectNoProblems();
  });

  it('503 on every route that reads the database, /health included, while it refuses connections; the metrics say so', async () => {
    const admin = new Client({ connectionString: serverUrl() });
    await admin.connect();
    const dbName = decodeURIComponent(new URL(db.url).pathname.slice(1));
    const allow = (yes: boolean) =>
      admin.query(`ALTER DATABASE "${dbName}" ALLOW_CONNECTIONS ${yes}`);
    const key = await metricsKey();
    try {
      await allow(false);
      await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [dbName],
      );
      for (const route of Object.values(ROUTES)) {
        const res = await send(route, {
          auth: route === ROUTES.getHealth ? null : undefined,
          body: VALID_BODY[route],
          raw: route === ROUTES.importUsers ? IMPORT_ONE : undefined,
          label: 'database down',
        });
        // The metrics still answer, saying the database is down, without its gauges.
        const status = route === ROUTES.getMetrics ? 200 : 503;
        expect({ route, status: res.status }).toEqual({ route, status });
        if (route === ROUTES.getMetrics) {
          expect(res.text).toMatch(/^portal_database_up 0$/m);
          expect(res.text).not.toMatch(/^portal_users /m);
        }
      }
      // A key cannot be checked without the database.
      const withKey = await send(ROUTES.getMetrics, { auth: key, label: 'database down, key' });
      expect([withKey.status, withKey.body.error]).toEqual([503, 'DATABASE_UNAVAILABLE']);
    } finally {
      await allow(true);
      await admin.end();
    }
    expectNoProblems();
  });

  it('exercised every response the document names, and no other', () => {
    const documented = contract.documented();
    expect(documented.filter((r) => !contract.seen.has(r))).toEqual([]);
    expect([...contract.seen].filter((r) => !documented.includes(r))).toEqual([]);
    expect(documented.length).toBeGreaterThan(50);
  });
});
