import type { OpenAPIV3 } from 'openapi-types';
import { setTimeout as sleep } from 'node:timers/promises';
import { Webhook } from 'standardwebhooks';
import request from 'supertest';
import { eventSchemaName } from '../src/webhooks/dto/webhook-events.dto';
import { OutboxPruner } from '../src/webhooks/outbox-pruner';
import { OutboxRepository } from '../src/webhooks/outbox.repository';
import type { EventType } from '../src/webhooks/webhook-event-types';
import { bootApp, TestApp } from './support/app';
import { captureLogs } from './support/captured-logs';
import { ContractChecker } from './support/contract';
import { createTestDatabase } from './support/test-database';
import { Received, WebhookReceiver } from './support/webhook-receiver';

/** Receivers on loopback, allowed for this suite only; retries a few tenths of a second apart. */
const ENV = {
  WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1/32',
  WEBHOOK_RETRY_SCHEDULE: '0.2,0.2,0.2',
  AUTH_FAILURE_LIMIT: '1000',
};

interface Payload {
  id: string;
  type: EventType;
  timestamp: string;
  data: Record<string, unknown>;
}

describe('webhook deliveries to a receiver on loopback (real PostgreSQL)', () => {
  let db: { url: string; drop: () => Promise<void> };
  let t: TestApp;
  let receiver: WebhookReceiver;
  let contract: ContractChecker;
  const logs = captureLogs();
  const secrets: string[] = [];
  const http = () => request(t.app.getHttpServer());

  beforeAll(async () => {
    receiver = await new WebhookReceiver().start();
    db = await createTestDatabase();
    t = await bootApp({ ...ENV, LOG_LEVEL: 'debug' }, { database: db });
    const doc = (await http().get('/docs-json').expect(200)).body as OpenAPIV3.Document;
    contract = new ContractChecker(doc);
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.stop();
    await db?.drop();
    logs.restore();
  });

  const subscribe = async (
    path: string,
    events: string[],
  ): Promise<{ id: string; secret: string }> => {
    const res = await http()
      .post('/webhooks')
      .set('Authorization', t.auth)
      .send({ url: receiver.url(path), events })
      .expect(201);
    secrets.push(res.body.secret);
    return res.body as { id: string; secret: string };
  };
  const remove = (id: string) =>
    http().delete(`/webhooks/${id}`).set('Authorization', t.auth).expect(204);

  /** Checks the signature as a receiver would, with the standardwebhooks library. */
  const verified = (r: Received, secret: string): Payload =>
    new Webhook(secret).verify(r.body, r.headers as Record<string, string>) as Payload;

  const deliveries = async (id: string) =>
    (await http().get(`/webhooks/${id}/deliveries`).set('Authorization', t.auth).expect(200))
      .body as {
      items: {
        id: string;
        eventId: string;
        eventType: string;
        status: string;
        attempts: { attempt: number; httpStatus: number | null; error: string | null }[];
      }[];
      total: number;
    };

  const waitUntil = async (what: string, ok: () => Promise<boolean>, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await ok())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(25);
    }
  };

  it('sends each event of users, imports, keys and pings, signed, with a payload its schema describes', async () => {
    const { id, secret } = await subscribe('/all', ['*']);
    const user = await http()
      .post('/users')
      .set('Authorization', t.auth)
      .send({ name: 'Alice Smith', email: 'alice@example.com' })
      .expect(201);
    await http()
      .patch(`/users/${user.body.id}`)
      .set('Authorization', t.auth)
      .send({ name: 'Alice Smyth' })
      .expect(200);
    await http()
      .post(`/users/${user.body.id}/sip-password`)
      .set('Authorization', t.auth)
      .expect(200);
    await http().delete(`/users/${user.body.id}`).set('Authorization', t.auth).expect(204);
    const imported = await http()
      .post('/users/import')
      .set('Authorization', t.auth)
      .send({
        users: [
          { name: 'Bob', email: 'bob@example.com' },
          { name: 'Carol', email: 'carol@example.com' },
        ],
      })
      .expect(201);
    const key = await http()
      .post('/api-keys')
      .set('Authorization', t.auth)
      .send({ name: 'crm', scopes: ['users:read'] })
      .expect(201);
    await http().delete(`/api-keys/${key.body.id}`).set('Authorization', t.auth).expect(204);
    const ping = await http().post(`/webhooks/${id}/ping`).set('Authorization', t.auth).expect(202);

    const got = await receiver.waitFor('/all', 8);
    const payloads = got.map((r) => verified(r, secret));
    // Delivery order is not promised; the set of events is.
    const byType = new Map(payloads.map((p) => [p.type, p]));
    expect([...byType.keys()].sort()).toEqual(
      [
        'user.created',
        'user.updated',
        'user.sip_password_rotated',
        'user.deleted',
        'users.imported',
        'api_key.created',
        'api_key.revoked',
        'webhook.ping',
      ].sort(),
    );
    for (const p of payloads) {
      // Against its own schema, and the union of all of them a client types its handler with.
      expect({
        type: p.type,
        own: contract.schemaProblems(eventSchemaName(p.type), p),
        union: contract.schemaProblems('WebhookEvent', p),
      }).toEqual({ type: p.type, own: [], union: [] });
    }
    const alice = { userId: user.body.id, extension: user.body.extension };
    expect(byType.get('user.created')?.data).toEqual({
      ...alice,
      name: 'Alice Smith',
      email: 'alice@example.com',
    });
    expect(byType.get('user.updated')?.data).toEqual({
      ...alice,
      name: 'Alice Smyth',
      email: 'alice@example.com',
    });
    expect(byType.get('user.deleted')?.data).toEqual({
      ...alice,
      name: 'Alice Smyth',
      email: 'alice@example.com',
    });
    expect(byType.get('users.imported')?.data).toEqual({
      count: 2,
      users: imported.body.users.map(
        (u: { id: string; extension: number; name: string; email: string }) => ({
          userId: u.id,
          extension: u.extension,
          name: u.name,
          email: u.email,
        }),
      ),
    });
    expect(byType.get('api_key.created')?.data).toEqual({
      apiKeyId: key.body.id,
      name: 'crm',
      scopes: ['users:read'],
      prefix: key.body.prefix,
    });
    expect(byType.get('webhook.ping')?.id).toBe(ping.body.eventId);
    for (const r of got) {
      const p = JSON.parse(r.body) as Payload;
      expect(r.headers['webhook-id']).toBe(p.id);
      expect(r.headers['content-type']).toBe('application/json');
      expect(Math.abs(Number(r.headers['webhook-timestamp']) * 1000 - Date.now())).toBeLessThan(
        60_000,
      );
    }
    // No secret in any payload: not the SIP password, not the key, not the webhook's.
    const bodies = got.map((r) => r.body).join('\n');
    expect(bodies).not.toContain(user.body.sipPassword);
    expect(bodies).not.toContain(key.body.key);
    expect(bodies).not.toContain(key.body.key.slice(12));
    expect(bodies).not.toContain(secret.slice(6));
    await waitUntil('every delivery recorded', async () =>
      (await deliveries(id)).items.every((d) => d.status === 'delivered'),
    );
    const log = await deliveries(id);
    expect(log.total).toBe(8);
    for (const d of log.items)
      expect(d.attempts).toEqual([
        expect.objectContaining({ attempt: 1, httpStatus: 200, error: null }),
      ]);
    await remove(id);
  });

  it('a 500 then a 200: two attempts of one delivery, with the same webhook-id', async () => {
    const { id, secret } = await subscribe('/flaky', ['user.created']);
    receiver.answer('/flaky', 500);
    await http()
      .post('/users')
      .set('Authorization', t.auth)
      .send({ name: 'Dave', email: 'dave@example.com' })
      .expect(201);
    const got = await receiver.waitFor('/flaky', 2);
    expect(got[0].headers['webhook-id']).toBe(got[1].headers['webhook-id']);
    expect(got[0].body).toBe(got[1].body);
    expect(verified(got[1], secret).type).toBe('user.created');
    await waitUntil(
      'the delivery recorded',
      async () => (await deliveries(id)).items[0]?.status === 'delivered',
    );
    const log = await deliveries(id);
    expect(log.total).toBe(1);
    expect(log.items[0].eventId).toBe(got[0].headers['webhook-id']);
    expect(log.items[0].attempts).toEqual([
      expect.objectContaining({ attempt: 1, httpStatus: 500, error: null }),
      expect.objectContaining({ attempt: 2, httpStatus: 200, error: null }),
    ]);
    await remove(id);
  });

  it('a retry falls due on time while another delivery is still in flight', async () => {
    const slow = await subscribe('/in-flight', ['user.created']);
    const flaky = await subscribe('/retry-on-time', ['user.created']);
    receiver.answer('/in-flight', 'hang');
    receiver.answer('/retry-on-time', 500);
    await http()
      .post('/users')
      .set('Authorization', t.auth)
      .send({ name: 'Fay', email: 'fay@in-flight.example' })
      .expect(201);
    // The retry is 0.2 s after the 500; the other delivery hangs for its full 15 s.
    const got = await receiver.waitFor('/retry-on-time', 2, 5_000);
    expect(got[1].at - got[0].at).toBeLessThan(5_000);
    expect(receiver.at('/in-flight')).toHaveLength(1);
    await remove(slow.id);
    await remove(flaky.id);
  });

  it('a redirect is not followed and counts as failed; after the last retry the delivery has failed', async () => {
    const { id } = await subscribe('/moved', ['user.created']);
    receiver.answer('/moved', 302, 302, 503, 502);
    await http()
      .post('/users')
      .set('Authorization', t.auth)
      .send({ name: 'Erin', email: 'erin@example.com' })
      .expect(201);
    await receiver.waitFor('/moved', 4);
    await waitUntil(
      'the delivery failed',
      async () => (await deliveries(id)).items[0]?.status === 'failed',
    );
    const log = await deliveries(id);
    expect(log.items[0].attempts.map((a) => [a.httpStatus, a.error])).toEqual([
      [302, 'redirect (302) not followed'],
      [302, 'redirect (302) not followed'],
      [503, null],
      [502, null],
    ]);
    // Nothing reached the redirect's target, and nothing more is sent.
    await sleep(500);
    expect(receiver.at('/moved')).toHaveLength(4);
    // Retry by hand: sent again now, with the same webhook-id.
    const retried = await http()
      .post(`/webhooks/${id}/deliveries/${log.items[0].id}/retry`)
      .set('Authorization', t.auth)
      .expect(202);
    expect(retried.body.status).toBe('pending');
    const again = await receiver.waitFor('/moved', 5);
    expect(again[4].headers['webhook-id']).toBe(again[0].headers['webhook-id']);
    await waitUntil(
      'the retry recorded',
      async () => (await deliveries(id)).items[0]?.status === 'delivered',
    );
    await remove(id);
  });

  it('410 Gone disables the subscription, with the reason; nothing more is sent to it', async () => {
    const { id } = await subscribe('/gone', ['user.created']);
    receiver.answer('/gone', 410);
    await http()
      .post('/users')
      .set('Authorization', t.auth)
      .send({ name: 'Frank', email: 'frank@example.com' })
      .expect(201);
    await receiver.waitFor('/gone', 1);
    await waitUntil('disabled', async () => {
      const res = await http().get(`/webhooks/${id}`).set('Authorization', t.auth);
      return res.body.enabled === false;
    });
    const hook = await http().get(`/webhooks/${id}`).set('Authorization', t.auth).expect(200);
    expect(hook.body.disabledReason).toMatch(/^the receiver answered 410 Gone at /);
    // The change is in the audit trail like any other, as the portal's own.
    const audit = await http()
      .get(`/audit?targetId=${id}&action=webhook.update`)
      .set('Authorization', t.auth)
      .expect(200);
    expect(audit.body.items).toEqual([
      expect.objectContaining({
        actor: { type: 'system', id: null, name: 'system' },
        changes: {
          before: { enabled: true },
          after: { enabled: false, disabledReason: hook.body.disabledReason },
        },
      }),
    ]);
    await http()
      .post('/users')
      .set('Authorization', t.auth)
      .send({ name: 'Grace', email: 'grace@example.com' })
      .expect(201);
    await sleep(500);
    expect(receiver.at('/gone')).toHaveLength(1);
    expect((await deliveries(id)).items.map((d) => d.status)).toEqual(['failed']);
    await remove(id);
  });

  it('disabled, a webhook gets nothing and its pending deliveries wait; enabled again, they go at once', async () => {
    const { id } = await subscribe('/paused', ['user.created']);
    const patch = (enabled: boolean) =>
      http().patch(`/webhooks/${id}`).set('Authorization', t.auth).send({ enabled }).expect(200);
    receiver.answer('/paused', 503);
    await http()
      .post('/users')
      .set('Authorization', t.auth)
      .send({ name: 'Paula', email: 'paula@example.com' })
      .expect(201);
    await receiver.waitFor('/paused', 1);
    // Before its retry (0.2 s later) is due.
    await patch(false);
    await http()
      .post('/users')
      .set('Authorization', t.auth)
      .send({ name: 'Quentin', email: 'quentin@example.com' })
      .expect(201);
    await sleep(600);
    expect(receiver.at('/paused')).toHaveLength(1);
    // The event of a change made while disabled is not kept for it.
    expect((await deliveries(id)).items.map((d) => d.status)).toEqual(['pending']);
    await patch(true);
    const [, retried] = await receiver.waitFor('/paused', 2, 2_000);
    expect((JSON.parse(retried.body) as Payload).data.name).toBe('Paula');
    await remove(id);
  });

  it('a change that rolls back sends nothing', async () => {
    const { id } = await subscribe('/rollback', ['*']);
    // A duplicate email, an invalid import, a dry run: each rolls its transaction back.
    await http()
      .post('/users')
      .set('Authorization', t.auth)
      .send({ name: 'Dave Again', email: 'DAVE@example.com' })
      .expect(409);
    await http()
      .post('/users/import')
      .set('Authorization', t.auth)
      .send({ users: [{ name: 'Ok', email: 'ok@example.com' }, { name: 'No email' }] })
      .expect(400);
    await http()
      .post('/users/import?dryRun=true')
      .set('Authorization', t.auth)
      .send({ users: [{ name: 'Dry', email: 'dry@example.com' }] })
      .expect(200);
    await sleep(500);
    expect(receiver.at('/rollback')).toEqual([]);
    const { rows } = await t.pg.query(
      'SELECT count(*)::int AS n FROM webhook_delivery WHERE subscription_id = $1',
      [id],
    );
    expect(rows[0].n).toBe(0);
    await remove(id);
  });

  it('DELETE stops everything to the webhook, pending deliveries included', async () => {
    const { id } = await subscribe('/deleted', ['user.created']);
    receiver.answer('/deleted', 500);
    await t.pg.query(`UPDATE webhook_subscription SET events = '{user.created}' WHERE id = $1`, [
      id,
    ]);
    await http()
      .post('/users')
      .set('Authorization', t.auth)
      .send({ name: 'Heidi', email: 'heidi@example.com' })
      .expect(201);
    await receiver.waitFor('/deleted', 1);
    await remove(id);
    await sleep(600);
    expect(receiver.at('/deleted')).toHaveLength(1);
    const { rows } = await t.pg.query(
      'SELECT count(*)::int AS n FROM webhook_delivery WHERE subscription_id = $1',
      [id],
    );
    expect(rows[0].n).toBe(0);
  });

  it('after a rotation both secrets sign, each verifying on its own', async () => {
    const { id, secret } = await subscribe('/rotated', ['webhook.ping']);
    const rotated = await http()
      .post(`/webhooks/${id}/rotate-secret`)
      .set('Authorization', t.auth)
      .expect(200);
    secrets.push(rotated.body.secret);
    await http().post(`/webhooks/${id}/ping`).set('Authorization', t.auth).expect(202);
    const [r] = await receiver.waitFor('/rotated', 1);
    expect(String(r.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verified(r, secret).type).toBe('webhook.ping');
    expect(verified(r, rotated.body.secret).type).toBe('webhook.ping');
    expect(() => verified(r, `whsec_${Buffer.alloc(32, 7).toString('base64')}`)).toThrow();
    // Once the overlap is over, only the new one signs.
    await t.pg.query(
      `UPDATE webhook_subscription SET previous_secret_expires_at = now() - interval '1 s' WHERE id = $1`,
      [id],
    );
    await http().post(`/webhooks/${id}/ping`).set('Authorization', t.auth).expect(202);
    const [, second] = await receiver.waitFor('/rotated', 2);
    expect(String(second.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(() => verified(second, secret)).toThrow();
    expect(verified(second, rotated.body.secret).type).toBe('webhook.ping');
    await remove(id);
  });

  it('a lease that ran out (a process killed mid-delivery) is sent again once it has, with the same webhook-id, once', async () => {
    const { id, secret } = await subscribe('/lease', ['webhook.ping']);
    const ping = await http().post(`/webhooks/${id}/ping`).set('Authorization', t.auth).expect(202);
    const [first] = await receiver.waitFor('/lease', 1);
    await waitUntil(
      'delivered',
      async () => (await deliveries(id)).items[0]?.status === 'delivered',
    );
    // As a process that died mid-delivery leaves it: leased for another second, never recorded.
    const { rows } = await t.pg.query<{ until: Date }>(
      `UPDATE webhook_delivery SET status = 'pending', attempts = 0, next_attempt_at = now(),
         locked_until = now() + interval '1 s' WHERE id = $1 RETURNING locked_until AS until`,
      [ping.body.deliveryId],
    );
    // A process that starts meanwhile, beside this one: either may send it, not before the
    // lease runs out, and only one of them does.
    const restarted = await bootApp(ENV, { database: db });
    try {
      const [, again] = await receiver.waitFor('/lease', 2, 5_000);
      expect(again.at).toBeGreaterThanOrEqual(rows[0].until.getTime());
      expect(again.headers['webhook-id']).toBe(first.headers['webhook-id']);
      expect(again.body).toBe(first.body);
      expect(verified(again, secret).id).toBe(ping.body.eventId);
      await waitUntil(
        'delivered again',
        async () => (await deliveries(id)).items[0]?.status === 'delivered',
      );
      await sleep(300);
      expect(receiver.at('/lease')).toHaveLength(2);
    } finally {
      await restarted.close();
    }
    await remove(id);
  });

  it('two portals on one database deliver each event once per subscription, over 500 changes', async () => {
    const other = await bootApp(ENV, { database: db });
    try {
      const a = await subscribe('/twice-a', ['user.created']);
      const b = await subscribe('/twice-b', ['user.created']);
      const n = 500;
      const apps = [t, other];
      for (let i = 0; i < n; i += 10) {
        await Promise.all(
          Array.from({ length: 10 }, (_, j) =>
            request(apps[(i + j) % 2].app.getHttpServer())
              .post('/users')
              .set('Authorization', t.auth)
              .send({ name: `Twice ${i + j}`, email: `twice${i + j}@example.com` })
              .expect(201),
          ),
        );
      }
      for (const path of ['/twice-a', '/twice-b']) {
        const got = await receiver.waitFor(path, n, 60_000);
        await sleep(300);
        const ids = receiver.at(path).map((r) => r.headers['webhook-id']);
        expect({ path, sent: ids.length, distinct: new Set(ids).size }).toEqual({
          path,
          sent: n,
          distinct: n,
        });
        expect(got).toHaveLength(n);
      }
      // Both processes took part.
      const { rows } = await t.pg.query(
        `SELECT count(*)::int AS n FROM webhook_delivery WHERE status = 'delivered' AND subscription_id IN ($1, $2)`,
        [a.id, b.id],
      );
      expect(rows[0].n).toBe(2 * n);
      await remove(a.id);
      await remove(b.id);
    } finally {
      await other.close();
    }
  });

  it('from commit to receipt at 100 changes a second: well under a second', async () => {
    const { id } = await subscribe('/latency', ['user.created']);
    const committed = new Map<string, number>();
    const n = 300;
    const start = Date.now();
    const sent: Promise<void>[] = [];
    for (let i = 0; i < n; i++) {
      // One change every 10 ms, whatever the previous ones are doing.
      await sleep(Math.max(0, start + i * 10 - Date.now()));
      sent.push(
        http()
          .post('/users')
          .set('Authorization', t.auth)
          .send({ name: `Lat Ency ${i}`, email: `latency${i}@example.com` })
          .expect(201)
          .then(() => {
            // The answer comes after the commit: a slight over-estimate of the commit time.
            committed.set(`Lat Ency ${i}`, Date.now());
          }),
      );
    }
    await Promise.all(sent);
    const got = await receiver.waitFor('/latency', n, 30_000);
    const latencies = got
      .map((r) => r.at - (committed.get((JSON.parse(r.body) as Payload).data.name as string) ?? 0))
      .sort((a, b) => a - b);
    const [p50, p99] = [latencies[Math.floor(n * 0.5)], latencies[Math.floor(n * 0.99)]];
    const lastCommit = Math.max(...committed.values()) - start;
    // For the record: this machine's CPUs are shared, and the app, its clients and the receiver
    // share one event loop here; the benchmark measures the built portal on its own.
    process.stderr.write(
      `webhook commit-to-receipt, ${n} creates at 100/s (the last committed at ${lastCommit} ms): p50 ${p50} ms, p99 ${p99} ms\n`,
    );
    // The goal (p50 under 100 ms, p99 under 1 s) with room for a loaded machine: a poll every
    // second could not pass even this; the NOTIFY at commit does.
    expect(p50).toBeLessThan(250);
    expect(p99).toBeLessThan(1000);
    await remove(id);
  });

  it('the metrics count attempts by outcome and show the queue', async () => {
    const text = (await http().get('/metrics').set('Authorization', t.auth).expect(200)).text;
    expect(text).toMatch(/^portal_webhook_deliveries_total\{outcome="delivered"\} [1-9]\d*$/m);
    expect(text).toMatch(/^portal_webhook_deliveries_total\{outcome="retrying"\} [1-9]\d*$/m);
    expect(text).toMatch(/^portal_webhook_deliveries_total\{outcome="gone"\} 1$/m);
    expect(text).toMatch(/^portal_webhook_queue_depth \d+$/m);
    expect(text).toMatch(/^portal_webhook_oldest_undelivered_seconds [\d.e+-]+$/m);
  });

  it('attempts recorded together: each needs its own lease, and one lost records nothing of it alone', async () => {
    const { id } = await subscribe('/batch', ['user.created']);
    // Disabled, so the worker leaves the rows below to the test.
    await http().patch(`/webhooks/${id}`).set('Authorization', t.auth).send({ enabled: false });
    const lease = new Date('2031-01-02T03:04:05.678Z');
    /** A delivery of a new event, leased until `lease` as a claim leaves it. */
    const leased = async (): Promise<string> =>
      (
        await t.pg.query<{ id: string }>(
          `WITH ev AS (
             INSERT INTO webhook_event (id, tenant_id, type, data, created_at)
             SELECT gen_random_uuid(), tenant_id, 'user.created', '{}', now()
             FROM webhook_subscription WHERE id = $1 RETURNING id
           )
           INSERT INTO webhook_delivery (subscription_id, event_id, next_attempt_at, locked_until)
           SELECT $1, ev.id, now(), $2 FROM ev RETURNING id`,
          [id, lease],
        )
      ).rows[0].id;
    const [kept, lost] = [await leased(), await leased()];
    const outcome = (deliveryId: string, lockedUntil: Date) => ({
      deliveryId,
      attempt: 1,
      at: new Date(),
      httpStatus: 200,
      error: null,
      durationMs: 3,
      status: 'delivered' as const,
      nextAttemptAt: null,
      lockedUntil,
    });
    const recorded = await t.app.get(OutboxRepository).recordAttempts([
      outcome(kept, new Date(lease.getTime() - 30_000)), // an older claim's, come late
      outcome(kept, lease),
      outcome(lost, new Date(lease.getTime() + 1)),
    ]);
    expect([...recorded]).toEqual([`${kept}@${lease.getTime()}`]);
    const { rows } = await t.pg.query<{ id: string; status: string; n: number; locked: Date }>(
      `SELECT d.id, d.status, d.locked_until AS locked,
         (SELECT count(*)::int FROM webhook_attempt a WHERE a.delivery_id = d.id) AS n
       FROM webhook_delivery d WHERE d.subscription_id = $1`,
      [id],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(byId.get(kept)).toMatchObject({ status: 'delivered', n: 1, locked: null });
    expect(byId.get(lost)).toMatchObject({ status: 'pending', n: 0, locked: lease });
    await remove(id);
  });

  it('finished deliveries go with their events after WEBHOOK_RETENTION_DAYS; pending ones stay', async () => {
    const { id } = await subscribe('/retention', ['user.created']);
    const emails = ['old-done', 'old-pending', 'new-done'].map((n) => `${n}@retention.example`);
    for (const email of emails) {
      await http()
        .post('/users')
        .set('Authorization', t.auth)
        .send({ name: 'Retention', email })
        .expect(201);
    }
    await receiver.waitFor('/retention', 3);
    await waitUntil('recorded', async () =>
      (await deliveries(id)).items.every((d) => d.status === 'delivered'),
    );
    const eventOf = async (email: string): Promise<string> =>
      (
        await t.pg.query<{ id: string }>(`SELECT id FROM webhook_event WHERE data->>'email' = $1`, [
          email,
        ])
      ).rows[0].id;
    const [oldDone, oldPending, newDone] = await Promise.all(emails.map(eventOf));
    // Default retention (30 days): two events made 31 days ago, one of them still pending
    // (as for a subscription disabled since, its retry far off).
    await t.pg.query(
      `UPDATE webhook_event SET created_at = now() - interval '31 days' WHERE id = ANY($1)`,
      [[oldDone, oldPending]],
    );
    await t.pg.query(
      `UPDATE webhook_delivery SET status = 'pending', next_attempt_at = now() + interval '1 day'
       WHERE event_id = $1`,
      [oldPending],
    );
    // Every subscription that wanted user.created then has a delivery of it.
    const { rows: done } = await t.pg.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM webhook_delivery WHERE event_id = $1`,
      [oldDone],
    );
    expect(await t.app.get(OutboxPruner).prune()).toEqual({ deliveries: done[0].n, events: 1 });
    const { rows } = await t.pg.query<{ id: string; deliveries: number }>(
      `SELECT e.id, (SELECT count(*)::int FROM webhook_delivery d WHERE d.event_id = e.id)
         AS deliveries FROM webhook_event e WHERE e.id = ANY($1) ORDER BY e.id`,
      [[oldDone, oldPending, newDone]],
    );
    expect(rows).toEqual(
      [
        { id: oldPending, deliveries: 1 },
        { id: newDone, deliveries: 1 },
      ].sort((a, b) => a.id.localeCompare(b.id)),
    );
    const { rows: orphans } = await t.pg.query(
      `SELECT 1 FROM webhook_attempt a LEFT JOIN webhook_delivery d ON d.id = a.delivery_id
       WHERE d.id IS NULL`,
    );
    expect(orphans).toHaveLength(0);
    const listed = (await deliveries(id)).items.map((d) => d.eventId);
    expect(listed).not.toContain(oldDone);
    expect(await t.app.get(OutboxPruner).prune()).toEqual({ deliveries: 0, events: 0 });
    await remove(id);
  });

  it('no secret in a delivery log or a log line', async () => {
    const { rows } = await t.pg.query(
      `SELECT coalesce(string_agg(a::text, ' '), '') AS all FROM webhook_attempt a`,
    );
    const logged = logs.written.join('');
    expect(logged).toContain('Webhook');
    for (const secret of secrets) {
      expect(rows[0].all).not.toContain(secret.slice(6, 30));
      expect(logged).not.toContain(secret.slice(6, 30));
    }
  });
});
