import {
  Controller,
  Headers,
  HttpCode,
  Inject,
  Injectable,
  Module,
  Post,
  type RawBodyRequest,
  Req,
} from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import path from 'node:path';
import type { Request } from 'express';
import request from 'supertest';
import {
  type components,
  InjectPortalClient,
  type PortalClient,
  PortalClientModule,
  type PortalError,
  verifyWebhook,
  type WebhookEvent,
} from '../client/src';
import { bootApp, type TestApp } from './support/app';
import { createKey } from './support/api-keys';

type Schemas = components['schemas'];
// True when A and B are the same type: the client's types are checked by `npm run typecheck`.
type Equals<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

const CLIENT = path.resolve(__dirname, '..', 'client');

describe('the client package', () => {
  it('has generated types that match openapi.json (run `npm run generate --prefix client`)', () => {
    // The same chain as openapi.json itself: the app -> openapi.json -> the client's types.
    const run = spawnSync(
      process.execPath,
      [path.join(CLIENT, 'scripts', 'generate.mjs'), '--check'],
      {
        encoding: 'utf8',
      },
    );
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
  });
});

/** What a service built on the client does: here, an HR system's directory of people. */
@Injectable()
class Directory {
  constructor(@InjectPortalClient() private readonly portal: PortalClient) {}

  onboard(name: string, email: string) {
    return this.portal.POST('/users', { body: { name, email } });
  }

  find(id: string) {
    return this.portal.GET('/users/{id}', { params: { path: { id } } });
  }
}

describe('PortalClientModule in a Nest service (real PostgreSQL)', () => {
  let t: TestApp;
  let baseUrl: string;
  let apiKey: string;

  beforeAll(async () => {
    t = await bootApp();
    await t.app.listen(0, '127.0.0.1');
    baseUrl = await t.app.getUrl();
    // A service gets a key with only the scopes it needs, not the bootstrap token.
    apiKey = (await createKey(t, ['users:read', 'users:write'], 'hr system')).key;
  });
  afterAll(() => t?.close());

  const service = async (portalModule: ReturnType<typeof PortalClientModule.forRoot>) => {
    const moduleRef = await Test.createTestingModule({
      imports: [portalModule],
      providers: [Directory],
    }).compile();
    return { directory: moduleRef.get(Directory), close: () => moduleRef.close() };
  };

  it('creates a user through the injected client and reads it back, typed', async () => {
    const { directory, close } = await service(PortalClientModule.forRoot({ baseUrl, apiKey }));
    try {
      const created = await directory.onboard('Grace Hopper', `grace-${randomUUID()}@example.com`);
      expect(created.response.status).toBe(201);
      const createdData: Schemas['CreatedUserDto'] | undefined = created.data;
      expect(createdData).toEqual(
        expect.objectContaining({ name: 'Grace Hopper', sipPassword: expect.any(String) }),
      );
      const id = created.data!.id;

      const read = await directory.find(id);
      expect(read.error).toBeUndefined();
      const user: Schemas['UserDetailDto'] | undefined = read.data;
      expect(user).toMatchObject({ id, name: 'Grace Hopper', extension: created.data!.extension });
      // What the portal answered is what the client returned, no field lost or renamed.
      const direct = await request(baseUrl).get(`/users/${id}`).set('Authorization', t.auth);
      expect(read.data).toEqual(direct.body);
    } finally {
      await close();
    }
  });

  it('gives a 4xx as the typed error body', async () => {
    const { directory, close } = await service(PortalClientModule.forRoot({ baseUrl, apiKey }));
    try {
      const missing = await directory.find(randomUUID());
      const typed: Equals<typeof missing.error, PortalError | undefined> = true;
      expect(typed).toBe(true);
      expect(missing.data).toBeUndefined();
      expect(missing.response.status).toBe(404);
      expect(missing.error).toEqual({
        statusCode: 404,
        error: 'USER_NOT_FOUND',
        message: expect.any(String),
        requestId: missing.response.headers.get('x-request-id'),
      });

      const email = `ada-${randomUUID()}@example.com`;
      await directory.onboard('Ada Lovelace', email);
      const duplicate = await directory.onboard('Ada Again', email);
      expect(duplicate.error?.error).toBe('DUPLICATE_EMAIL');
      expect(duplicate.error?.statusCode).toBe(409);

      const invalid = await directory.onboard('Eve', 'not an email');
      expect(invalid.error).toMatchObject({ statusCode: 400, error: 'BAD_REQUEST' });
    } finally {
      await close();
    }
  });

  it('is typed route by route: an unknown route or a wrong body does not compile', () => {
    // Never called: these lines are for the type checker, which must reject each one.
    const compileOnly = (portal: PortalClient) => [
      // @ts-expect-error no such route
      portal.GET('/no-such-route'),
      // @ts-expect-error email is required
      portal.POST('/users', { body: { name: 'Bob' } }),
      // @ts-expect-error the path needs its id
      portal.GET('/users/{id}', {}),
    ];
    expect(typeof compileOnly).toBe('function');
  });

  it('forRootAsync takes its options from a factory with injected providers', async () => {
    @Module({
      providers: [{ provide: 'SETTINGS', useValue: { url: baseUrl, key: apiKey } }],
      exports: ['SETTINGS'],
    })
    class SettingsModule {}

    const { directory, close } = await service(
      PortalClientModule.forRootAsync({
        imports: [SettingsModule],
        inject: ['SETTINGS'],
        useFactory: (settings: { url: string; key: string }) =>
          Promise.resolve({ baseUrl: settings.url, apiKey: settings.key }),
      }),
    );
    try {
      const created = await directory.onboard('Alan Turing', `alan-${randomUUID()}@example.com`);
      expect(created.response.status).toBe(201);
    } finally {
      await close();
    }
  });

  it('sends the API key as a bearer credential: a key without the scope gets a typed 403', async () => {
    const reader = (await createKey(t, ['users:read'], 'reader')).key;
    const { directory, close } = await service(
      PortalClientModule.forRoot({ baseUrl, apiKey: reader }),
    );
    try {
      const denied = await directory.onboard('Nobody', `nobody-${randomUUID()}@example.com`);
      expect(denied.error).toMatchObject({ statusCode: 403, error: 'FORBIDDEN' });
    } finally {
      await close();
    }
  });
});

