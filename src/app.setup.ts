import { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import { buildOpenApiDocument } from './common/http/openapi-document';
import {
  BODY_LIMIT,
  checkBodyShape,
  isJsonPost,
  requireJsonBody,
} from './common/http/request-body';
import { assignRequestId } from './common/http/request-id';
import { ApiValidationPipe } from './common/validation/api-validation.pipe';

/** Everything main.ts and the e2e tests share, so tests exercise the real HTTP surface. */
export function configureApp(app: NestExpressApplication): void {
  app.useLogger(app.get(Logger));
  app.use(assignRequestId);
  app.use(helmet());
  // The body is read and checked before the guard runs, so a 415, a 413 or a malformed-JSON
  // 400 answers before a 401 would.
  app.use(requireJsonBody);
  // Any JSON value is parsed (strict: false), so a body that is valid JSON but not an object
  // gets checkBodyShape's one clear message rather than a parser's syntax error.
  app.useBodyParser('json', { limit: BODY_LIMIT, strict: false, type: isJsonPost });
  app.use(checkBodyShape);
  app.useGlobalPipes(new ApiValidationPipe());
  SwaggerModule.setup('docs', app, buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
    swaggerOptions: { persistAuthorization: true },
  });
}
