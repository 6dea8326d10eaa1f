import { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { Client } from 'pg';
import { AppModule } from '../../src/app.module';
import { configureApp } from '../../src/app.setup';
import { validateEnvironment } from '../../src/config/env.validation';
import { PortalConfig } from '../../src/config/portal-config.service';
import { createTestDatabase } from './test-database';

export const TEST_TOKEN = 'test-token-0123456789abcdef';

export interface TestApp {
  app: NestExpressApplication;
  databaseUrl: string;
  /** A client of the app's database, for looking behind the API; closed with the app. */
  pg: Client;
  /** Authorization header value for the test token. */
  auth: string;
  close: () => Promise<void>;
}

/**
 * Boots the real AppModule on a fresh cloned database, configured from `env` (over the
 * defaults below, not this process's environment) exactly as main.ts configures it.
 */
export async function bootApp(
  env: Record<string, string | undefined> = {},
  options: { database?: { url: string; drop: () => Promise<void> } } = {},
): Promise<TestApp> {
  const db = options.database ?? (await createTestDatabase());
  const vars: Record<string, string | undefined> = {
    DATABASE_URL: db.url,
    PORTAL_API_TOKEN: TEST_TOKEN,
    LOG_LEVEL: 'silent',
    ...env,
  };
  try {
    const config = new PortalConfig(validateEnvironment(vars));
    const moduleRef = await Test.createTestingModule({
      imports: [AppModule.forRoot(config)],
    }).compile();
    const app = moduleRef.createNestApplication<NestExpressApplication>({
      bodyParser: false,
      bufferLogs: true,
    });
    configureApp(app);
    await app.init();
    const pg = new Client({ connectionString: db.url });
    // Tests cut the database's connections on purpose; a query on a cut client still fails.
    pg.on('error', () => undefined);
    await pg.connect();
    return {
      app,
      databaseUrl: db.url,
      pg,
      auth: `Bearer ${vars.PORTAL_API_TOKEN ?? ''}`,
      close: async () => {
        await pg.end();
        await app.close();
        if (!options.database) await db.drop();
      },
    };
  } catch (err) {
    if (!options.database) await db.drop();
    throw err;
  }
}
