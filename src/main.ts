import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { existsSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { isConnectionError } from './common/errors/pg-errors';
import { BootstrapLogger } from './common/http/bootstrap-logger';
import { type KeptApiToken, keptApiToken } from './config/api-token-file';
import { ConfigValidationError } from './config/env.validation';
import { PortalConfig } from './config/portal-config.service';
import { assertCanListen, listenProblem, type PortSetting, urlHost } from './config/ports';
import { StartupError } from './config/startup-error';
import { validateConfiguration } from './config/startup-validation';
import {
  EmbeddedPostgresError,
  EmbeddedPostgresHandle,
  relocatedDataDir,
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

const CONTEXT = 'Portal';

async function bootstrap(): Promise<void> {
  // A .env file fills in what the environment leaves unset; process.env itself is left as is.
  const dotEnv = existsSync('.env') ? parseEnv(readFileSync('.env', 'utf8')) : {};
  // Validated once, before anything starts, so bad values are one line each and nothing else;
  // the nodes file with the variables, so their problems come together.
  const { env, nodes } = validateConfiguration({ ...dotEnv, ...process.env });
  const log = new BootstrapLogger(env.LOG_LEVEL);
  const http: PortSetting = {
    host: env.HOST ?? '0.0.0.0',
    port: env.PORT,
    variable: 'PORT',
    hostVariable: 'HOST',
    what: 'the portal',
  };
  // A taken port is found before the embedded database is started for nothing.
  await assertCanListen(http);

  let embedded: EmbeddedPostgresHandle | undefined;
  let app: NestExpressApplication | undefined;
  // Once the app exists its logger writes the lines, in order with its own.
  const portalLog = (level: 'log' | 'warn' | 'error', line: string): void =>
    app ? new Logger(CONTEXT)[level](line) : log[level](line, CONTEXT);
  // Own the shutdown order from the start: stop taking requests, close the pool, then the
  // embedded server (registered before it starts, so a Ctrl-C never orphans it).
  let closing = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (closing) return;
    closing = true;
    const t0 = Date.now();
    portalLog('log', `${signal} received; shutting down`);
    void (async () => {
      let clean = false;
      try {
        await app?.close();
        await embedded?.stop();
        clean = true;
      } finally {
        if (clean) portalLog('log', `shut down in ${Date.now() - t0} ms`);
        else portalLog('error', 'shutdown failed');
        process.exit(signal === 'SIGINT' ? 130 : 0);
      }
    })();
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);

  let keptToken: KeptApiToken | undefined;
  if (!env.DATABASE_URL) {
    const dataDir = path.resolve(env.EMBEDDED_DB_DIR);
    // A server left running on this directory (postmaster.pid) holds the port and is stopped
    // by startEmbeddedPostgres; otherwise a taken port is reported before initdb runs.
    // (The cluster may be kept elsewhere when the postgres user cannot reach dataDir.)
    const clusters = [dataDir, relocatedDataDir(dataDir)];
    if (!clusters.some((dir) => existsSync(path.join(dir, 'postmaster.pid')))) {
      await assertCanListen({
        host: '127.0.0.1',
        port: env.EMBEDDED_DB_PORT,
        variable: 'EMBEDDED_DB_PORT',
        what: 'the embedded PostgreSQL',
      });
    }
    // The server's own log (and initdb's) becomes part of the portal's log.
    embedded = await startEmbeddedPostgres({
      dataDir,
      port: env.EMBEDDED_DB_PORT,
      onLog: (line, level) => log[level === 'info' ? 'log' : level](line, 'EmbeddedPostgres'),
    });
    log.log(
      `DATABASE_URL is not set; using the embedded PostgreSQL in ${embedded.dataDir} on 127.0.0.1:${env.EMBEDDED_DB_PORT}`,
      'EmbeddedPostgres',
    );
    if (!env.PORTAL_API_TOKEN) {
      // The trial set-up: a token kept with the data, so a restart does not lock the admin out.
      // (With DATABASE_URL, checkEnvironment requires PORTAL_API_TOKEN; it says why.)
      try {
        keptToken = keptApiToken(dataDir);
      } catch (err) {
        await embedded.stop();
        throw err;
      }
    }
  }
  const config = new PortalConfig(env, {
    databaseUrl: embedded?.url,
    apiToken: keptToken?.token,
    nodes,
  });

  try {
    // Loaded only now, so a refused configuration exits without loading the whole app.
    const [{ NestFactory }, { AppModule }, { configureApp }] = await Promise.all([
      import('@nestjs/core'),
      import('./app.module.js'),
      import('./app.setup.js'),
    ]);
    app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
      logger: new BootstrapLogger(env.LOG_LEVEL),
      bufferLogs: true,
      bodyParser: false,
      // Fail through our handler (one line, embedded database stopped), not process.abort.
      abortOnError: false,
    });
    configureApp(app);
  } catch (err) {
    await embedded?.stop();
    throw isDatabaseStartFailure(err) ? new DatabaseStartError(err, config.databaseUrl) : err;
  }

  try {
    await app.listen(http.port, http.host);
  } catch (err) {
    // Taken since the check at the start: the same line, with everything stopped.
    await app.close();
    await embedded?.stop();
    throw listenProblem(err, http) ?? err;
  }
  const { port } = app.getHttpServer().address() as AddressInfo;
  portalLog('log', `listening on http://${urlHost(http.host, port)} (docs at /docs)`);
  if (keptToken) {
    // Last, so it is what an admin trying the portal out sees; once per start, nowhere else.
    if (keptToken.tightened) {
      portalLog('warn', `${keptToken.file} was readable by others; now 0600`);
    }
    const how = keptToken.created ? 'was generated and is kept in' : 'is read from';
    portalLog(
      'warn',
      `API token: ${keptToken.token} -- PORTAL_API_TOKEN is not set, so this token ${how} ${keptToken.file} (mode 0600, reused at every start); send "Authorization: Bearer <token>"`,
    );
  }
}

bootstrap().catch((err: unknown) => {
  const oneLine =
    err instanceof ConfigValidationError ||
    err instanceof StartupError ||
    err instanceof EmbeddedPostgresError ||
    err instanceof DatabaseStartError;
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(
    oneLine ? `${message}\n` : `Start-up failed: ${(err as Error)?.stack ?? message}\n`,
  );
  process.exit(1);
});
