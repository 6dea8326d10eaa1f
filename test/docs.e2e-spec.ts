import { readFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
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

  it('documents the bearer scheme on every route but /health, and every DTO', async () => {
    const doc = (await request(t.app.getHttpServer()).get('/docs-json')).body;
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    for (const [route, ops] of Object.entries<Record<string, { security?: unknown }>>(doc.paths)) {
      for (const op of Object.values(ops)) {
        if (route === '/health') expect(op.security).toBeUndefined();
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
      ]),
    );
    expect(doc.components.schemas.CreateUserDto.properties.name.example).toBe('Alice Smith');
  });
});
