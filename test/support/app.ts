import { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { Client } from 'pg';
import { AppModule } from '../../src/app.module';
import { configureApp } from '../../src/app.setup';
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
 * Boots the real AppModule on a fresh cloned database with the given environment, exactly
 * as main.ts configures it. The environment is restored on close.
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
  const saved: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(vars)) {
    saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  const restore = (): void => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  try {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot()] }).compile();
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
        try {
          await pg.end();
          await app.close();
          if (!options.database) await db.drop();
        } finally {
          restore();
        }
      },
    };
  } catch (err) {
    restore();
    if (!options.database) await db.drop();
    throw err;
  }
}
