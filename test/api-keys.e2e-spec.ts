import { PATH_METADATA } from '@nestjs/common/constants';
import { DiscoveryService, MetadataScanner, ModulesContainer, Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { randomUUID } from 'node:crypto';
import type { OpenAPIV3 } from 'openapi-types';
import request from 'supertest';
import { Authenticator } from '../src/auth/authenticator';
import { BearerAuthGuard } from '../src/auth/bearer-auth.guard';
import { IS_PUBLIC } from '../src/common/access/public.decorator';
import { REQUIRED_SCOPE } from '../src/common/access/requires-scope.decorator';
import { Scope, SCOPES } from '../src/common/access/scopes';
import { forbidden } from '../src/common/errors/domain-errors';
import { bootApp, TestApp, TEST_TOKEN } from './support/app';
import { createKey } from './support/api-keys';
import { createTestDatabase } from './support/test-database';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

interface Operation {
  method: (typeof METHODS)[number];
  path: string;
  scope: Scope;
}

/** Every operation of the document that names a scope. */
function scopedOperations(doc: OpenAPIV3.Document): Operation[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    METHODS.flatMap((method) => {
      const op = item?.[method] as
        (OpenAPIV3.OperationObject & Record<string, unknown>) | undefined;
      const scope = op?.['x-required-scope'];
      return op && typeof scope === 'string' ? [{ method, path, scope: scope as Scope }] : [];
    }),
  );
}

