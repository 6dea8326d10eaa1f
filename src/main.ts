import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import path from 'node:path';
import { AppModule } from './app.module';
import { configureApp } from './app.setup';
import { ConfigValidationError, validateEnvironment } from './config/env.validation';
import {
  EmbeddedPostgresError,
  EmbeddedPostgresHandle,
  startEmbeddedPostgres,
} from './database/embedded-postgres';

async function bootstrap(): Promise<void> {
  // Validate before anything starts, so a bad value is one clear line and nothing else.
  const env = validateEnvironment(process.env);

  let embedded: EmbeddedPostgresHandle | undefined;
  let app: NestExpressApplication | undefined;
  // Own the shutdown order from the start: stop taking requests, close the pool, then the
  // embedded server (registered before it starts, so a Ctrl-C never orphans it).
  let closing = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (closing) return;
    closing = true;
    void (async () => {
      try {
        await app?.close();
        await embedded?.stop();
      } finally {
        process.exit(signal === 'SIGINT' ? 130 : 0);
      }
    })();
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);

  if (!env.DATABASE_URL) {
    const dataDir = path.resolve(env.EMBEDDED_DB_DIR);
    embedded = await startEmbeddedPostgres({ dataDir, port: env.EMBEDDED_DB_PORT });
    process.env.DATABASE_URL = embedded.url;
    process.stdout.write(
      `${JSON.stringify({ level: 30, time: Date.now(), msg: `DATABASE_URL is not set; using the embedded PostgreSQL in ${dataDir} on 127.0.0.1:${env.EMBEDDED_DB_PORT}` })}\n`,
    );
  }

  try {
    app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(), {
      bufferLogs: true,
      bodyParser: false,
    });
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
  configureApp(app);

  await app.listen(env.PORT, env.HOST ?? '0.0.0.0');
}

bootstrap().catch((err: unknown) => {
  const oneLine = err instanceof ConfigValidationError || err instanceof EmbeddedPostgresError;
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(
    oneLine ? `${message}\n` : `Start-up failed: ${(err as Error)?.stack ?? message}\n`,
  );
  process.exit(1);
});
