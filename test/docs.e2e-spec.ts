import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { version } from '../package.json';
import { ERROR_CODES } from '../src/common/errors/domain-errors';
import { bootApp, TestApp } from './support/app';

describe('OpenAPI docs', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootApp();
  });
  afterAll(() => t.close());

  it('serves Swagger UI at /docs without a token', async () => {
    const res = await request(t.app.getHttpServer()).get('/docs').redirects(1).expect(200);
    expect(res.text).toContain('swagger-ui');
  });

  it('committed openapi.json equals what the app serves (run `npm run openapi` after API changes)', async () => {
    const res = await request(t.app.getHttpServer()).get('/docs-json').expect(200);
    const committed = JSON.parse(
      readFileSync(path.resolve(__dirname, '..', 'openapi.json'), 'utf8'),
    );
    expect(res.body).toEqual(committed);
  });

  it("committed openapi.json passes Redocly's recommended rules with no error", () => {
    const file = path.resolve(__dirname, '..', 'openapi.json');
    const script = path.resolve(__dirname, 'support', 'lint-openapi.mjs');
    const problems = JSON.parse(
      execFileSync(process.execPath, [script, file], { encoding: 'utf8' }),
    );
    expect(problems.filter((p: { severity: string }) => p.severity === 'error')).toEqual([]);
  }, 30000);

  it('documents the bearer scheme on every route but /health, which needs none, and every DTO', async () => {
    const doc = (await request(t.app.getHttpServer()).get('/docs-json')).body;
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    for (const [route, ops] of Object.entries<Record<string, { security?: unknown }>>(doc.paths)) {
      for (const op of Object.values(ops)) {
        if (route === '/health') expect(op.security).toEqual([{}]);
        else expect(op.security).toEqual([{ bearer: [] }]);
      }
    }
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining([
        'CreateUserDto',
        'CreatedUserDto',
        'UserListDto',
        'SipPasswordDto',
        'ApplyResultDto',
        'DryRunResultDto',
        'ApplyLogDto',
        'ApplyStatusDto',
        'ErrorResponseDto',
        'HealthDto',
        'ApplyFailedDto',
        'ApplyLogListDto',
        'CreateApiKeyDto',
        'CreatedApiKeyDto',
        'ApiKeyListDto',
        'AuditListDto',
        'ExtensionListDto',
      ]),
    );
    expect(doc.components.schemas.CreateUserDto.properties.name.example).toBe('Alice Smith');
  });

  describe('for a generated client', () => {
    // The document as JSON: the test reads it by path, as a client generator would.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    type Schema = Record<string, any>;
    let doc: Schema;
    const schema = (name: string): Schema => doc.components.schemas[name];
    const operations = (): [string, Schema][] =>
      Object.entries<Record<string, Schema>>(doc.paths).flatMap(([path, ops]) =>
        Object.entries(ops).map(([method, op]): [string, Schema] => [
          `${method.toUpperCase()} ${path}`,
          op,
        ]),
      );
    beforeAll(async () => {
      doc = (await request(t.app.getHttpServer()).get('/docs-json')).body;
    });

    it('names each operation as a method of a client', () => {
      expect(
        Object.fromEntries(operations().map(([route, op]) => [route, op.operationId])),
      ).toEqual({
        'POST /users': 'createUser',
        'GET /users': 'listUsers',
        'GET /users/{id}': 'getUser',
        'DELETE /users/{id}': 'deleteUser',
        'PATCH /users/{id}': 'updateUser',
        'GET /extensions': 'listExtensions',
        'GET /metrics': 'getMetrics',
        'POST /users/{id}/sip-password': 'rotateSipPassword',
        'POST /users/import': 'importUsers',
        'GET /users/export': 'exportUsers',
        'POST /apply': 'applyConfig',
        'GET /apply/status': 'getApplyStatus',
        'GET /apply/logs': 'listApplyLogs',
        'GET /nodes': 'listNodes',
        'POST /api-keys': 'createApiKey',
        'GET /api-keys': 'listApiKeys',
        'DELETE /api-keys/{id}': 'revokeApiKey',
        'GET /audit': 'listAudit',
        'GET /health': 'getHealth',
        'POST /webhooks': 'createWebhook',
        'GET /webhooks': 'listWebhooks',
        'GET /webhooks/{id}': 'getWebhook',
        'PATCH /webhooks/{id}': 'updateWebhook',
        'DELETE /webhooks/{id}': 'deleteWebhook',
        'POST /webhooks/{id}/rotate-secret': 'rotateWebhookSecret',
        'GET /webhooks/{id}/deliveries': 'listWebhookDeliveries',
        'POST /webhooks/{id}/deliveries/{deliveryId}/retry': 'retryWebhookDelivery',
        'POST /webhooks/{id}/ping': 'pingWebhook',
      });
      // The same style for any route added later: a verb and a noun, no controller names.
      for (const [, op] of operations()) expect(op.operationId).toMatch(/^[a-z]+(?:[A-Z][a-z]+)+$/);
    });

    it('documents every response a route gives, each with a description and a schema', () => {
      const statuses = Object.fromEntries(
        operations().map(([route, op]) => [route, Object.keys(op.responses).sort()]),
      );
      // 403: an API key without the route's scope.
      const token = ['400', '401', '403', '429', '500', '503'];
      const body = ['413', '415'];
      expect(statuses).toEqual({
        'POST /users': ['201', ...token, '409', ...body].sort(),
        'GET /users': ['200', ...token].sort(),
        'GET /users/{id}': ['200', ...token, '404'].sort(),
        'DELETE /users/{id}': ['204', ...token, '404'].sort(),
        'PATCH /users/{id}': ['200', ...token, '404', '409', ...body].sort(),
        'GET /extensions': ['200', ...token].sort(),
        'GET /metrics': ['200', ...token].sort(),
        'POST /users/{id}/sip-password': ['200', ...token, '404', ...body].sort(),
        'POST /users/import': ['200', '201', ...token, '409', ...body].sort(),
        'GET /users/export': ['200', ...token, '406'].sort(),
        'POST /apply': ['200', ...token, '502', ...body].sort(),
        'GET /apply/status': ['200', ...token].sort(),
        'GET /apply/logs': ['200', ...token].sort(),
        'GET /nodes': ['200', ...token].sort(),
        'POST /api-keys': ['201', ...token, ...body].sort(),
        'GET /api-keys': ['200', ...token].sort(),
        'DELETE /api-keys/{id}': ['204', ...token, '404'].sort(),
        'GET /audit': ['200', ...token].sort(),
        'GET /health': ['200', '500', '503'],
        'POST /webhooks': ['201', ...token, ...body].sort(),
        'GET /webhooks': ['200', ...token].sort(),
        'GET /webhooks/{id}': ['200', ...token, '404'].sort(),
        'PATCH /webhooks/{id}': ['200', ...token, '404', ...body].sort(),
        'DELETE /webhooks/{id}': ['204', ...token, '404'].sort(),
        'POST /webhooks/{id}/rotate-secret': ['200', ...token, '404', ...body].sort(),
        'GET /webhooks/{id}/deliveries': ['200', ...token, '404'].sort(),
        'POST /webhooks/{id}/deliveries/{deliveryId}/retry': [
          '202',
          ...token,
          '404',
          ...body,
        ].sort(),
        'POST /webhooks/{id}/ping': ['202', ...token, '404', ...body].sort(),
      });
      for (const [route, op] of operations()) {
        for (const [status, response] of Object.entries<Schema>(op.responses)) {
          const where = `${route} ${status}`;
          expect({ where, description: response.description }).toEqual({
            where,
            description: expect.stringMatching(/\S{3}/),
          });
          if (status === '204') continue;
          // The one answer that is not JSON: the Prometheus text of GET /metrics.
          const media = where === 'GET /metrics 200' ? 'text/plain' : 'application/json';
          const s = response.content?.[media]?.schema;
          expect({ where, schema: s }).toEqual({ where, schema: expect.any(Object) });
          if (Number(status) >= 400 && status !== '502' && route !== 'GET /health') {
            // An import's 400 also lists every invalid row.
            const error =
              where === 'POST /users/import 400' ? 'ImportErrorResponseDto' : 'ErrorResponseDto';
            expect({ where, s }).toEqual({ where, s: { $ref: `#/components/schemas/${error}` } });
          }
        }
      }
      expect(doc.paths['/users'].get.responses['429'].headers['Retry-After'].schema.type).toBe(
        'integer',
      );
    });

    it('has the 502 of POST /apply and every error body name what the real body holds', () => {
      expect(doc.paths['/apply'].post.responses['502'].content['application/json'].schema).toEqual({
        $ref: '#/components/schemas/ApplyFailedDto',
      });
      expect(schema('ApplyFailedDto').required.sort()).toEqual(
        [
          'statusCode',
          'error',
          'message',
          'requestId',
          'id',
          'outcome',
          'users',
          'hash',
          'durationMs',
          'files',
          'reason',
          'nodes',
        ].sort(),
      );
      // The codes the exception filter maps, every one and no other.
      expect(schema('ErrorResponseDto').properties.error.enum).toEqual([...ERROR_CODES]);
      expect(schema('ErrorResponseDto').required.sort()).toEqual(
        ['error', 'message', 'requestId', 'statusCode'].sort(),
      );
    });

    it('gives types and formats: integers, uuids, emails, names, timestamps, closed bodies', () => {
      const prop = (name: string, property: string) => schema(name).properties[property];
      for (const path of ['/users', '/apply/logs', '/extensions']) {
        for (const p of doc.paths[path].get.parameters.filter((q: Schema) =>
          ['limit', 'offset'].includes(q.name),
        )) {
          expect({ path, name: p.name, type: p.schema.type }).toEqual({
            path,
            name: p.name,
            type: 'integer',
          });
        }
      }
      expect(doc.paths['/apply/logs'].get.parameters.map((p: Schema) => p.name).sort()).toEqual([
        'limit',
        'offset',
      ]);
      expect(prop('UserDto', 'extension').type).toBe('integer');
      expect(prop('ErrorResponseDto', 'statusCode').type).toBe('integer');
      // No count anywhere is a float; a round trip in ms is the one measure that is.
      expect(prop('ContactDto', 'rttMs').type).toBe('number');
      const floats = JSON.stringify(doc).split('"type":"number"').length - 1;
      expect(floats).toBe(1);

      for (const [name, property] of [
        ['UserDto', 'id'],
        ['CreatedUserDto', 'id'],
        ['ApplyResultDto', 'id'],
        ['ApplyFailedDto', 'id'],
        ['ApplyLogDto', 'id'],
      ]) {
        expect({ name, format: prop(name, property).format }).toEqual({ name, format: 'uuid' });
      }
      for (const path of ['/users/{id}', '/users/{id}/sip-password']) {
        const ops = Object.values<Schema>(doc.paths[path]);
        for (const op of ops) {
          expect(op.parameters.find((p: Schema) => p.name === 'id').schema).toEqual({
            type: 'string',
            format: 'uuid',
          });
        }
      }
      for (const name of ['CreateUserDto', 'UpdateUserDto', 'UserDto', 'CreatedUserDto']) {
        expect(prop(name, 'email')).toMatchObject({ format: 'email', maxLength: 254 });
        expect(prop(name, 'name')).toMatchObject({ maxLength: 100, minLength: 1 });
        expect(new RegExp(prop(name, 'name').pattern, 'u').test("Zoë O'Brien (Sales)")).toBe(true);
        expect(new RegExp(prop(name, 'name').pattern, 'u').test('Eve\n[x]')).toBe(false);
      }
      for (const [name, property] of [
        ['UserDto', 'createdAt'],
        ['ApplyLogDto', 'startedAt'],
        ['ApplyLogDto', 'finishedAt'],
      ]) {
        expect({ name, format: prop(name, property).format }).toEqual({
          name,
          format: 'date-time',
        });
      }

      const bodies = operations()
        .map(([, op]) => op.requestBody?.content['application/json'].schema.$ref)
        .filter(Boolean);
      expect(bodies.sort()).toEqual(
        [
          '#/components/schemas/CreateUserDto',
          '#/components/schemas/CreateApiKeyDto',
          '#/components/schemas/ImportUsersBodySchema',
          '#/components/schemas/UpdateUserDto',
          '#/components/schemas/CreateWebhookDto',
          '#/components/schemas/UpdateWebhookDto',
        ].sort(),
      );
      const closedSchemas = [
        'CreateUserDto',
        'CreateApiKeyDto',
        'UpdateUserDto',
        'ImportUsersBodySchema',
        'ImportUserRowSchema',
        'CreateWebhookDto',
        'UpdateWebhookDto',
      ];
      for (const name of closedSchemas) {
        expect({ name, closed: schema(name).additionalProperties }).toEqual({
          name,
          closed: false,
        });
      }
      expect(schema('UpdateUserDto').required).toBeUndefined();

      expect(doc.tags.map((tag: Schema) => tag.name).sort()).toEqual(
        [
          'api-keys',
          'apply',
          'audit',
          'extensions',
          'health',
          'metrics',
          'users',
          'webhooks',
        ].sort(),
      );
      for (const tag of doc.tags) expect(tag.description).toMatch(/\S/);
      expect(doc.info.version).toBe(version);
    });
  });
});
