import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../src/app.module';
import { validateEnvironment } from '../src/config/env.validation';
import { PortalConfig } from '../src/config/portal-config.service';
import { buildOpenApiDocument } from '../src/common/http/openapi-document';

/**
 * Writes openapi.json at the repo root. Preview mode builds the route graph without
 * instantiating providers, so no database is needed.
 */
async function main(): Promise<void> {
  // The defaults: the document does not depend on this machine's environment.
  const config = new PortalConfig(validateEnvironment({}));
  const app = await NestFactory.create(AppModule.forRoot(config), { preview: true, logger: false });
  const document = buildOpenApiDocument(app);
  const file = path.resolve(__dirname, '..', 'openapi.json');
  writeFileSync(file, `${JSON.stringify(document, null, 2)}\n`);
  await app.close();
  process.stdout.write(`wrote ${file}\n`);
}

void main();