describe('API keys and scopes (real PostgreSQL)', () => {
  let db: { url: string; drop: () => Promise<void> };
  let t: TestApp;
  let doc: OpenAPIV3.Document;
  const http = (app = t) => request(app.app.getHttpServer());

  beforeAll(async () => {
    db = await createTestDatabase();
    t = await bootApp({ AUTH_FAILURE_LIMIT: '1000' }, { database: db });
    doc = (await http().get('/docs-json').expect(200)).body as OpenAPIV3.Document;
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('every route of every controller is @Public or names a scope, so none can be forgotten', () => {
    const discovery = new DiscoveryService(t.app.get(ModulesContainer));
    const scanner = new MetadataScanner();
    const reflector = new Reflector();
    const routes: { route: string; scope: unknown; isPublic: unknown }[] = [];
    for (const wrapper of discovery.getControllers()) {
      const type = wrapper.metatype as (new (...args: never[]) => object) | null;
      if (!type) continue;
      for (const name of scanner.getAllMethodNames(type.prototype)) {
        const handler = (type.prototype as Record<string, unknown>)[name] as () => unknown;
        if (Reflect.getMetadata(PATH_METADATA, handler) === undefined) continue;
        routes.push({
          route: `${type.name}.${name}`,
          scope: reflector.get(REQUIRED_SCOPE, handler),
          isPublic: reflector.getAllAndOverride(IS_PUBLIC, [handler, type]),
        });
      }
    }
    expect(routes.length).toBeGreaterThanOrEqual(18);
    const unguarded = routes.filter((r) => !r.isPublic && !SCOPES.includes(r.scope as Scope));
    expect(unguarded).toEqual([]);
    expect(routes.filter((r) => r.isPublic).map((r) => r.route)).toEqual([
      'HealthController.check',
    ]);
  });

  it('the document gives every operation with a bearer requirement its scope, a 401 and a 403', () => {
    const problems: string[] = [];
    let secured = 0;
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of METHODS) {
        const op = item?.[method] as
          (OpenAPIV3.OperationObject & Record<string, unknown>) | undefined;
        // /health's `[{}]` requires nothing: only a bearer requirement needs a scope.
        if (!op?.security?.some((r) => 'bearer' in r)) continue;
        secured++;
        const where = `${method.toUpperCase()} ${path}`;
        const scope = op['x-required-scope'];
        if (!SCOPES.includes(scope as Scope)) problems.push(`${where}: no x-required-scope`);
        if (!op.description?.startsWith(`Requires the scope \`${String(scope)}\``))
          problems.push(`${where}: description does not name the scope`);
        for (const status of ['401', '403'])
          if (!op.responses[status]) problems.push(`${where}: ${status} undocumented`);
      }
    }
    expect(problems).toEqual([]);
    expect(secured).toBe(scopedOperations(doc).length);
    expect(doc.paths['/health']?.get?.security).toEqual([{}]);
  });

  it('a route with neither a scope nor @Public is refused to every key, and open to the bootstrap token', async () => {
    const { key } = await createKey(t, [...SCOPES], 'all scopes');
    const guard = new BearerAuthGuard(new Reflector(), t.app.get(Authenticator));
    class Unannotated {
      route(): void {}
    }
    // The guard as Nest runs it, on a handler that has no metadata at all.
    const host = (token: string) => {
      const ctx = new ExecutionContextHost([
        { headers: { authorization: `Bearer ${token}` }, ip: '127.0.0.1', socket: {} },
        {},
      ]);
      Object.assign(ctx, {
        getHandler: () => Unannotated.prototype.route,
        getClass: () => Unannotated,
      });
      return ctx;
    };
    await expect(guard.canActivate(host(key))).rejects.toThrow(
      forbidden('this route is not open to API keys'),
    );
    await expect(guard.canActivate(host(TEST_TOKEN))).resolves.toBe(true);
  });

  it('each scope allows exactly its routes and refuses every other with 403 naming the missing scope', async () => {
    const operations = scopedOperations(doc);
    // The README's table, route by route: a route added or moved to another scope fails here.
    expect(Object.fromEntries(operations.map((o) => [`${o.method} ${o.path}`, o.scope]))).toEqual({
      'post /users': 'users:write',
      'get /users': 'users:read',
      'get /users/{id}': 'users:read',
      'patch /users/{id}': 'users:write',
      'delete /users/{id}': 'users:write',
      'post /users/{id}/sip-password': 'users:write',
      'post /users/import': 'users:write',
      'get /users/export': 'users:read',
      'get /extensions': 'users:read',
      'post /apply': 'apply',
      'get /apply/status': 'apply',
      'get /apply/logs': 'apply',
      'get /nodes': 'apply',
      'post /api-keys': 'keys:admin',
      'get /api-keys': 'keys:admin',
      'delete /api-keys/{id}': 'keys:admin',
      'get /audit': 'audit:read',
      'get /metrics': 'metrics:read',
      'post /webhooks': 'webhooks:admin',
      'get /webhooks': 'webhooks:admin',
      'get /webhooks/{id}': 'webhooks:admin',
      'patch /webhooks/{id}': 'webhooks:admin',
      'delete /webhooks/{id}': 'webhooks:admin',
      'post /webhooks/{id}/rotate-secret': 'webhooks:admin',
      'get /webhooks/{id}/deliveries': 'webhooks:admin',
      'post /webhooks/{id}/deliveries/{deliveryId}/retry': 'webhooks:admin',
      'post /webhooks/{id}/ping': 'webhooks:admin',
    });
    // Every scope guards at least one route.
    expect(new Set(operations.map((o) => o.scope))).toEqual(new Set(SCOPES));
    const keys = new Map<Scope | 'all', string>();
    for (const scope of SCOPES) keys.set(scope, (await createKey(t, [scope])).auth);
    keys.set('all', (await createKey(t, [...SCOPES])).auth);

    // An unknown query parameter makes every route answer 400 once the guard let it through,
    // so nothing is changed by the walk; the guard's answer comes before any validation.
    const send = (op: Operation, auth: string) => {
      const path = op.path.replace(/\{[^}]+\}/g, randomUUID()) + '?scopeProbe=1';
      let req = http()[op.method](path).set('Authorization', auth);
      if (op.method !== 'get' && op.method !== 'delete') req = req.send({});
      return req;
    };
    const table: string[] = [];
    const expected: string[] = [];
    for (const op of operations) {
      for (const [holder, auth] of [...keys, ['bootstrap', `Bearer ${TEST_TOKEN}`] as const]) {
        const res = await send(op, auth);
        const allowed = holder === 'all' || holder === 'bootstrap' || holder === op.scope;
        const seen =
          res.status === 403 ? `403 ${res.body.message}` : res.status === 401 ? '401' : 'passed';
        const route = `${op.method.toUpperCase()} ${op.path}`;
        table.push(`${route} with ${holder}: ${seen}`);
        expected.push(
          `${route} with ${holder}: ${allowed ? 'passed' : `403 this API key lacks the scope ${op.scope}`}`,
        );
      }
    }
    expect(table).toEqual(expected);
  });

  it('a metrics:read key scrapes /metrics and nothing else: no names, no emails, no apply', async () => {
    await http()
      .post('/users')
      .set('Authorization', t.auth)
      .send({ name: 'Scraped', email: 'scraped@example.com' })
      .expect(201);
    const prometheus = await createKey(t, ['metrics:read'], 'prometheus');
    const scrape = await http().get('/metrics').set('Authorization', prometheus.auth).expect(200);
    expect(scrape.text).toMatch(/^portal_users \d+$/m);
    expect(scrape.text).not.toContain('scraped@example.com');
    for (const [method, path, scope] of [
      ['get', '/users', 'users:read'],
      ['get', '/users/export', 'users:read'],
      ['post', '/apply', 'apply'],
      ['post', '/apply?dryRun=true', 'apply'],
    ] as const) {
      const res = await http()[method](path).set('Authorization', prometheus.auth);
      expect({ path, status: res.status, message: res.body.message }).toEqual({
        path,
        status: 403,
        message: `this API key lacks the scope ${scope}`,
      });
    }
  });

  it('creates a key shown once: scp_ and 43 base64url characters, prefix the 8 after scp_', async () => {
    const res = await http()
      .post('/api-keys')
      .set('Authorization', t.auth)
      .send({ name: '  billing service ', scopes: ['users:read', 'apply'] })
      .expect(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'billing service',
      scopes: ['users:read', 'apply'],
      prefix: res.body.key.slice(4, 12),
      key: expect.stringMatching(/^scp_[A-Za-z0-9_-]{43}$/),
      createdAt: expect.any(String),
    });
    expect(Buffer.from(res.body.key.slice(4), 'base64url')).toHaveLength(32);
    const list = await http().get('/api-keys?limit=500').set('Authorization', t.auth).expect(200);
    const listed = list.body.items.find((k: { id: string }) => k.id === res.body.id);
    expect(listed).toEqual({
      id: res.body.id,
      name: 'billing service',
      scopes: ['users:read', 'apply'],
      prefix: res.body.prefix,
      createdAt: res.body.createdAt,
      lastUsedAt: null,
      revokedAt: null,
    });
    expect(list.text).not.toContain(res.body.key.slice(12));
    expect(list.body.total).toBe(list.body.items.length);
    // Newest first.
    expect(list.body.items[0].id).toBe(res.body.id);
    const { rows } = await t.pg.query('SELECT key_hash FROM api_key WHERE id = $1', [res.body.id]);
    expect(rows[0].key_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses bad bodies with 400s that name the problem, listing the valid scopes', async () => {
    const post = (body: unknown) =>
      http()
        .post('/api-keys')
        .set('Authorization', t.auth)
        .send(body as object);
    const before = await t.pg.query('SELECT count(*)::int AS n FROM api_key');
    const cases: [unknown, string][] = [
      [{ scopes: ['apply'] }, 'name is required'],
      [{ name: 'x' }, 'scopes is required'],
      [
        { name: 'x', scopes: ['users:read', 'users:admin'] },
        'scopes has unknown scope "users:admin"; the valid scopes are users:read, users:write, apply, audit:read, keys:admin, metrics:read, webhooks:admin',
      ],
      [
        { name: 'x', scopes: ['scp_QWxhZGRpbjpvcGVuIHNlc2FtZQ0123456789abcdefgh'] },
        'scopes has a value that is not a scope name; the valid scopes are users:read, users:write, apply, audit:read, keys:admin, metrics:read, webhooks:admin',
      ],
      [{ name: 'x', scopes: [] }, expect.stringContaining('scopes must be a non-empty array')],
      [{ name: 'x', scopes: 'apply' }, expect.stringContaining('scopes must be a non-empty array')],
      [{ name: 'x', scopes: ['apply', 'apply'] }, 'scopes must not name a scope twice'],
      [{ name: '   ', scopes: ['apply'] }, 'name must be 1 to 100 characters after trimming'],
      [
        { name: 'a\u0000b', scopes: ['apply'] },
        'name must not contain control characters or unpaired surrogates',
      ],
      [{ name: 'x', scopes: ['apply'], key: 'scp_mine' }, 'property key should not exist'],
    ];
    for (const [body, message] of cases) {
      const res = await post(body);
      expect({ body, status: res.status, message: res.body.message }).toEqual({
        body,
        status: 400,
        message,
      });
    }
    const after = await t.pg.query('SELECT count(*)::int AS n FROM api_key');
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });

  it('404 for an unknown key id, 400 for a malformed one; revoking twice is a 204 that changes nothing', async () => {
    const unknown = randomUUID();
    const res = await http()
      .delete(`/api-keys/${unknown}`)
      .set('Authorization', t.auth)
      .expect(404);
    expect(res.body).toMatchObject({
      error: 'API_KEY_NOT_FOUND',
      message: `No API key with id ${unknown}`,
    });
    const bad = await http().delete('/api-keys/nope').set('Authorization', t.auth).expect(400);
    expect(bad.body.message).toBe('id must be a UUID');
    const k = await createKey(t, ['users:read']);
    await http().delete(`/api-keys/${k.id}`).set('Authorization', t.auth).expect(204);
    const first = await t.pg.query('SELECT revoked_at FROM api_key WHERE id = $1', [k.id]);
    await http().delete(`/api-keys/${k.id}`).set('Authorization', t.auth).expect(204);
    const second = await t.pg.query('SELECT revoked_at FROM api_key WHERE id = $1', [k.id]);
    expect(second.rows[0].revoked_at).toEqual(first.rows[0].revoked_at);
  });

  it('an unknown, malformed or revoked key is a 401; a revoked key is listed with revokedAt', async () => {
    const k = await createKey(t, ['users:read']);
    await http().get('/users').set('Authorization', k.auth).expect(200);
    await http().delete(`/api-keys/${k.id}`).set('Authorization', t.auth).expect(204);
    for (const auth of [
      k.auth,
      `Bearer ${k.key.slice(0, -1)}${k.key.endsWith('A') ? 'B' : 'A'}`,
      'Bearer scp_short',
      `Bearer ${k.key}x`,
    ]) {
      const res = await http().get('/users').set('Authorization', auth).expect(401);
      expect(res.body.message).toBe('Invalid API token');
    }
    const list = await http().get('/api-keys?limit=500').set('Authorization', t.auth).expect(200);
    const listed = list.body.items.find((i: { id: string }) => i.id === k.id);
    expect(listed.revokedAt).toEqual(expect.any(String));
    expect(listed.lastUsedAt).toEqual(expect.any(String));
  });

  it('a key with keys:admin grants only the scopes it holds itself', async () => {
    const admin = await createKey(t, ['keys:admin', 'users:read']);
    const res = await http()
      .post('/api-keys')
      .set('Authorization', admin.auth)
      .send({ name: 'escalation', scopes: ['users:read', 'users:write'] })
      .expect(403);
    expect(res.body.message).toBe('this API key lacks the scope users:write');
    const { rows } = await t.pg.query(
      `SELECT count(*)::int AS n FROM api_key WHERE name = 'escalation'`,
    );
    expect(rows[0].n).toBe(0);
    await http()
      .post('/api-keys')
      .set('Authorization', admin.auth)
      .send({ name: 'reader', scopes: ['users:read'] })
      .expect(201);
  });

  it('lastUsedAt is written on first use, not on every request', async () => {
    const k = await createKey(t, ['users:read']);
    const lastUsed = async (): Promise<Date | null> =>
      (await t.pg.query('SELECT last_used_at FROM api_key WHERE id = $1', [k.id])).rows[0]
        .last_used_at;
    expect(await lastUsed()).toBeNull();
    await http().get('/users').set('Authorization', k.auth).expect(200);
    // The write is off the request's path: wait for it.
    let first: Date | null = null;
    for (let i = 0; i < 100 && first === null; i++) {
      first = await lastUsed();
      if (first === null) await new Promise((r) => setTimeout(r, 20));
    }
    expect(first).toBeInstanceOf(Date);
    for (let i = 0; i < 10; i++)
      await http().get('/users').set('Authorization', k.auth).expect(200);
    await new Promise((r) => setTimeout(r, 100));
    expect(await lastUsed()).toEqual(first);
  });

  it('a key revoked in one portal process is refused by another on the same database at its next request', async () => {
    const other = await bootApp({}, { database: db });
    try {
      for (const [revoker, user] of [
        [t, other],
        [other, t],
      ] as const) {
        const k = await createKey(revoker, ['users:read']);
        await http(user).get('/users').set('Authorization', k.auth).expect(200);
        await http(revoker)
          .delete(`/api-keys/${k.id}`)
          .set('Authorization', revoker.auth)
          .expect(204);
        // No wait at all: the next request in the other process already fails.
        const res = await http(user).get('/users').set('Authorization', k.auth);
        expect(res.status).toBe(401);
      }
    } finally {
      await other.close();
    }
  });

  it("a key's plaintext is in no text, varchar, char, array or jsonb column of any table", async () => {
    const k = await createKey(t, ['users:read', 'users:write', 'keys:admin']);
    // Used, so lastUsedAt and the audit have had their chance to store it.
    await http().get('/users').set('Authorization', k.auth).expect(200);
    const user = await http()
      .post('/users')
      .set('Authorization', k.auth)
      .send({ name: 'Key User', email: 'key-user@example.com' })
      .expect(201);
    await http().delete(`/users/${user.body.id}`).set('Authorization', k.auth).expect(204);
    await createKey(t, ['users:read'], k.key);
    const { rows: columns } = await t.pg.query<{ table: string; column: string }>(
      `SELECT c.table_name AS table, c.column_name AS column
       FROM information_schema.columns c
       JOIN information_schema.tables t
         ON t.table_schema = c.table_schema AND t.table_name = c.table_name
       WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
         AND c.data_type IN ('text', 'character varying', 'character', 'jsonb', 'json', 'ARRAY')`,
    );
    const tables = new Set(columns.map((c) => c.table));
    for (const table of ['api_key', 'change_audit', 'apply_audit_log', 'user', 'extension'])
      expect(tables).toContain(table);
    const found = async (needle: string): Promise<string[]> => {
      const hits: string[] = [];
      for (const { table, column } of columns) {
        const { rows } = await t.pg.query(
          `SELECT count(*)::int AS n FROM "${table}" WHERE strpos("${column}"::text, $1) > 0`,
          [needle],
        );
        if (rows[0].n > 0) hits.push(`${table}.${column}`);
      }
      return hits;
    };
    // The search finds what is there: the prefix is stored on purpose.
    expect(await found(k.prefix)).toEqual(expect.arrayContaining(['api_key.prefix']));
    // A key used as another key's name is stored as that name: the search would see it.
    expect(await found(k.key)).toEqual(['api_key.name', 'change_audit.changes']);
    await t.pg.query('DELETE FROM change_audit WHERE changes::text LIKE $1', [`%${k.key}%`]);
    await t.pg.query('DELETE FROM api_key WHERE name = $1', [k.key]);
    expect(await found(k.key)).toEqual([]);
    expect(await found(k.key.slice(12))).toEqual([]);
  });
});
