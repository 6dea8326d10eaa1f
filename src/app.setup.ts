import {
  BadRequestException,
  INestApplication,
  ValidationError,
  ValidationPipe,
} from '@nestjs/common';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import { assignRequestId } from './common/http/request-id';
import { checkRequestShape } from './common/http/request-shape';

export const BODY_LIMIT = '16kb';

function flatten(errors: ValidationError[], prefix = ''): string[] {
  return errors.flatMap((e) => {
    const path = prefix ? `${prefix}.${e.property}` : e.property;
    const own = Object.values(e.constraints ?? {});
    return [...own, ...flatten(e.children ?? [], path)];
  });
}

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('SynergyCall PBX portal')
    .setDescription(
      'Administers an Asterisk 22 PBX: users and their SIP extensions, and an explicit apply that writes the PJSIP and dialplan include files and reloads Asterisk.',
    )
    .setVersion('1.0')
    .addBearerAuth({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'opaque token',
      description: 'The value of PORTAL_API_TOKEN',
    })
    .build();
  return SwaggerModule.createDocument(app, config);
}

/** Everything main.ts and the e2e tests share, so tests exercise the real HTTP surface. */
export function configureApp(app: NestExpressApplication): void {
  app.useLogger(app.get(Logger));
  app.use(assignRequestId);
  app.use(helmet());
  app.useBodyParser('json', { limit: BODY_LIMIT });
  app.use(checkRequestShape);
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      exceptionFactory: (errors) => new BadRequestException(flatten(errors)),
    }),
  );
  SwaggerModule.setup('docs', app, buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
    swaggerOptions: { persistAuthorization: true },
  });
}
