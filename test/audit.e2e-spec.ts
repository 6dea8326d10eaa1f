import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { TransactionHost } from '@nestjs-cls/transactional';
import { AuditWriter } from '../src/audit/audit-writer';
import { bootApp, TestApp } from './support/app';
import { createKey, TestKey } from './support/api-keys';
import { AsteriskSandbox } from './support/asterisk-sandbox';
import { auditCount as countAudits, auditRows } from './support/change-audit';

describe('change audit (real PostgreSQL)', () => {
  let box: AsteriskSandbox;
  let t: TestApp;
  let writer: TestKey;
  const http = () => request(t.app.getHttpServer());
  const rows = (where?: string, params?: unknown[]) => auditRows(t.pg, where, params);
  const auditCount = () => countAudits(t.pg);

  beforeAll(async () => {
    box = new AsteriskSandbox();
    t = await bootApp(box.env());
    writer = await createKey(t, ['users:write', 'apply', 'keys:admin'], 'ops robot');
  });
  afterAll(async () => {
    await t?.close();
    box?.remove();
  });

  it('records each change with who, what, the request id and the address, never a secret', async () => {
    await t.pg.query('DELETE FROM change_audit');
    const as = (auth: string, id: string) => ({ Authorization: auth, 'X-Request-Id': id });
    const created = await http()
      .post('/users')
      .set(as(writer.auth, 'audit-create'))
      .send({ name: 'Audited', email: 'audited@example.com' })
      .expect(201);
    const id = created.body.id as string;
    const rotated = await http()
      .post(`/users/${id}/sip-password`)
      .set(as(t.auth, 'audit-rotate'))
      .expect(200);
    const applied = await http().post('/apply').set(as(writer.auth, 'audit-apply')).expect(200);
    box.setFaults({ down: true });
    const failed = await http().post('/apply').set(as(t.auth, 'audit-apply-failed')).expect(502);
    box.clearFaults();
    await http().delete(`/users/${id}`).set(as(writer.auth, 'audit-delete')).expect(204);
    const key = await http()
      .post('/api-keys')
      .set(as(writer.auth, 'audit-key'))
      .send({ name: 'short-lived', scopes: ['apply'] })
      .expect(201);
    await http().delete(`/api-keys/${key.body.id}`).set(as(t.auth, 'audit-revoke')).expect(204);
    // Reads and refusals change nothing and leave no row.
    await http().get('/users').set(as(t.auth, 'read')).expect(200);
    await http().post('/apply?dryRun=true').set(as(t.auth, 'dry')).expect(200);
    await http().delete(`/users/${id}`).set(as(t.auth, 'gone')).expect(404);

    const robot = { actor_type: 'key', actor_id: writer.id, actor_name: 'ops robot' };
    const bootstrap = { actor_type: 'bootstrap', actor_id: null, actor_name: 'bootstrap' };
    const user = { name: 'Audited', email: 'audited@example.com', extension: 1000 };
    const all = await rows();
    expect(all).toEqual([
      expect.objectContaining({
        ...robot,
        action: 'user.create',
        target_type: 'user',
        target_id: id,
        changes: { before: null, after: user },
        request_id: 'audit-create',
      }),
      expect.objectContaining({
        ...bootstrap,
        action: 'user.rotate_password',
        target_id: id,
        changes: { before: { realm: 'asterisk' }, after: { realm: 'asterisk' } },
        request_id: 'audit-rotate',
      }),
      expect.objectContaining({
        ...robot,
        action: 'apply.run',
        target_type: 'apply',
        target_id: applied.body.id,
        changes: {
          before: null,
          after: {
            outcome: 'success',
            users: 1,
            hash: applied.body.hash,
            nodes: [{ name: 'local', outcome: 'applied' }],
          },
        },
        request_id: 'audit-apply',
      }),
      expect.objectContaining({
        ...bootstrap,
        action: 'apply.run',
        target_id: failed.body.id,
        changes: {
          before: null,
          after: {
            outcome: failed.body.outcome,
            users: 1,
            hash: failed.body.hash,
            nodes: [{ name: 'local', outcome: failed.body.outcome }],
          },
        },
        request_id: 'audit-apply-failed',
      }),
      expect.objectContaining({
        ...robot,
        action: 'user.delete',
        target_id: id,
        changes: { before: user, after: null },
        request_id: 'audit-delete',
      }),
      expect.objectContaining({
        ...robot,
        action: 'key.create',
        target_type: 'api_key',
        target_id: key.body.id,
        changes: {
          before: null,
          after: { name: 'short-lived', scopes: ['apply'], prefix: key.body.prefix },
        },
        request_id: 'audit-key',
      }),
      expect.objectContaining({
        ...bootstrap,
        action: 'key.revoke',
        target_id: key.body.id,
        changes: {
          before: { name: 'short-lived', revokedAt: null },
          after: { name: 'short-lived', revokedAt: expect.any(String) },
        },
        request_id: 'audit-revoke',
      }),
    ]);
    expect(new Set(all.map((r) => r.client_address))).toEqual(
      new Set([expect.stringMatching(/127\.0\.0\.1$/)]),
    );
    const text = JSON.stringify(all);
    const { rows: digests } = await t.pg.query<{ md5_digest: string }>(
      'SELECT md5_digest FROM extension',
    );
    for (const secret of [
      created.body.sipPassword,
      rotated.body.sipPassword,
      key.body.key,
      writer.key,
      ...digests.map((d) => d.md5_digest),
    ])
      expect(text).not.toContain(secret);

    // The apply log names who asked for each apply.
    const logs = await http().get('/apply/logs').set('Authorization', t.auth).expect(200);
    expect(logs.body.items.slice(0, 2).map((i: { actor: unknown }) => i.actor)).toEqual([
      { type: 'bootstrap', id: null, name: 'bootstrap' },
      { type: 'key', id: writer.id, name: 'ops robot' },
    ]);
  });

  it('GET /audit: newest first, filtered by actor, action, target and time, paged; needs audit:read', async () => {
    const reader = await createKey(t, ['audit:read']);
    const get = (query: string, auth = reader.auth) =>
      http().get(`/audit${query}`).set('Authorization', auth);
    const all = (await get('?limit=500').expect(200)).body;
    expect(all.total).toBe(await auditCount());
    expect(all.items.length).toBe(all.total);
    const times = all.items.map((i: { at: string }) => i.at);
    expect([...times].sort().reverse()).toEqual(times);
    expect(all.items[0]).toEqual({
      id: expect.any(String),
      at: expect.any(String),
      actor: { type: 'bootstrap', id: null, name: 'bootstrap' },
      action: 'key.create',
      target: { type: 'api_key', id: reader.id },
      changes: {
        before: null,
        after: { name: 'audit:read', scopes: ['audit:read'], prefix: reader.prefix },
      },
      requestId: expect.any(String),
      clientAddress: expect.any(String),
    });

    const pick = async (query: string) => (await get(query).expect(200)).body;
    const byKey = await pick(`?actor=${writer.id}&limit=500`);
    expect(byKey.total).toBeGreaterThan(0);
    expect(byKey.items.every((i: { actor: { id: string } }) => i.actor.id === writer.id)).toBe(
      true,
    );
    const byName = await pick('?actor=ops%20robot&limit=500');
    expect(byName.total).toBe(byKey.total);
    const deletes = await pick('?action=user.delete');
    expect(deletes.items.map((i: { action: string }) => i.action)).toEqual(
      Array(deletes.total).fill('user.delete'),
    );
    expect(deletes.total).toBeGreaterThan(0);
    const target = deletes.items[0].target.id;
    const onTarget = await pick(`?targetId=${target}`);
    expect(onTarget.items.map((i: { action: string }) => i.action).sort()).toEqual([
      'user.create',
      'user.delete',
      'user.rotate_password',
    ]);
    const at = all.items[1].at as string;
    const since = await pick(`?since=${encodeURIComponent(at)}&limit=500`);
    expect(since.items.every((i: { at: string }) => i.at >= at)).toBe(true);
    expect(since.total).toBeGreaterThanOrEqual(2);
    const until = await pick(`?until=${encodeURIComponent(at)}&limit=500`);
    expect(until.total + since.total).toBeGreaterThanOrEqual(all.total);
    expect(until.items.every((i: { at: string }) => i.at <= at)).toBe(true);
    const page = await pick('?limit=2&offset=1');
    expect(page.items.map((i: { id: string }) => i.id)).toEqual(
      all.items.slice(1, 3).map((i: { id: string }) => i.id),
    );
    expect(page.total).toBe(all.total);
    expect((await pick(`?targetId=${randomUUID()}`)).total).toBe(0);

    const refused = await get('', writer.auth).expect(403);
    expect(refused.body.message).toBe('this API key lacks the scope audit:read');
    const before = await auditCount();
    const bad: [string, string][] = [
      [
        '?action=user.explode',
        'action must be one of user.create, user.update, user.delete, user.rotate_password, user.import, apply.run, key.create, key.revoke, webhook.create, webhook.update, webhook.delete, webhook.rotate_secret',
      ],
      ['?targetId=42', 'targetId must be a UUID'],
      ['?since=yesterday', 'since must be an ISO 8601 date-time, e.g. 2026-01-31T12:00:00Z'],
      [
        '?until=2026-13-01T00:00:00Z',
        'until must be an ISO 8601 date-time, e.g. 2026-01-31T12:00:00Z',
      ],
      ['?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z', 'since must not be after until'],
      ['?limit=0', 'limit must be an integer from 1 to 500'],
      ['?offset=-1', 'offset must be an integer from 0 to 1000000'],
      ['?action=user.create&action=user.delete', 'action must be given once'],
      ['?actor=', 'actor must not be empty or contain control characters or unpaired surrogates'],
      ['?who=me', 'property who should not exist'],
    ];
    for (const [query, message] of bad) {
      const res = await get(query);
      expect({ query, status: res.status, message: res.body.message }).toEqual({
        query,
        status: 400,
        message,
      });
    }
    expect(await auditCount()).toBe(before);
  });

  it('an apply closed as interrupted gets its apply.run row, in the name of whoever started it', async () => {
    const id = randomUUID();
    await t.pg.query(
      `INSERT INTO apply_audit_log (id, started_at, outcome, user_count, summary, request_id, actor_type, actor_id, actor_name)
       VALUES ($1, now(), 'running', 4, 'started', 'crashed-apply', 'key', $2, 'ops robot')`,
      [id, writer.id],
    );
    await http().post('/apply').set('Authorization', t.auth).expect(200);
    expect(await rows('target_id = $1', [id])).toEqual([
      expect.objectContaining({
        action: 'apply.run',
        actor_type: 'key',
        actor_id: writer.id,
        actor_name: 'ops robot',
        changes: {
          before: null,
          after: { outcome: 'failed', users: 4, hash: null, interrupted: true },
        },
        request_id: 'crashed-apply',
        client_address: null,
      }),
    ]);
  });

  it('the writer refuses to write outside a transaction, and a change outside a request without a context', async () => {
    const audit = t.app.get(AuditWriter);
    const txHost = t.app.get(TransactionHost);
    const entry = {
      action: 'user.create' as const,
      target: { type: 'user', id: randomUUID() },
      changes: { before: null, after: null },
    };
    const context = {
      actor: { type: 'bootstrap' as const, id: null, name: 'bootstrap', scopes: [] },
      requestId: null,
      clientAddress: null,
    };
    const before = await auditCount();
    await expect(audit.record(entry, context)).rejects.toThrow(
      "The audit of user.create must be written in the change's transaction",
    );
    await expect(txHost.withTransaction(() => audit.record(entry))).rejects.toThrow(
      'No request context to audit user.create with',
    );
    expect(await auditCount()).toBe(before);
    await txHost.withTransaction(() => audit.record(entry, context));
    expect(await auditCount()).toBe(before + 1);
  });

  it('is append-only for the API: no route changes or deletes a row', async () => {
    const doc = (await http().get('/docs-json').expect(200)).body as {
      paths: Record<string, Record<string, unknown>>;
    };
    const auditPaths = Object.entries(doc.paths).filter(([p]) => p.startsWith('/audit'));
    expect(auditPaths.map(([p, item]) => [p, Object.keys(item)])).toEqual([['/audit', ['get']]]);
    const [{ id }] = await rows();
    for (const method of ['put', 'patch', 'delete', 'post'] as const) {
      for (const path of ['/audit', `/audit/${String(id)}`]) {
        const res = await http()[method](path).set('Authorization', t.auth).send({});
        expect({ method, path, status: res.status }).toEqual({ method, path, status: 404 });
      }
    }
  });

  it('concurrent changes each get exactly one audit row', async () => {
    await t.pg.query('DELETE FROM change_audit');
    const n = 16;
    const creates = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        http()
          .post('/users')
          .set('Authorization', i % 2 ? writer.auth : t.auth)
          .send({ name: `Racer ${i}`, email: `racer${i}@example.com` }),
      ),
    );
    expect(creates.map((r) => r.status)).toEqual(Array(n).fill(201));
    const ids = creates.map((r) => r.body.id as string);
    const mixed = await Promise.all([
      ...ids.slice(0, 8).map((id) => http().delete(`/users/${id}`).set('Authorization', t.auth)),
      ...ids
        .slice(8)
        .map((id) => http().post(`/users/${id}/sip-password`).set('Authorization', writer.auth)),
      // The same user deleted twice at once: one 204 and one row, one 404 and none.
      http().delete(`/users/${ids[8]}`).set('Authorization', t.auth),
      http().delete(`/users/${ids[8]}`).set('Authorization', writer.auth),
      http().post('/apply').set('Authorization', t.auth),
      http().post('/apply').set('Authorization', writer.auth),
    ]);
    expect(mixed.slice(0, 16).map((r) => r.status)).toEqual([
      ...Array(8).fill(204),
      ...Array(8).fill(200),
    ]);
    expect(
      mixed
        .slice(16, 18)
        .map((r) => r.status)
        .sort(),
    ).toEqual([204, 404]);
    expect(mixed.slice(18).map((r) => r.status)).toEqual([200, 200]);
    const counts = (
      await t.pg.query<{ action: string; target_id: string; n: number }>(
        `SELECT action, target_id, count(*)::int AS n FROM change_audit GROUP BY 1, 2`,
      )
    ).rows;
    const expected = [
      ...ids.map((id) => ({ action: 'user.create', target_id: id, n: 1 })),
      ...ids.slice(0, 8).map((id) => ({ action: 'user.delete', target_id: id, n: 1 })),
      { action: 'user.delete', target_id: ids[8], n: 1 },
      ...ids.slice(8).map((id) => ({ action: 'user.rotate_password', target_id: id, n: 1 })),
      ...mixed.slice(18).map((r) => ({ action: 'apply.run', target_id: r.body.id, n: 1 })),
    ];
    const key = (r: { action: string; target_id: string }) => `${r.action} ${r.target_id}`;
    expect(counts.map(key).sort()).toEqual(expected.map(key).sort());
    expect(counts.filter((c) => c.n !== 1)).toEqual([]);
  });

  it('a PATCH writes user.update with the fields it changed; one that changes nothing writes none', async () => {
    await t.pg.query('DELETE FROM change_audit');
    const user = await http()
      .post('/users')
      .set('Authorization', t.auth)
      .send({ name: 'Patched', email: 'patched@example.com' })
      .expect(201);
    const id = user.body.id as string;
    await http()
      .post('/users')
      .set('Authorization', t.auth)
      .send({ name: 'Other', email: 'patch-other@example.com' })
      .expect(201);
    const patch = (auth: string, requestId: string, body: object) =>
      http()
        .patch(`/users/${id}`)
        .set({ Authorization: auth, 'X-Request-Id': requestId })
        .send(body);
    await patch(writer.auth, 'patch-name', { name: 'Patched Again' }).expect(200);
    // Email and an unchanged name: only the email is recorded.
    await patch(t.auth, 'patch-email', {
      name: 'Patched Again',
      email: 'patched2@example.com',
    }).expect(200);
    // Nothing real changes: 200, and no row.
    await patch(writer.auth, 'patch-same', {
      name: 'Patched Again',
      email: 'patched2@example.com',
    }).expect(200);
    // Refused before or by the database: no row either.
    await patch(writer.auth, 'patch-empty', {}).expect(400);
    await patch(writer.auth, 'patch-taken', { email: 'PATCH-other@example.com' }).expect(409);
    await http()
      .patch(`/users/${randomUUID()}`)
      .set('Authorization', writer.auth)
      .send({ name: 'Nobody' })
      .expect(404);

    const updates = await rows(`action = 'user.update'`);
    expect(updates).toEqual([
      expect.objectContaining({
        actor_type: 'key',
        actor_id: writer.id,
        actor_name: 'ops robot',
        target_type: 'user',
        target_id: id,
        changes: { before: { name: 'Patched' }, after: { name: 'Patched Again' } },
        request_id: 'patch-name',
      }),
      expect.objectContaining({
        actor_type: 'bootstrap',
        actor_id: null,
        target_id: id,
        changes: {
          before: { email: 'patched@example.com' },
          after: { email: 'patched2@example.com' },
        },
        request_id: 'patch-email',
      }),
    ]);
    // The two creates and the two updates, nothing else.
    expect(await auditCount()).toBe(4);
  });

  it('an import writes one user.import row with the count and the numbers; a dry run or a refused import none', async () => {
    await t.pg.query('DELETE FROM change_audit');
    const csv = (body: string, query = '', requestId = 'import') =>
      http()
        .post(`/users/import${query}`)
        .set({ Authorization: writer.auth, 'X-Request-Id': requestId })
        .set('Content-Type', 'text/csv')
        .send(body);
    const file = [
      'name,email,extension',
      'Imported One,imported1@example.com,1801',
      'Imported Two,imported2@example.com,1800',
      'Imported Three,imported3@example.com,1803',
    ].join('\n');
    expect((await csv(file, '?dryRun=true', 'import-dry')).body).toMatchObject({ valid: true });
    await csv(`${file}\nBad,not-an-email,`, '', 'import-invalid').expect(400);
    expect(await auditCount()).toBe(0);

    const imported = await csv(file).expect(201);
    expect(await rows()).toEqual([
      expect.objectContaining({
        action: 'user.import',
        actor_type: 'key',
        actor_id: writer.id,
        actor_name: 'ops robot',
        target_type: 'users',
        target_id: null,
        changes: {
          before: null,
          after: {
            count: 3,
            extensions: [
              { from: 1800, to: 1801 },
              { from: 1803, to: 1803 },
            ],
          },
        },
        request_id: 'import',
        client_address: expect.stringMatching(/127\.0\.0\.1$/),
      }),
    ]);
    // No secret of the import in its row.
    const text = JSON.stringify(await rows());
    for (const u of imported.body.users as { sipPassword: string }[])
      expect(text).not.toContain(u.sipPassword);
    // An import of numbers now taken is refused, and writes no second row.
    await csv(file, '', 'import-again').expect(400);
    expect(await auditCount()).toBe(1);
  });

  describe('a change whose transaction fails after its audit row was written leaves neither', () => {
    // A deferred constraint trigger fails the transaction at its commit, after both the
    // change and its audit row were written in it.
    const doom = async (table: string, event: string, condition: string) => {
      await t.pg.query(`CREATE OR REPLACE FUNCTION doom() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'doomed on purpose'; END $$`);
      await t.pg.query(`CREATE CONSTRAINT TRIGGER doom AFTER ${event} ON "${table}"
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (${condition}) EXECUTE FUNCTION doom()`);
    };
    afterEach(async () => {
      for (const table of ['user', 'extension', 'api_key'])
        await t.pg.query(`DROP TRIGGER IF EXISTS doom ON "${table}"`);
    });

    it('a create', async () => {
      await doom('user', 'INSERT', `NEW.email = 'doomed@example.com'`);
      const before = await auditCount();
      const res = await http()
        .post('/users')
        .set('Authorization', writer.auth)
        .send({ name: 'Doomed', email: 'doomed@example.com' });
      expect(res.status).toBe(500);
      expect(await auditCount()).toBe(before);
      const { rows: users } = await t.pg.query(`SELECT 1 FROM "user" WHERE name = 'Doomed'`);
      expect(users).toEqual([]);
      // The trigger works only for this email: other creates still commit with their row.
      await http()
        .post('/users')
        .set('Authorization', writer.auth)
        .send({ name: 'Survivor', email: 'survivor@example.com' })
        .expect(201);
      expect(await auditCount()).toBe(before + 1);
    });

    it('a delete and a rotation', async () => {
      const user = await http()
        .post('/users')
        .set('Authorization', t.auth)
        .send({ name: 'Doomed Too', email: 'doomed2@example.com' })
        .expect(201);
      await doom('user', 'DELETE', `OLD.name = 'Doomed Too'`);
      await doom('extension', 'UPDATE', `NEW.user_id = '${String(user.body.id)}'`);
      const before = await auditCount();
      const del = await http().delete(`/users/${user.body.id}`).set('Authorization', t.auth);
      expect(del.status).toBe(500);
      const rot = await http()
        .post(`/users/${user.body.id}/sip-password`)
        .set('Authorization', t.auth);
      expect(rot.status).toBe(500);
      expect(await auditCount()).toBe(before);
      const { rows: still } = await t.pg.query(`SELECT 1 FROM "user" WHERE id = $1`, [
        user.body.id,
      ]);
      expect(still).toHaveLength(1);
    });

    it('an update', async () => {
      const user = await http()
        .post('/users')
        .set('Authorization', t.auth)
        .send({ name: 'Doomed Update', email: 'doomed-update@example.com' })
        .expect(201);
      await doom('user', 'UPDATE', `NEW.name = 'Doomed Renamed'`);
      const before = await auditCount();
      const res = await http()
        .patch(`/users/${user.body.id}`)
        .set('Authorization', writer.auth)
        .send({ name: 'Doomed Renamed' });
      expect(res.status).toBe(500);
      expect(await auditCount()).toBe(before);
      const { rows: still } = await t.pg.query(`SELECT name FROM "user" WHERE id = $1`, [
        user.body.id,
      ]);
      expect(still).toEqual([{ name: 'Doomed Update' }]);
      // Other updates still commit with their row.
      await http()
        .patch(`/users/${user.body.id}`)
        .set('Authorization', writer.auth)
        .send({ name: 'Survived Update' })
        .expect(200);
      expect(await auditCount()).toBe(before + 1);
    });

    it('an import', async () => {
      // The last row's extension fails at the commit, after every insert and the audit row.
      await doom('extension', 'INSERT', 'NEW.number = 1902');
      const before = await auditCount();
      const res = await http()
        .post('/users/import')
        .set('Authorization', writer.auth)
        .set('Content-Type', 'text/csv')
        .send(
          [
            'name,email,extension',
            'Doomed Import,doomed-import1@example.com,1900',
            'Doomed Import,doomed-import2@example.com,1901',
            'Doomed Import,doomed-import3@example.com,1902',
          ].join('\n'),
        );
      expect(res.status).toBe(500);
      expect(await auditCount()).toBe(before);
      const { rows: users } = await t.pg.query(`SELECT 1 FROM "user" WHERE name = 'Doomed Import'`);
      expect(users).toEqual([]);
    });

    it('a key created or revoked', async () => {
      await doom('api_key', 'INSERT', `NEW.name = 'doomed key'`);
      const before = await auditCount();
      const created = await http()
        .post('/api-keys')
        .set('Authorization', t.auth)
        .send({ name: 'doomed key', scopes: ['apply'] });
      expect(created.status).toBe(500);
      const { rows: keys } = await t.pg.query(`SELECT 1 FROM api_key WHERE name = 'doomed key'`);
      expect(keys).toEqual([]);
      await t.pg.query(`DROP TRIGGER doom ON api_key`);
      const k = await createKey(t, ['apply'], 'to be revoked');
      expect(await auditCount()).toBe(before + 1);
      await doom('api_key', 'UPDATE', `NEW.revoked_at IS NOT NULL`);
      const revoked = await http().delete(`/api-keys/${k.id}`).set('Authorization', t.auth);
      expect(revoked.status).toBe(500);
      expect(await auditCount()).toBe(before + 1);
      // Still live.
      await http().post('/apply?dryRun=true').set('Authorization', k.auth).expect(200);
    });
  });
});
