import { NestExpressApplication } from '@nestjs/platform-express';
import type { RequestHandler } from 'express';
import { SwaggerModule } from '@nestjs/swagger';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import { Authenticator } from './auth/authenticator';
import { buildOpenApiDocument } from './common/http/openapi-document';
import {
  BODY_LIMIT,
  checkBodyShape,
  explainInvalidJson,
  IMPORT_BODY_LIMIT,
  isImportCsv,
  isImportJson,
  isImportPost,
  isJsonPost,
  requireJsonBody,
} from './common/http/request-body';
import { assignRequestId } from './common/http/request-id';
import { ApiValidationPipe } from './common/validation/api-validation.pipe';
import { PortalConfig } from './config/portal-config.service';
import { PortalMetrics } from './metrics/portal-metrics';

/**
 * helmet's headers, with the CSP's `upgrade-insecure-requests` only on a request that came
 * over HTTPS. Sent over plain HTTP, it makes a browser fetch every asset of /docs over HTTPS
 * from a port that speaks HTTP, and the page stays blank; that is how an admin opens it, by
 * the machine's address (HOST defaults to 0.0.0.0). Over HTTPS (a TLS proxy that TRUST_PROXY
 * names and that sends X-Forwarded-Proto) it keeps mixed content off the page.
 */
function securityHeaders(): RequestHandler {
  const overHttps = helmet();
  const overHttp = helmet({
    contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
  });
  return (req, res, next) => (req.secure ? overHttps : overHttp)(req, res, next);
}

/** Everything main.ts and the e2e tests share, so tests exercise the real HTTP surface. */
export function configureApp(app: NestExpressApplication): void {
  app.useLogger(app.get(Logger));
  // First, so every answer is timed, even one refused before routing.
  app.use(app.get(PortalMetrics).httpMiddleware);
  app.use(assignRequestId);
  // Whose X-Forwarded-Proto (req.secure) and X-Forwarded-For (req.ip) to believe: by default
  // nobody's, so a client can neither claim HTTPS nor dodge the failed-auth limit.
  app.set('trust proxy', app.get(PortalConfig).trustProxy);
  app.use(securityHeaders());
  // POST /users/import takes bodies of up to 2 MB: its caller is authenticated before one is
  // read, so nobody without a token or key has the portal parse it.
  app.use(authenticateImports(app.get(Authenticator)));
  // Any other body (16 KB at most) is read and checked before the guard runs, so a 415, a 413
  // or a malformed-JSON 400 answers before a 401 would.
  app.use(requireJsonBody);
  // Any JSON value is parsed (strict: false), so a body that is valid JSON but not an object
  // gets checkBodyShape's one clear message rather than a parser's syntax error.
  app.useBodyParser('json', { limit: BODY_LIMIT, strict: false, type: isJsonPost });
  // POST /users/import alone takes a larger body, as JSON or as CSV text.
  app.useBodyParser('json', { limit: IMPORT_BODY_LIMIT, strict: false, type: isImportJson });
  app.useBodyParser('text', { limit: IMPORT_BODY_LIMIT, type: isImportCsv });
  app.use(explainInvalidJson);
  app.use(checkBodyShape);
  app.useGlobalPipes(new ApiValidationPipe());
  SwaggerModule.setup('docs', app, buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
    swaggerOptions: { persistAuthorization: true },
  });
}

function authenticateImports(authenticator: Authenticator): RequestHandler {
  return (req, res, next) => {
    if (!isImportPost(req)) return next();
    authenticator.authenticate(req, res).then(() => next(), next);
  };
}
