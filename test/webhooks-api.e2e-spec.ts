import request from 'supertest';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebhookReceiver } from './support/webhook-receiver';
import { createKey } from './support/api-keys';
import { bootApp, TestApp } from './support/app';
import { auditRows } from './support/change-audit';

const SECRET = /^whsec_[A-Za-z0-9+/]{43}=$/;

describe('webhook subscriptions (real PostgreSQL)', () => {
  let t: TestApp;
  const http = () => request(t.app.getHttpServer());
  // A public address that no test connects to: creating a webhook never connects.
  const PUBLIC_URL = 'https://93.184.215.14/hooks?token=abc';

  beforeAll(async () => {
    t = await bootApp({ AUTH_FAILURE_LIMIT: '1000' });
  });
  afterAll(async () => {
    await t?.close();
  });

  const create = (body: object) => http().post('/webhooks').set('Authorization', t.auth).send(body);

  it('creates a webhook, showing its secret once; lists, reads, changes and deletes it', async () => {
    const res = await create({
      url: PUBLIC_URL,
      events: ['user.created', 'user.deleted'],
      description: ' CRM ',
    }).expect(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      url: PUBLIC_URL,
      events: ['user.created', 'user.deleted'],
      description: 'CRM',
      enabled: true,
      secret: expect.stringMatching(SECRET),
      createdAt: expect.any(String),
    });
    expect(Buffer.from(res.body.secret.slice(6), 'base64')).toHaveLength(32);
    const { id, secret } = res.body as { id: string; secret: string };

    const list = await http().get('/webhooks').set('Authorization', t.auth).expect(200);
    expect(list.body.total).toBe(1);
    expect(list.body.items[0]).toEqual({
      id,
      url: PUBLIC_URL,
      events: ['user.created', 'user.deleted'],
      description: 'CRM',
      enabled: true,
      disabledReason: null,
      createdAt: res.body.createdAt,
      updatedAt: expect.any(String),
    });
    expect(list.text).not.toContain(secret.slice(6));
    const one = await http().get(`/webhooks/${id}`).set('Authorization', t.auth).expect(200);
    expect(one.body).toEqual(list.body.items[0]);

    const patched = await http()
      .patch(`/webhooks/${id}`)
      .set('Authorization', t.auth)
      .send({ events: ['*'], enabled: false })
      .expect(200);
    expect(patched.body).toMatchObject({ id, events: ['*'], enabled: false });
    await http().patch(`/webhooks/${id}`).set('Authorization', t.auth).send({}).expect(400);

    const rotated = await http()
      .post(`/webhooks/${id}/rotate-secret`)
      .set('Authorization', t.auth)
      .expect(200);
    expect(rotated.body.secret).toMatch(SECRET);
    expect(rotated.body.secret).not.toBe(secret);
    const overlap = Date.parse(rotated.body.previousSecretExpiresAt) - Date.now();
    expect(overlap).toBeGreaterThan(23.9 * 3600_000);
    expect(overlap).toBeLessThanOrEqual(24 * 3600_000);

    await http().delete(`/webhooks/${id}`).set('Authorization', t.auth).expect(204);
    const gone = await http().get(`/webhooks/${id}`).set('Authorization', t.auth).expect(404);
    expect(gone.body).toMatchObject({ error: 'WEBHOOK_NOT_FOUND' });
    await http().delete(`/webhooks/${id}`).set('Authorization', t.auth).expect(404);

    // Every change in the audit, never a secret.
    const audit = await auditRows(t.pg, 'target_id = $1', [id]);
    expect(audit.map((r) => r.action)).toEqual([
      'webhook.create',
      'webhook.update',
      'webhook.rotate_secret',
      'webhook.delete',
    ]);
    expect(audit[0].changes).toEqual({
      before: null,
      after: {
        url: PUBLIC_URL,
        events: ['user.created', 'user.deleted'],
        description: 'CRM',
        enabled: true,
      },
    });
    expect(audit[1].changes).toEqual({
      before: { events: ['user.created', 'user.deleted'], enabled: true },
      after: { events: ['*'], enabled: false },
    });
    const text = JSON.stringify(audit);
    for (const s of [secret, rotated.body.secret as string]) {
      expect(text).not.toContain(s.slice(6));
    }
  });

  it('refuses unknown events, a missing url and unknown fields', async () => {
    const bad = await create({ url: PUBLIC_URL, events: ['user.exploded'] }).expect(400);
    expect(bad.body.message).toContain('unknown event "user.exploded"');
    await create({ url: PUBLIC_URL, events: [] }).expect(400);
    await create({ url: PUBLIC_URL, events: ['*', '*'] }).expect(400);
    await create({ events: ['*'] }).expect(400);
    await create({ url: PUBLIC_URL, events: ['*'], secret: 'mine' }).expect(400);
  });

  // Literal addresses and localhost (from /etc/hosts): refused before any connection or
  // DNS query, so no packet leaves the machine.
  it.each([
    ['ftp://93.184.215.14/x', 'only http and https URLs are allowed (got ftp)'],
    ['file:///etc/passwd', 'only http and https URLs are allowed (got file)'],
    ['not a url', 'it is not an absolute URL'],
    ['https://user:pass@93.184.215.14/x', 'credentials in the URL are not allowed'],
    ['https://token@93.184.215.14/x', 'credentials in the URL are not allowed'],
    ['http://127.0.0.1:8080/x', '127.0.0.1 is a loopback address'],
    ['http://127.1.2.3/x', '127.1.2.3 is a loopback address'],
    ['http://localhost/x', 'localhost resolves to'],
    ['http://[::1]/x', '::1 is a loopback address'],
    ['http://169.254.169.254/latest/meta-data', '169.254.169.254 is a link-local'],
    ['http://[fe80::1]/x', 'fe80::1 is a link-local'],
    ['http://10.0.0.1/x', '10.0.0.1 is a private'],
    ['http://172.16.5.4/x', '172.16.5.4 is a private'],
    ['http://192.168.1.1/x', '192.168.1.1 is a private'],
    ['http://100.64.0.1/x', '100.64.0.1 is a carrier-grade NAT'],
    ['http://[fc00::1]/x', 'fc00::1 is a unique-local'],
    ['http://[fd00::5]/x', 'fd00::5 is a unique-local'],
    ['http://0.0.0.0/x', '0.0.0.0 is an unspecified'],
    ['http://[::]/x', ':: is an unspecified'],
    ['http://224.0.0.1/x', '224.0.0.1 is a multicast'],
    ['http://[::ffff:127.0.0.1]/x', 'is a loopback address'],
    ['http://[::ffff:10.0.0.1]/x', 'is a private'],
    ['http://2130706433/x', '127.0.0.1 is a loopback address'],
    ['http://0x7f.1/x', '127.0.0.1 is a loopback address'],
  ])('refuses %s with a 400 naming the rule', async (url, rule) => {
    const res = await create({ url, events: ['*'] }).expect(400);
    expect(res.body).toMatchObject({ error: 'WEBHOOK_URL_REFUSED' });
    expect(res.body.message).toContain(rule);
    const { rows } = await t.pg.query('SELECT count(*)::int AS n FROM webhook_subscription');
    expect(rows[0].n).toBe(0);
  });

  it('checks a new URL on PATCH the same way', async () => {
    const { id } = (await create({ url: PUBLIC_URL, events: ['*'] }).expect(201)).body as {
      id: string;
    };
    const res = await http()
      .patch(`/webhooks/${id}`)
      .set('Authorization', t.auth)
      .send({ url: 'http://169.254.169.254/' })
      .expect(400);
    expect(res.body.message).toContain('link-local');
    await http().delete(`/webhooks/${id}`).set('Authorization', t.auth).expect(204);
  });

  it('a key needs webhooks:admin', async () => {
    const reader = await createKey(t, ['users:read']);
    const res = await http().get('/webhooks').set('Authorization', reader.auth).expect(403);
    expect(res.body.message).toBe('this API key lacks the scope webhooks:admin');
    const admin = await createKey(t, ['webhooks:admin']);
    await http().get('/webhooks').set('Authorization', admin.auth).expect(200);
  });

  describe('the outbox', () => {
    let hookId: string;
    beforeAll(async () => {
      // Disabled: the rows stay pending, nothing is sent.
      hookId = (await create({ url: PUBLIC_URL, events: ['user.created', 'user.deleted'] })).body
        .id as string;
      await http()
        .patch(`/webhooks/${hookId}`)
        .set('Authorization', t.auth)
        .send({ enabled: false })
        .expect(200);
      await t.pg.query('UPDATE webhook_subscription SET enabled = true WHERE id = $1', [hookId]);
      // Keep the worker off these rows: they are looked at, not sent.
      await t.pg.query(`UPDATE webhook_subscription SET url = 'http://0.0.0.0/' WHERE id = $1`, [
        hookId,
      ]);
    });
    afterAll(async () => {
      await http().delete(`/webhooks/${hookId}`).set('Authorization', t.auth);
    });

    it('writes the event and a delivery in the transaction of the change; none when it rolls back', async () => {
      await t.pg.query('DELETE FROM webhook_event');
      const user = await http()
        .post('/users')
        .set('Authorization', t.auth)
        .send({ name: 'Ev Ent', email: 'event@example.com' })
        .expect(201);
      // Same email: the create fails and rolls back, its event with it.
      await http()
        .post('/users')
        .set('Authorization', t.auth)
        .send({ name: 'Ev Ent', email: 'event@example.com' })
        .expect(409);
      // Not subscribed: no row at all.
      await http()
        .patch(`/users/${user.body.id}`)
        .set('Authorization', t.auth)
        .send({ name: 'Ev Ent Two' })
        .expect(200);
      const { rows } = await t.pg.query(
        `SELECT e.type, e.data, d.subscription_id, d.status FROM webhook_event e
         JOIN webhook_delivery d ON d.event_id = e.id ORDER BY e.created_at`,
      );
      expect(rows).toEqual([
        {
          type: 'user.created',
          data: {
            userId: user.body.id,
            extension: user.body.extension,
            name: 'Ev Ent',
            email: 'event@example.com',
          },
          subscription_id: hookId,
          status: 'pending',
        },
      ]);
      const all = JSON.stringify(rows);
      expect(all).not.toContain(user.body.sipPassword);
    });
  });

  it('checks the address again at each delivery: a URL that became refused is not connected to', async () => {
    // A receiver on loopback, which this app does not allow: as if the host had resolved to a
    // public address when the webhook was created and to this one now.
    const receiver = await new WebhookReceiver().start();
    try {
      const { id } = (await create({ url: PUBLIC_URL, events: ['user.created'] }).expect(201))
        .body as { id: string };
      await t.pg.query('UPDATE webhook_subscription SET url = $2 WHERE id = $1', [
        id,
        receiver.url('/refused'),
      ]);
      await http()
        .post('/users')
        .set('Authorization', t.auth)
        .send({ name: 'Re Fused', email: 'refused@example.com' })
        .expect(201);
      let attempts: { httpStatus: number | null; error: string | null }[] = [];
      for (let i = 0; i < 100 && attempts.length === 0; i++) {
        await sleep(50);
        const log = await http()
          .get(`/webhooks/${id}/deliveries`)
          .set('Authorization', t.auth)
          .expect(200);
        attempts = log.body.items[0]?.attempts ?? [];
      }
      expect(attempts[0]).toMatchObject({
        httpStatus: null,
        error:
          'refused: 127.0.0.1 is a loopback address, and WEBHOOK_ALLOWED_NETWORKS does not name it',
      });
      expect(receiver.received).toEqual([]);
      await http().delete(`/webhooks/${id}`).set('Authorization', t.auth).expect(204);
    } finally {
      await receiver.stop();
    }
  });
});
