import { Webhook } from 'standardwebhooks';
import request from 'supertest';
import { PhoneEventsPoller } from '../src/webhooks/phone-events-poller';
import { bootApp, TestApp } from './support/app';
import { AsteriskSandbox, FakeContact } from './support/asterisk-sandbox';
import { createTestDatabase } from './support/test-database';
import { WebhookReceiver } from './support/webhook-receiver';

const phone = (ext: number, status: FakeContact['status']): FakeContact => ({
  aor: String(ext),
  uri: `sip:${ext}@192.0.2.${ext - 990}:5060`,
  expirationTime: Math.floor(Date.now() / 1000) + 300,
  status,
});

interface PhoneEvent {
  type: string;
  data: { userId: string; extension: number; state: string; contactUri: string | null };
}

/**
 * The poller is driven by hand here (its timer set to an hour), in two apps on one database,
 * so each look is one known step.
 */
describe('phone.* events from the registration listing (real PostgreSQL, fake Asterisk)', () => {
  let box: AsteriskSandbox;
  let db: { url: string; drop: () => Promise<void> };
  let a: TestApp;
  let b: TestApp;
  let receiver: WebhookReceiver;
  const users: { id: string; extension: number }[] = [];
  const http = () => request(a.app.getHttpServer());
  const pollBoth = () => Promise.all([a, b].map((app) => app.app.get(PhoneEventsPoller).poll()));

  beforeAll(async () => {
    box = new AsteriskSandbox();
    box.setContacts([]);
    receiver = await new WebhookReceiver().start();
    db = await createTestDatabase();
    const env = box.env({
      WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1/32',
      PHONE_EVENTS_POLL_SECONDS: '3600',
    });
    a = await bootApp(env, { database: db });
    b = await bootApp(env, { database: db });
    for (const name of ['Alice', 'Bob', 'Carol']) {
      const res = await http()
        .post('/users')
        .set('Authorization', a.auth)
        .send({ name, email: `${name.toLowerCase()}@example.com` })
        .expect(201);
      users.push(res.body as { id: string; extension: number });
    }
    await http().post('/apply').set('Authorization', a.auth).expect(200);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await receiver?.stop();
    await db?.drop();
    box?.remove();
  });

  it('asks Asterisk nothing while no enabled webhook wants a phone event', async () => {
    box.setContacts([phone(users[0].extension, 'Avail')]);
    const other = await http()
      .post('/webhooks')
      .set('Authorization', a.auth)
      .send({ url: receiver.url('/users-only'), events: ['user.created'] })
      .expect(201);
    box.clearCalls();
    await pollBoth();
    expect(box.calls()).toEqual([]);
    await http().delete(`/webhooks/${other.body.id}`).set('Authorization', a.auth).expect(204);
  });

  it('one event per change of a user state across two processes, none for a user deleted since', async () => {
    const hook = await http()
      .post('/webhooks')
      .set('Authorization', a.auth)
      .send({
        url: receiver.url('/phones'),
        events: ['phone.registered', 'phone.unreachable', 'phone.unregistered'],
      })
      .expect(201);
    const secret = hook.body.secret as string;
    const [alice, bob, carol] = users;
    const events = (n: number) =>
      receiver
        .waitFor('/phones', n)
        .then((got) =>
          got.map(
            (r) =>
              new Webhook(secret).verify(r.body, r.headers as Record<string, string>) as PhoneEvent,
          ),
        );

    box.setContacts([phone(alice.extension, 'Avail'), phone(bob.extension, 'NonQual')]);
    await pollBoth();
    await pollBoth();
    const first = await events(2);
    expect(
      first.map((e) => [e.type, e.data.extension]).sort((x, y) => Number(x[1]) - Number(y[1])),
    ).toEqual([
      ['phone.registered', alice.extension],
      ['phone.registered', bob.extension],
    ]);
    expect(first.find((e) => e.data.userId === alice.id)?.data).toEqual({
      userId: alice.id,
      extension: alice.extension,
      state: 'registered',
      contactUri: `sip:${alice.extension}@192.0.2.${alice.extension - 990}:5060`,
    });

    // Alice stops answering, Bob unregisters, Carol is deleted with her phone registered.
    box.setContacts([phone(alice.extension, 'Unavail'), phone(carol.extension, 'Avail')]);
    await http().delete(`/users/${carol.id}`).set('Authorization', a.auth).expect(204);
    // A listing is reused for up to 2 s (LISTING_MAX_AGE_MS): the next look reads a new one.
    await new Promise((resolve) => setTimeout(resolve, 2100));
    await pollBoth();
    await pollBoth();
    const second = (await events(4)).slice(2);
    expect(second.map((e) => [e.type, e.data.userId]).sort()).toEqual(
      [
        ['phone.unreachable', alice.id],
        ['phone.unregistered', bob.id],
      ].sort(),
    );
    expect(second.find((e) => e.data.userId === bob.id)?.data.contactUri).toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.at('/phones')).toHaveLength(4);
  });
});
