import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TEST_TOKEN } from './support/app';
import {
  buildPortal,
  killAllChildren,
  PortalBuild,
  PortalProcess,
  startPortal,
} from './support/portal-process';
import { createTestDatabase } from './support/test-database';
import { WebhookReceiver } from './support/webhook-receiver';

/**
 * The portal as a real process, killed with SIGKILL while a delivery is in flight: the lease it
 * held runs out (30 s) and the restarted portal sends the delivery again, with the same
 * webhook-id.
 */
describe('a portal killed mid-delivery', () => {
  let build: PortalBuild;
  let db: { url: string; drop: () => Promise<void> };
  let receiver: WebhookReceiver;
  let root: string;

  beforeAll(async () => {
    build = await buildPortal();
    db = await createTestDatabase();
    receiver = await new WebhookReceiver().start();
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'portal-hooks-'));
  }, 120_000);
  afterAll(async () => {
    await killAllChildren();
    await receiver?.stop();
    await db?.drop();
    build?.remove();
    fs.rmSync(root, { recursive: true, force: true });
  });

  const start = async (): Promise<PortalProcess> => {
    const portal = await startPortal(build, {
      DATABASE_URL: db.url,
      PORTAL_API_TOKEN: TEST_TOKEN,
      WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1/32',
      ASTERISK_PJSIP_DIR: root,
      ASTERISK_DIALPLAN_DIR: root,
      ASTERISK_CLI: '/bin/false',
    });
    await portal.waitUntilHealthy(30_000);
    return portal;
  };
  const call = async (portal: PortalProcess, method: string, url: string, body?: object) => {
    const res = await fetch(`${portal.baseUrl}${url}`, {
      method,
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };

  it('sends the delivery again after the restart, with the same webhook-id', async () => {
    const first = await start();
    const hook = await call(first, 'POST', '/webhooks', {
      url: receiver.url('/crash'),
      events: ['user.created'],
    });
    expect(hook.status).toBe(201);
    // The receiver holds the first request unanswered: the delivery is in flight.
    receiver.answer('/crash', 'hang');
    const user = await call(first, 'POST', '/users', { name: 'Ivan', email: 'ivan@example.com' });
    expect(user.status).toBe(201);
    const [inFlight] = await receiver.waitFor('/crash', 1);
    first.kill();
    await first.exited;

    const second = await start();
    const [, again] = await receiver.waitFor('/crash', 2, 45_000);
    expect(again.headers['webhook-id']).toBe(inFlight.headers['webhook-id']);
    expect(again.body).toBe(inFlight.body);
    // The killed attempt was never recorded: the log shows the one that was answered.
    let log: Record<string, unknown> = {};
    for (let i = 0; i < 100; i++) {
      log = (await call(second, 'GET', `/webhooks/${String(hook.body.id)}/deliveries`)).body;
      if ((log.items as { status: string }[])[0]?.status === 'delivered') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(log).toMatchObject({
      total: 1,
      items: [{ status: 'delivered', attempts: [{ attempt: 1, httpStatus: 200 }] }],
    });
    await second.stop('SIGTERM');
  }, 90_000);
});
