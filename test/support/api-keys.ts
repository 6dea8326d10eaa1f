import request from 'supertest';
import type { Scope } from '../../src/common/access/scopes';
import type { TestApp } from './app';

export interface TestKey {
  id: string;
  key: string;
  prefix: string;
  /** Authorization header value for the key. */
  auth: string;
}

/** Creates an API key through the API with the bootstrap token. */
export async function createKey(
  t: TestApp,
  scopes: Scope[],
  name = scopes.join(' '),
): Promise<TestKey> {
  const res = await request(t.app.getHttpServer())
    .post('/api-keys')
    .set('Authorization', t.auth)
    .send({ name, scopes });
  if (res.status !== 201) throw new Error(`POST /api-keys answered ${res.status}: ${res.text}`);
  const body = res.body as { id: string; key: string; prefix: string };
  return { id: body.id, key: body.key, prefix: body.prefix, auth: `Bearer ${body.key}` };
}