/** Where the service receives the portal's events; it keeps what it verified. */
const RECEIVED = 'RECEIVED';
const SECRET = 'SECRET';

@Controller('hooks')
class PortalEventsController {
  constructor(
    @Inject(SECRET) private readonly secret: { value: string },
    @Inject(RECEIVED) private readonly received: WebhookEvent[],
  ) {}

  @Post('portal')
  @HttpCode(204)
  receive(@Req() req: RawBodyRequest<Request>, @Headers() headers: IncomingHttpHeaders): void {
    // The raw body: the signature covers the bytes sent, not a re-serialized object.
    this.received.push(verifyWebhook(this.secret.value, headers, req.rawBody ?? ''));
  }
}

describe('webhooks to a Nest service (real PostgreSQL)', () => {
  let t: TestApp;
  let receiver: NestExpressApplication;
  const secret = { value: '' };
  const received: WebhookEvent[] = [];

  beforeAll(async () => {
    t = await bootApp({ WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1/32', WEBHOOK_RETRY_SCHEDULE: '1' });
    await t.app.listen(0, '127.0.0.1');
    const moduleRef = await Test.createTestingModule({
      imports: [
        PortalClientModule.forRoot({
          baseUrl: await t.app.getUrl(),
          apiKey: (await createKey(t, ['users:read', 'users:write'], 'hr system')).key,
        }),
      ],
      controllers: [PortalEventsController],
      providers: [
        Directory,
        { provide: SECRET, useValue: secret },
        { provide: RECEIVED, useValue: received },
      ],
    }).compile();
    receiver = moduleRef.createNestApplication<NestExpressApplication>({
      rawBody: true,
      logger: false,
    });
    await receiver.listen(0, '127.0.0.1');
  });
  afterAll(async () => {
    await receiver?.close();
    await t?.close();
  });

  it("receives the created user's user.created event and verifies it", async () => {
    const subscription = await request(t.app.getHttpServer())
      .post('/webhooks')
      .set('Authorization', t.auth)
      .send({ url: `${await receiver.getUrl()}/hooks/portal`, events: ['user.created'] });
    expect(subscription.status).toBe(201);
    secret.value = (subscription.body as { secret: string }).secret;

    const created = await receiver
      .get(Directory)
      .onboard('Linus', `linus-${randomUUID()}@example.com`);
    const userId = created.data!.id;
    const deadline = Date.now() + 20_000;
    while (!received.some((e) => e.type === 'user.created') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(received).toEqual([
      expect.objectContaining({
        type: 'user.created',
        data: expect.objectContaining({ userId }),
      }),
    ]);
  });
});
