import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { AppModule } from './app.module';
import { configureApp } from './app.setup';
import { isConnectionError } from './common/errors/pg-errors';
import { BootstrapLogger } from './common/http/bootstrap-logger';
import { ConfigValidationError, validateEnvironment } from './config/env.validation';
import {
  EmbeddedPostgresError,
  EmbeddedPostgresHandle,
  startEmbeddedPostgres,
} from './database/embedded-postgres';

/** Unreachable, unknown database, or refused credentials (SQLSTATE classes 28 and 3D). */
function isDatabaseStartFailure(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return isConnectionError(err) || (typeof code === 'string' && /^(28|3D)/.test(code));
}

/** The database could not be reached at start-up; the URL is shown without its password. */
class DatabaseStartError extends Error {
  constructor(cause: unknown, url: string | undefined) {
    let where = 'DATABASE_URL';
    try {
      const u = new URL(url ?? '');
      where = `${u.hostname}:${u.port || 5432}${u.pathname}`;
    } catch {
      // keep the variable name
    }
    super(
      `Cannot reach the database at ${where} (DATABASE_URL): ${cause instanceof Error ? cause.message : String(cause)}`.replace(
        /\s+/g,
        ' ',
      ),
    );
  }
}

async function bootstrap(): Promise<void> {
  // A .env file fills in what the environment leaves unset (as ConfigModule does later).
  if (existsSync('.env')) process.loadEnvFile('.env');
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
    // The server's own log (and initdb's) becomes part of the portal's log.
    const dbLog = new BootstrapLogger(env.LOG_LEVEL);
    embedded = await startEmbeddedPostgres({
      dataDir,
      port: env.EMBEDDED_DB_PORT,
      onLog: (line, level) => dbLog[level === 'info' ? 'log' : level](line, 'EmbeddedPostgres'),
    });
    process.env.DATABASE_URL = embedded.url;
    dbLog.log(
      `DATABASE_URL is not set; using the embedded PostgreSQL in ${dataDir} on 127.0.0.1:${env.EMBEDDED_DB_PORT}`,
      'EmbeddedPostgres',
    );
  }

  try {
    app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(), {
      logger: new BootstrapLogger(env.LOG_LEVEL),
      bufferLogs: true,
      bodyParser: false,
      // Fail through our handler (one line, embedded database stopped), not process.abort.
      abortOnError: false,
    });
  } catch (err) {
    await embedded?.stop();
    throw isDatabaseStartFailure(err) ? new DatabaseStartError(err, process.env.DATABASE_URL) : err;
  }
  configureApp(app);

  await app.listen(env.PORT, env.HOST ?? '0.0.0.0');
}

bootstrap().catch((err: unknown) => {
  const oneLine =
    err instanceof ConfigValidationError ||
    err instanceof EmbeddedPostgresError ||
    err instanceof DatabaseStartError;
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(
    oneLine ? `${message}\n` : `Start-up failed: ${(err as Error)?.stack ?? message}\n`,
  );
  process.exit(1);
});
